"""Contracts without a market price (controller/prices/_contract.py): every price by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.config import defaults
from controller.prices import (
    Contract,
    MarketPrices,
    apply_tariff,
    contract_or_none,
    parse_monthly,
)


def utc(*a: int) -> float:
    return datetime(*a, tzinfo=UTC).timestamp()


def contract(*overrides: str) -> Contract:
    return Contract.from_config(defaults(overrides))


TAX, VAT = 0.10154, 1.21


class TestFixed:
    def test_fixed_import_and_feed_in(self):
        """(0.12 + 0.10154) x 1.21 imported; fee 0.02 - cost 0.115 exported, no VAT."""
        c = contract("tariff.contract=fixed", "tariff.rate_eur_kwh=0.12",
                     "tariff.feed_in_fee_eur_kwh=0.02", "tariff.feed_in_cost_eur_kwh=0.115")
        imp, exp = c.price_at(utc(2026, 11, 3, 12, 0)) or (0.0, 0.0)
        assert imp == pytest.approx((0.12 + TAX) * VAT)
        assert exp == pytest.approx(0.02 - 0.115)

    def test_net_metering_ends_at_local_new_year(self):
        """Net metering until 2027-01-01 local: 22:59Z on 31 Dec is 23:59 in Amsterdam (import
        price); 23:00Z is 00:00 on 1 Jan (the feed-in side only)."""
        c = contract("tariff.contract=fixed", "tariff.rate_eur_kwh=0.12",
                     "tariff.net_metering=true", "tariff.feed_in_fee_eur_kwh=0.01")
        before = c.price_at(utc(2026, 12, 31, 22, 59))
        after = c.price_at(utc(2026, 12, 31, 23, 0))
        assert before is not None and after is not None
        assert before[1] == before[0] == pytest.approx((0.12 + TAX) * VAT)
        assert after[1] == pytest.approx(0.01)

    def test_dynamic_contract_sets_no_price(self):
        """The day-ahead contract's prices come from the feed, not from [tariff]."""
        c = contract()
        assert not c.gives_prices and c.price_at(utc(2026, 11, 3)) is None
        assert contract_or_none(defaults()) is None


class TestDouble:
    C = ("tariff.contract=double", "tariff.normal_eur_kwh=0.13", "tariff.low_eur_kwh=0.10")

    @pytest.mark.parametrize(("when", "low"), [
        ((2026, 11, 2, 5, 59), True),    # Monday 06:59 CET
        ((2026, 11, 2, 6, 0), False),    # Monday 07:00 CET
        ((2026, 11, 6, 21, 59), False),  # Friday 22:59
        ((2026, 11, 6, 22, 0), True),    # Friday 23:00
        ((2026, 11, 7, 12, 0), True),    # Saturday noon
        ((2026, 3, 30, 5, 0), False),    # Monday 30 March 07:00 CEST (summer time: UTC+2)
        ((2026, 3, 30, 4, 59), True),    # ...06:59 CEST
        ((2026, 10, 26, 5, 59), True),   # Monday 26 October 06:59 CET (winter time again)
    ])
    def test_double_tariff_by_local_weekday_and_hour(self, when, low):
        """T1 (low) nights and weekends, T2 (normal) working days 07-23, in local time."""
        imp, _ = contract(*self.C).price_at(utc(*when)) or (0.0, 0.0)
        assert imp == pytest.approx(((0.10 if low else 0.13) + TAX) * VAT)


class TestVariable:
    def test_variable_rate_by_local_month(self, tmp_path):
        """The month of the local time: 31 Oct 23:30Z is 1 November 00:30 in Amsterdam; a
        month missing from the file has no price (never a neighbour's)."""
        f = tmp_path / "m.csv"
        f.write_text("month,rate_eur_kwh\n2026-10,0.11\n2026-11,0.14\n")
        c = contract("tariff.contract=variable", f"tariff.monthly_file={f}")
        assert c.price_at(utc(2026, 10, 31, 22, 30)) == pytest.approx(
            ((0.11 + TAX) * VAT, 0.0))
        assert c.price_at(utc(2026, 10, 31, 23, 30)) == pytest.approx(
            ((0.14 + TAX) * VAT, 0.0))
        assert c.price_at(utc(2026, 12, 15)) is None

    def test_unreadable_file_prices_nothing_live(self, tmp_path, caplog):
        """The live controller runs on without the file: logged, no prices."""
        cfg = defaults(("tariff.contract=variable", f"tariff.monthly_file={tmp_path}/no.csv"))
        assert contract_or_none(cfg) is None
        assert "gives no prices" in caplog.text

    def test_monthly_comments_and_order(self):
        """Comments and blank lines are skipped; months in any order."""
        rates = parse_monthly("# v\nmonth,rate_eur_kwh\n\n2027-02,0.2\n2026-12,0.1\n", "t")
        assert rates == {"2027-02": 0.2, "2026-12": 0.1}


class TestDynamicNetMetering:
    def test_apply_tariff_ends_net_metering_per_slot(self):
        """Day-ahead slots on 31 Dec 23:45 local export at the import price, those from
        1 Jan 00:00 local at market + fee - cost."""
        t = defaults(("tariff.net_metering=true",)).tariff
        m = MarketPrices(start_utc=utc(2026, 12, 31, 22, 45), market_eur_kwh=[0.08, 0.09])
        p = apply_tariff(m, t)
        assert p.export_eur_kwh[0] == pytest.approx(p.import_eur_kwh[0])
        assert p.export_eur_kwh[1] == pytest.approx(0.09)
