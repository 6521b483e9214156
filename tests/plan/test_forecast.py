"""The forecaster: slot means per time of day, weighted toward the newest day."""

from __future__ import annotations

import math

from controller import plan

DAY = 86_400.0


class TestForecaster:
    def test_forecast_unseen_slots_default(self):
        """A slot never seen is expected at the default demand."""
        f = plan.Forecaster(default_w=321.0)
        assert f.forecast(0.0, 4) == [321.0] * 4

    def test_forecast_learns_slot_means(self):
        """One day of per-second samples gives each slot its mean."""
        f = plan.Forecaster()
        for s in range(0, 3600):
            f.observe(float(s + 1), 100.0 if s < 900 else 500.0, 1.0)
        f.observe(3601.0, 0.0, 1.0)  # the next slot closes the last one
        got = f.forecast(DAY, 4)
        assert got[0] == 100.0 and got[1] == got[2] == got[3] == 500.0

    def test_forecast_weights_newest_day(self):
        """A second day moves the expectation by `weight` toward it."""
        f = plan.Forecaster(weight=0.3)
        f.learn_slots(0.0, [1000.0])
        f.learn_slots(DAY, [0.0])
        assert math.isclose(f.forecast(2 * DAY, 1)[0], 700.0)

    def test_forecast_ignores_nan_and_short_slots(self):
        """NaN samples are skipped; a slot seen for under half its length is not learnt."""
        f = plan.Forecaster(default_w=7.0)
        f.observe(10.0, math.nan, 1.0)
        for s in range(300):
            f.observe(float(s), 900.0, 1.0)
        f.observe(901.0, 0.0, 1.0)
        assert f.forecast(0.0, 1) == [7.0]


def test_forecast_learns_ledger_minutes():
    """Minutes as the ledger keeps them (Wh, seconds covered) become slot means; a slot
    covered for under half its length is left out."""
    f = plan.Forecaster(default_w=1.0)
    rows = [(m * 60, 10.0, 60.0) for m in range(15)]          # 600 W for a whole slot
    rows += [(900 + m * 60, 5.0, 60.0) for m in range(5)]    # a third of the next: skipped
    assert f.learn_minutes(rows) == 1
    assert f.forecast(DAY, 2) == [600.0, 1.0]
