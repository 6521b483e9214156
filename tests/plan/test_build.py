"""The problem from config and car: departures in local time, trips, prices past the
published day, the fuse's room and the owner's narrowing."""

from __future__ import annotations

from datetime import UTC, datetime

from controller import config, plan

MIDNIGHT_AMS = datetime(2025, 12, 15, 23, 0, tzinfo=UTC).timestamp()  # Tue 16 Dec 00:00


def _cfg(*sets: str) -> config.Config:
    return config.defaults(sets)


class TestSchedule:
    def test_schedule_commuter_days(self):
        """Away 07:45-17:30 local, target in the slot ending 07:45, trip charged on return."""
        cfg = _cfg("plan.departure=07:45", "plan.return_at=17:30", "plan.trip_kwh=9",
                   "plan.departure_soc=70")
        present, trips, targets = plan.schedule(cfg, MIDNIGHT_AMS, 192, True)
        assert targets == [(30, 70.0), (126, 70.0)]
        assert present[30] and not present[31] and not present[69] and present[70]
        assert trips[70] == 9000.0 and trips[166] == 9000.0 and sum(trips) == 18000.0

    def test_schedule_deadline_without_return(self):
        """Without a return time a departure is a deadline: the car stays."""
        cfg = _cfg("plan.departure=24:00", "plan.departure_soc=80")
        present, trips, targets = plan.schedule(cfg, MIDNIGHT_AMS, 96, True)
        assert all(present) and not any(trips)
        assert targets == [(95, 80.0)]

    def test_schedule_weekend_skipped(self):
        """No departure on a day left out of `weekdays` (Saturday 20 Dec)."""
        cfg = _cfg("plan.departure=07:45", "plan.return_at=17:30", "plan.weekdays=[0,1,2,3,4]")
        sat = datetime(2025, 12, 19, 23, 0, tzinfo=UTC).timestamp()
        present, _, targets = plan.schedule(cfg, sat, 192, True)
        assert all(present) and targets == []

    def test_schedule_car_away_now_comes_back(self):
        """A car away now is home from the return time, with the trip's energy missing."""
        cfg = _cfg("plan.departure=07:45", "plan.return_at=17:30", "plan.trip_kwh=5")
        noon = MIDNIGHT_AMS + 12 * 3600
        present, trips, _ = plan.schedule(cfg, noon, 96, False)
        assert not present[21] and present[22] and trips[22] == 5000.0


class TestBuild:
    def test_build_extends_prices_from_the_day_before(self):
        """Past the published prices, each slot takes the price of the same slot a day
        earlier."""
        imp = [0.1 * (i % 96) for i in range(96)]
        got, _, known = plan.extend_prices(0.0, imp, imp, 192)
        assert known == 96 and got[96:] == imp

    def test_build_fuse_room_and_owner_narrowing(self):
        """Charging is capped by the fuse's room; the owner may raise the reserve, not lower
        it, and lower the maximum discharge, not raise it."""
        cfg = _cfg("limits.fuse_a=16", "limits.fuse_margin_a=1")
        p = plan.build(cfg, MIDNIGHT_AMS, [0.2] * 96, [0.1] * 96, [690.0] * 96, 50.0, True,
                       reserve_soc=10.0, max_discharge_w=1e9)
        assert p.charge_cap_w[0] == 15 * 230.0 - 230.0  # 690 W over 3 phases on L1
        assert p.car.reserve_wh == cfg.limits.reserve_soc / 100 * 60_000
        assert p.car.max_discharge_w == cfg.limits.max_discharge_w

    def test_build_rejects_nan_forecast(self):
        """A NaN in the inputs is refused with a clear error, not planned around."""
        cfg = _cfg()
        try:
            plan.build(cfg, 0.0, [0.2] * 4, [0.1] * 4, [float("nan")] * 4, 50.0, True)
        except ValueError as exc:
            assert "net_w" in str(exc)
        else:
            raise AssertionError("NaN forecast accepted")
