"""The lease settlement on hand-made ledgers, one per contract type: every amount worked out
by hand, in months with a change of clock (Europe/Amsterdam) and with gaps."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from controller import cli
from controller.config import defaults
from controller.ledger import Rule, build, counters_text, settle, statement, text
from controller.prices import Contract
from tests.ledger.conftest import utc

TAX, VAT = 0.10154, 1.21
AMS = "Europe/Amsterdam"
CONTRACT = Rule()  # both sides at the contract's price of each minute
FIXED = Rule(reimburse="fixed", rate_eur_kwh=0.25, given_back="fixed", given_back_eur_kwh=0.20)
AVERAGE = Rule(reimburse="average", given_back="average")


def price(supply: float) -> float:
    return (supply + TAX) * VAT


def report(path, month, *overrides, now_utc=None):
    c = Contract.from_config(defaults(overrides))
    return build(path, month, AMS, price_at=c.price_at if c.gives_prices else None,
                 now_utc=now_utc if now_utc is not None else utc(2030, 1, 1))


# October 2026 (the clocks go back on the 25th): the double tariff's ledger
DOUBLE_ROWS = [
    {"minute_utc": utc(2026, 10, 26, 5, 59), "grid_to_car": 2000.0},  # Mon 06:59 CET: low
    {"minute_utc": utc(2026, 10, 26, 6, 0), "grid_to_car": 1000.0},   # Mon 07:00: normal
    # Sunday 25 October 02:30 twice (CEST, then CET): low, both
    {"minute_utc": utc(2026, 10, 25, 0, 30), "car_to_grid": 300.0},
    {"minute_utc": utc(2026, 10, 25, 1, 30), "car_to_house": 200.0},
    # Thursday 1 October 12:00 CEST, recorded with its own prices by the controller
    {"minute_utc": utc(2026, 10, 1, 10, 0), "grid_to_car": 500.0, "import_eur_kwh": 0.30,
     "export_eur_kwh": 0.30},
]


class TestFixed:
    """A fixed price in March 2026: the clocks go forward on the 29th (743 hours)."""

    ROWS = [
        {"minute_utc": utc(2026, 3, 29, 0, 30), "grid_to_car": 1000.0},   # 01:30 CET
        {"minute_utc": utc(2026, 3, 29, 1, 30), "car_to_house": 500.0},   # 03:30 CEST
        {"minute_utc": utc(2026, 2, 28, 23, 0), "pv_to_car": 1000.0},     # 1 March 00:00
        {"minute_utc": utc(2026, 3, 31, 22, 0), "grid_to_car": 9999.0},   # 1 April: not March
    ]
    C = ("tariff.contract=fixed", "tariff.rate_eur_kwh=0.12")

    def test_fixed_contract_in_the_dst_month(self, ledger_of):
        """Charged 2 kWh at (0.12 + 0.10154) x 1.21 = 0.2680634, given back 0.5 kWh at the
        same: EUR 0.5361268 - 0.1340317; March has 743 x 60 minutes, three recorded, all
        priced from [tariff]."""
        rep = report(ledger_of(self.ROWS), "2026-03", *self.C)
        p = price(0.12)
        assert p == pytest.approx(0.2680634)
        s = settle(rep.total, CONTRACT, rep.mean_import_price)
        assert (s.charged_kwh, s.given_kwh) == pytest.approx((2.0, 0.5))
        assert s.reimbursement_eur == pytest.approx(2.0 * p)
        assert s.given_worth_eur == pytest.approx(0.5 * p)
        assert s.net_eur == pytest.approx(1.5 * p)
        assert rep.month_minutes == 743 * 60 and rep.missing_minutes == 743 * 60 - 3
        assert rep.total.filled_minutes == 3 and rep.total.unpriced_minutes == 0
        assert rep.day_minutes(date(2026, 3, 29)) == 23 * 60

    def test_fixed_and_average_rules(self, ledger_of):
        """A fixed 0.25 / 0.20 per kWh: 0.50 - 0.10; the average of a fixed price is the
        price."""
        rep = report(ledger_of(self.ROWS), "2026-03", *self.C)
        s = settle(rep.total, FIXED, rep.mean_import_price)
        assert (s.reimbursement_eur, s.given_worth_eur, s.net_eur) == pytest.approx(
            (0.50, 0.10, 0.40))
        assert rep.mean_import_price == pytest.approx(price(0.12))
        a = settle(rep.total, AVERAGE, rep.mean_import_price)
        assert a.net_eur == pytest.approx(1.5 * price(0.12))


class TestDouble:
    """A double tariff in October 2026: the clocks go back on the 25th (745 hours)."""

    ROWS = DOUBLE_ROWS
    C = ("tariff.contract=double", "tariff.normal_eur_kwh=0.13", "tariff.low_eur_kwh=0.10",
         "tariff.net_metering=true")

    def test_double_tariff_in_the_dst_month(self, ledger_of):
        """2 kWh low + 1 kWh normal + 0.5 kWh at the row's own 0.30; 0.5 kWh given back at
        the low price (net metering: export earns the import price)."""
        rep = report(ledger_of(self.ROWS), "2026-10", *self.C)
        low, normal = price(0.10), price(0.13)
        assert (low, normal) == pytest.approx((0.2438634, 0.2801634))
        s = settle(rep.total, CONTRACT, rep.mean_import_price)
        assert s.reimbursement_eur == pytest.approx(2.0 * low + 1.0 * normal + 0.5 * 0.30)
        assert s.given_worth_eur == pytest.approx(0.5 * low)
        assert rep.total.filled_minutes == 4  # the fifth row had its prices
        assert rep.month_minutes == 745 * 60

    def test_average_of_the_double_tariff_over_the_month(self, ledger_of):
        """October 2026 has 22 working days: 352 normal hours of 745, 393 low."""
        rep = report(ledger_of(self.ROWS), "2026-10", *self.C)
        mean = (352 * price(0.13) + 393 * price(0.10)) / 745
        assert rep.mean_import_price == pytest.approx(mean)
        s = settle(rep.total, AVERAGE, rep.mean_import_price)
        assert s.reimbursement_eur == pytest.approx(3.5 * mean)
        assert s.given_worth_eur == pytest.approx(0.5 * mean)


class TestVariable:
    """A rate per month from a file, November 2026 with gaps; December not in the file."""

    ROWS = [
        *({"minute_utc": utc(2026, 11, 2, 18, m), "car_to_house": 100.0} for m in range(10)),
        # a gap of five minutes (18:10..18:14), then a minute recorded for 30 s only
        {"minute_utc": utc(2026, 11, 2, 18, 15), "car_to_house": 50.0, "covered_s": 30.0},
        *({"minute_utc": utc(2026, 11, 20, 3, m), "grid_to_car": 110.0} for m in range(10)),
        {"minute_utc": utc(2026, 12, 1, 3, 0), "grid_to_car": 400.0},  # December
    ]

    @pytest.fixture
    def opts(self, tmp_path):
        f = tmp_path / "monthly.csv"
        f.write_text("month,rate_eur_kwh\n2026-11,0.14\n")
        return ("tariff.contract=variable", f"tariff.monthly_file={f}")

    def test_variable_contract_in_a_month_with_a_gap(self, ledger_of, opts):
        """1.1 kWh charged and 1.05 kWh given back at (0.14 + tax) x VAT; the missing five
        minutes and the half minute are counted, settle nothing, and are not priced."""
        rep = report(ledger_of(self.ROWS), "2026-11", *opts)
        p = price(0.14)
        s = settle(rep.total, CONTRACT, rep.mean_import_price)
        assert s.reimbursement_eur == pytest.approx(1.1 * p)
        assert s.given_worth_eur == pytest.approx(1.05 * p)
        assert rep.total.minutes == 21 and rep.missing_minutes == 30 * 1440 - 21
        assert rep.total.partial_minutes == 1 and rep.total.uncovered_s == pytest.approx(30.0)
        day = [d for d in rep.days if d.day == 2][0]
        assert rep.day_minutes(day) - rep.days[day].minutes == 1440 - 11

    def test_month_missing_from_the_file_is_not_priced(self, ledger_of, opts):
        """December has no rate: its minute is unpriced, its 0.4 kWh not reimbursed by the
        contract's price (shown as open), but reimbursed under a fixed rule."""
        rep = report(ledger_of(self.ROWS), "2026-12", *opts)
        assert rep.total.unpriced_minutes == 1 and rep.total.filled_minutes == 0
        s = settle(rep.total, CONTRACT, rep.mean_import_price)
        assert s.reimbursement_eur == 0.0 and s.charged_open_kwh == pytest.approx(0.4)
        assert settle(rep.total, FIXED, rep.mean_import_price).reimbursement_eur == \
            pytest.approx(0.1)
        out = text(rep, CONTRACT)
        assert "minutes without a price             1" in out
        assert "    not reimbursed            0.400 kWh   (minutes without a price)" in out

    def test_month_under_way_counts_to_now(self, ledger_of, opts):
        """On 2 November 18:20Z (fake clock) the month so far has 1 day 19 h 20 min."""
        rep = report(ledger_of(self.ROWS[:11]), "2026-11", *opts,
                     now_utc=utc(2026, 11, 2, 18, 20))
        assert rep.month_minutes == (24 + 19) * 60 + 20  # from 31 October 23:00Z
        assert rep.missing_minutes == rep.month_minutes - 11


class TestDynamic:
    """Day-ahead prices stored by the controller, one minute without (a feed outage)."""

    ROWS = [
        {"minute_utc": utc(2026, 11, 3, 12, 0), "grid_to_car": 1000.0, "pv_to_car": 1000.0,
         "import_eur_kwh": 0.20, "export_eur_kwh": 0.05},
        {"minute_utc": utc(2026, 11, 3, 18, 0), "car_to_house": 800.0, "car_to_grid": 200.0,
         "import_eur_kwh": 0.40, "export_eur_kwh": 0.15},
        {"minute_utc": utc(2026, 11, 3, 18, 1), "car_to_house": 500.0},  # no price
        {"minute_utc": utc(2026, 11, 4, 2, 0), "grid_to_car": 300.0},  # no price
    ]

    def test_dynamic_contract_with_a_price_gap(self, ledger_of):
        """Reimbursed 2 kWh x 0.20; given back 0.8 x 0.40 + 0.2 x 0.15; the unpriced 0.3 kWh
        charged and 0.5 kWh given back stay open; the average is the priced minutes' mean."""
        rep = report(ledger_of(self.ROWS), "2026-11", "prices.source=energyzero")
        s = settle(rep.total, CONTRACT, rep.mean_import_price)
        assert s.reimbursement_eur == pytest.approx(0.40)
        assert s.given_worth_eur == pytest.approx(0.32 + 0.03)
        assert (s.charged_open_kwh, s.given_open_kwh) == pytest.approx((0.3, 0.5))
        assert rep.mean_import_price == pytest.approx(0.30)
        a = settle(rep.total, AVERAGE, rep.mean_import_price)
        assert a.net_eur == pytest.approx(2.3 * 0.30 - 1.5 * 0.30)
        none = settle(rep.total, Rule(given_back="none"), rep.mean_import_price)
        assert none.given_worth_eur == 0.0 and none.net_eur == pytest.approx(0.40)


class TestOutputs:
    def test_csv_days_add_up_to_the_month(self, ledger_of, tmp_path, capsys):
        """`v2h report --csv` with [lease]: per-day settlement columns summing to the month,
        missing minutes per local day."""
        path = ledger_of(DOUBLE_ROWS)
        cfg = tmp_path / "v2h.toml"
        cfg.write_text('[tariff]\ncontract = "double"\nnormal_eur_kwh = 0.13\n'
                       'low_eur_kwh = 0.10\nnet_metering = true\n'
                       f'[ledger]\npath = "{path}"\n[lease]\nplate = "AB-123-C"\n')
        assert cli.main(["report", "--month", "2026-10", "--config", str(cfg), "--csv"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert [r["day"] for r in rows] == ["2026-10-01", "2026-10-25", "2026-10-26"]
        assert [int(r["missing_minutes"]) for r in rows] == [1439, 25 * 60 - 2, 1438]
        net = sum(float(r["net_eur"]) for r in rows)
        low, normal = price(0.10), price(0.13)
        assert net == pytest.approx(2 * low + normal + 0.15 - 0.5 * low, abs=2e-4)

    def test_text_report_settlement_block(self, ledger_of, tmp_path, capsys):
        """The text report names the car, the rules, the net amount and the missing data."""
        path = ledger_of(TestFixed.ROWS)
        cfg = tmp_path / "v2h.toml"
        cfg.write_text('[tariff]\ncontract = "fixed"\nrate_eur_kwh = 0.12\n'
                       f'[ledger]\npath = "{path}"\n'
                       '[lease]\ncar = "Kia EV6"\nplate = "AB-123-C"\nreimburse = "fixed"\n'
                       'rate_eur_kwh = 0.25\ngiven_back = "fixed"\ngiven_back_eur_kwh = 0.20\n')
        assert cli.main(["report", "--month", "2026-03", "--config", str(cfg)]) == 0
        out = capsys.readouterr().out
        assert "settlement (Kia EV6, AB-123-C)" in out
        assert "net: the employer owes the driver        EUR      0.40" in out
        assert f"minutes without a record        {743 * 60 - 3}" in out
        assert "minutes without prices          0" in out

    def test_statement_holds_the_figures(self, ledger_of):
        """The HTML statement carries the net amount, the missing minutes and every day."""
        rep = report(ledger_of(TestFixed.ROWS), "2026-03", *TestFixed.C)
        page = statement(rep, FIXED, ["fixed"], now_utc=utc(2026, 4, 1))
        assert "<td id=net>&euro;&nbsp;0.40</td>" in page
        assert f"<td>Minutes without a record</td><td>{743 * 60 - 3:,}</td>" in page
        assert "2026-03-29 Sun" in page and "2026-04" not in page.split("<h2>Per day")[1]


def test_charger_counters_first_and_last_of_the_month(ledger_of):
    """The charger's own counters (Wh) at the month's first and last row that has them, so
    an employer can hold the ledger against a meter."""
    rep = report(ledger_of([
        {"minute_utc": utc(2026, 11, 2, 10, 0), "grid_to_car": 500.0,
         "charger_charged_wh": 1_000_000.0, "charger_discharged_wh": 200_000.0},
        {"minute_utc": utc(2026, 11, 2, 10, 1), "grid_to_car": 500.0},  # none read
        {"minute_utc": utc(2026, 11, 29, 10, 0), "car_to_house": 300.0,
         "charger_charged_wh": 1_250_500.0, "charger_discharged_wh": 230_000.0},
    ]), "2026-11", *TestFixed.C)
    assert rep.counters == ((1_000_000.0, 200_000.0), (1_250_500.0, 230_000.0))
    assert counters_text(rep) == ("charged 1000.000 -> 1250.500 kWh (+250.500), discharged "
                                  "200.000 -> 230.000 kWh (+30.000)")
