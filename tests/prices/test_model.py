"""Price series: slot lookup, windows, hourly → quarter expansion, validation."""

from __future__ import annotations

import math

import msgspec
import pytest

from controller.prices import MarketPrices, PriceError, Prices, from_points

T0 = 1_765_839_600.0  # 2025-12-15T23:00Z, a quarter boundary


def prices(n: int = 8) -> Prices:
    return Prices(start_utc=T0, import_eur_kwh=[0.2 + i / 100 for i in range(n)],
                  export_eur_kwh=[0.1 + i / 100 for i in range(n)], source="test",
                  fetched_utc=T0 - 3600)


class TestIndex:
    def test_index_first_and_last_slot(self):
        """The first slot starts at start_utc; the last ends just before end_utc."""
        p = prices(8)
        assert p.end_utc == T0 + 8 * 900
        assert p.index(T0) == 0
        assert p.index(T0 + 899.999) == 0
        assert p.index(T0 + 900) == 1
        assert p.index(p.end_utc - 0.001) == 7

    def test_index_outside_is_none(self):
        """Before the first slot, at end_utc and after it: no slot."""
        p = prices(8)
        assert p.index(T0 - 0.001) is None
        assert p.index(p.end_utc) is None
        assert p.index(p.end_utc + 86_400) is None

    def test_index_empty_is_none(self):
        """An empty series contains no time."""
        assert Prices(start_utc=T0, import_eur_kwh=[], export_eur_kwh=[]).index(T0) is None


class TestWindow:
    def test_window_starts_at_the_slot_containing_t(self):
        """Mid-slot: the window starts at that slot's start, with its prices."""
        w = prices(8).window(T0 + 1000, 3600)
        assert w.start_utc == T0 + 900
        # 1000..4600 s touches the slots starting at 900, 1800, 2700, 3600 and 4500
        assert w.import_eur_kwh == pytest.approx([0.21, 0.22, 0.23, 0.24, 0.25])
        assert w.export_eur_kwh == pytest.approx([0.11, 0.12, 0.13, 0.14, 0.15])
        assert w.source == "test" and w.fetched_utc == T0 - 3600

    def test_window_on_a_boundary_has_whole_slots(self):
        """From a slot start, one hour is exactly four quarters."""
        w = prices(8).window(T0, 3600)
        assert len(w.import_eur_kwh) == 4 and w.end_utc == T0 + 3600

    def test_window_shorter_when_prices_end(self):
        """A horizon past the end gives the slots that remain."""
        w = prices(8).window(T0 + 6 * 900, 86_400)
        assert len(w.import_eur_kwh) == 2 and w.end_utc == T0 + 8 * 900

    def test_window_outside_is_empty(self):
        """No slot contains t: an empty window, never an exception."""
        assert prices(8).window(T0 + 8 * 900, 3600).import_eur_kwh == []
        assert prices(8).window(T0 - 1, 3600).export_eur_kwh == []

    def test_window_zero_horizon_is_one_slot(self):
        """A zero horizon still returns the slot that contains t."""
        assert len(prices(8).window(T0 + 10, 0).import_eur_kwh) == 1


class TestMarket:
    def test_quarters_hold_each_hourly_price(self):
        """An hourly price applies to all four of its quarters."""
        m = MarketPrices(start_utc=T0, slot_s=3600, market_eur_kwh=[0.1, -0.02], source="h")
        q = m.quarters()
        assert q.slot_s == 900 and q.start_utc == T0 and q.end_utc == m.end_utc
        assert q.market_eur_kwh == [0.1] * 4 + [-0.02] * 4

    def test_check_rejects_nan_and_inf(self):
        """NaN and infinite prices are bad data, named by position."""
        for bad in (math.nan, math.inf):
            m = MarketPrices(start_utc=T0, market_eur_kwh=[0.1, bad], source="s")
            with pytest.raises(PriceError, match="price 1"):
                m.check()

    def test_check_rejects_off_grid_start_and_slot(self):
        """A start off the quarter grid or an odd slot length is refused."""
        with pytest.raises(PriceError, match="15-minute boundary"):
            MarketPrices(start_utc=T0 + 60, market_eur_kwh=[0.1]).check()
        with pytest.raises(PriceError, match="slot_s"):
            MarketPrices(start_utc=T0, slot_s=600, market_eur_kwh=[0.1]).check()
        with pytest.raises(PriceError, match="no prices"):
            MarketPrices(start_utc=T0, market_eur_kwh=[]).check()

    def test_clip_keeps_overlapping_slots(self):
        """clip keeps every slot that overlaps the period, whole."""
        m = MarketPrices(start_utc=T0, market_eur_kwh=[0, 1, 2, 3, 4.0])
        c = m.clip(T0 + 1000, T0 + 2000)
        assert c.start_utc == T0 + 900 and c.market_eur_kwh == [1, 2]
        with pytest.raises(PriceError):
            m.clip(T0 + 10 * 900, T0 + 20 * 900)

    def test_prices_with_unequal_lists_rejected(self):
        """Import and export must have one price per slot each."""
        with pytest.raises(PriceError, match="differ in length"):
            Prices(start_utc=T0, import_eur_kwh=[0.1], export_eur_kwh=[])
        with pytest.raises(msgspec.ValidationError, match="differ in length"):
            msgspec.json.decode(b'{"start_utc": 0, "import_eur_kwh": [1], "export_eur_kwh": []}',
                                type=Prices)


class TestFromPoints:
    def test_from_points_infers_the_slot_and_cuts_the_period(self):
        """Slot length from the step between starts; points outside the period dropped."""
        pts = {T0 + i * 3600: i / 10 for i in range(-2, 6)}
        m = from_points(pts, source="s", fetched_utc=1.0, start_utc=T0 + 1800,
                        end_utc=T0 + 3 * 3600)
        # the hour starting at T0 still runs at T0 + 1800, so it is kept
        assert m.slot_s == 3600 and m.start_utc == T0 and m.market_eur_kwh == [0, 0.1, 0.2]

    def test_from_points_ends_at_the_first_gap(self):
        """A missing slot ends the series: what follows is not guessed."""
        pts = {T0: 0.1, T0 + 900: 0.2, T0 + 2700: 0.4}
        assert from_points(pts, source="s", fetched_utc=0).market_eur_kwh == [0.1, 0.2]

    def test_from_points_rejects_odd_steps_and_nothing(self):
        """Points 10 minutes apart, or none in the period: PriceError."""
        with pytest.raises(PriceError, match="600 s apart"):
            from_points({T0: 0.1, T0 + 600: 0.2}, source="s", fetched_utc=0)
        with pytest.raises(PriceError, match="no prices"):
            from_points({T0: 0.1}, source="s", fetched_utc=0, start_utc=T0 + 86_400)
