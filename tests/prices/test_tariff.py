"""The tariff formula, checked against the recorded columns and by hand."""

from __future__ import annotations

import pytest

from controller.config import Tariff, defaults
from controller.prices import (
    MarketPrices,
    apply_tariff,
    export_price,
    import_price,
    recorded,
)
from tests.prices.conftest import epoch, rows


class TestImport:
    def test_import_by_hand_on_the_hourly_day(self):
        """31 May 2025, 22:00Z: (0.107 + 0.028 + 0.10154) x 1.21 = 0.23654 x 1.21 = 0.2862134."""
        p = apply_tariff(recorded("nl-2025-05-31-hourly"), defaults().tariff)
        assert p.import_eur_kwh[0] == pytest.approx(0.2862134, abs=1e-9)
        # 11:00Z is hour 13 of the day, the lowest price -0.01317:
        # (-0.01317 + 0.028 + 0.10154) x 1.21 = 0.11637 x 1.21 = 0.1408077
        assert p.import_eur_kwh[13 * 4] == pytest.approx(0.1408077, abs=1e-9)

    def test_import_matches_the_hourly_recording_columns(self):
        """Every hour: (market + purchasing cost + energy tax) x 1.21 from the file's columns,
        and the file's incl.-VAT market column is market x 1.21."""
        p = apply_tariff(recorded("nl-2025-05-31-hourly"), defaults().tariff)
        for i, r in enumerate(rows("nl-2025-05-31-hourly")):
            m = float(r["market_eur_per_kwh"])
            assert float(r["market_incl_vat_eur_per_kwh"]) == pytest.approx(m * 1.21, abs=1e-9)
            want = (m + float(r["purchasing_cost_eur_per_kwh"])
                    + float(r["energy_tax_eur_per_kwh"])) * 1.21
            assert p.import_eur_kwh[4 * i:4 * i + 4] == pytest.approx([want] * 4, abs=1e-9)

    def test_all_in_of_the_quarter_file_is_base_plus_energy_tax(self):
        """The December file's all_in is base + 0.10154 in all 288 rows: energy tax only, no
        purchasing cost (the source note says otherwise; the numbers decide). With margin 0
        our import price equals its all_in_with_vat."""
        t = Tariff(supplier_margin_eur_kwh=0.0)
        data = rows("nl-2025-12-16-to-18-quarter")
        p = apply_tariff(recorded("nl-2025-12-16-to-18-quarter"), t)
        assert len(data) == len(p.import_eur_kwh) == 288
        for i, r in enumerate(data):
            base = float(r["base_eur_per_kwh"])
            assert float(r["all_in_eur_per_kwh"]) - base == pytest.approx(0.10154, abs=1e-9)
            assert p.import_eur_kwh[i] == pytest.approx(float(r["all_in_with_vat_eur_per_kwh"]),
                                                        abs=1e-7)
        # first slot by hand: (0.07994 + 0.10154) x 1.21 = 0.18148 x 1.21 = 0.2195908
        assert p.import_eur_kwh[0] == pytest.approx(0.2195908, abs=1e-9)
        assert p.start_utc == epoch(data[0]["start_utc"])


class TestExport:
    def test_export_is_market_plus_fee_minus_cost(self):
        """After net metering: market + feed-in fee - feed-in cost, no VAT."""
        t = Tariff(feed_in_fee_eur_kwh=0.01, feed_in_cost_eur_kwh=0.115)
        assert export_price(0.107, t) == pytest.approx(0.107 + 0.01 - 0.115)
        # a negative market price costs money to export
        assert export_price(-0.01317, t) == pytest.approx(-0.11817)

    def test_export_under_net_metering_is_the_import_price(self):
        """net_metering = true: each kWh fed in earns what one imported costs."""
        t = Tariff(net_metering=True, feed_in_cost_eur_kwh=0.115)
        assert export_price(0.107, t) == pytest.approx(import_price(0.107, t))
        assert export_price(0.107, t) == pytest.approx(0.2862134)

    def test_apply_tariff_fills_both_lists_per_quarter(self):
        """Hourly market → 4 quarters each, import and export alike, labels kept."""
        m = MarketPrices(start_utc=1_748_642_400.0, slot_s=3600, market_eur_kwh=[0.1, 0.2],
                         source="x", fetched_utc=5.0)
        p = apply_tariff(m, Tariff(vat_pct=0.0, energy_tax_eur_kwh=0.0,
                                   supplier_margin_eur_kwh=0.0))
        assert p.slot_s == 900 and p.source == "x" and p.fetched_utc == 5.0
        assert p.import_eur_kwh == pytest.approx([0.1] * 4 + [0.2] * 4)
        assert p.export_eur_kwh == pytest.approx([0.1] * 4 + [0.2] * 4)
