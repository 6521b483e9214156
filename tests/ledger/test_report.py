"""`v2h report` on a small hand-made ledger: every figure worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from controller import cli
from controller.ledger import COLUMNS, FLOWS, Ledger, build, connect, month_bounds, text

EFF, CAP = 0.93, 60.0


def utc(*a: int) -> int:
    return int(datetime(*a, tzinfo=UTC).timestamp())


# (minute, {flow: Wh}, import, export); Europe/Amsterdam is UTC+1 until 29 March, then +2
ROWS = [
    (utc(2026, 2, 28, 23, 30), {"grid_to_house": 100.0}, 0.20, 0.05),  # 1 March, local
    (utc(2026, 3, 10, 11, 0), {"pv_to_car": 1000.0, "grid_to_car": 2000.0}, 0.30, 0.10),
    (utc(2026, 3, 11, 18, 0), {"car_to_house": 1500.0, "car_to_grid": 500.0,
                               "grid_to_house": 200.0}, 0.40, 0.20),
    (utc(2026, 3, 11, 18, 1), {"grid_to_car": 1000.0}, None, None),  # no price known
    (utc(2026, 3, 31, 22, 30), {"grid_to_car": 9999.0}, 0.30, 0.10),  # 1 April, local
]


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "ledger.db"
    Ledger(p).close()
    db = connect(p)
    for minute, flows, imp, exp in ROWS:
        vals = {c: None for c in COLUMNS} | {f: 0.0 for f in FLOWS} | flows
        vals |= {"minute_utc": minute, "import_eur_kwh": imp, "export_eur_kwh": exp,
                 "covered_s": 60.0, "samples": 60, "skipped": 0}
        db.execute(f"INSERT INTO minutes VALUES ({','.join('?' * len(COLUMNS))})",
                   [vals[c] for c in COLUMNS])
    db.close()
    return p


def test_month_bounds_are_local():
    """March 2026 in Amsterdam: 1 March 00:00 CET to 1 April 00:00 CEST."""
    from zoneinfo import ZoneInfo

    assert month_bounds("2026-03", ZoneInfo("Europe/Amsterdam")) == (
        utc(2026, 2, 28, 23, 0), utc(2026, 3, 31, 22, 0))


def test_report_figures_by_hand(path):
    """Charged 4 kWh (EUR 0.90 on the 3 priced kWh), given back 2 kWh (EUR 0.70), savings
    0.20 + 0.70 - 2 / 0.93^2 x 0.30, throughput 6 kWh = 0.05 cycles of 60 kWh."""
    rep = build(path, "2026-03", "Europe/Amsterdam", CAP, EFF)
    t = rep.total
    assert t.minutes == 4 and t.unpriced_minutes == 1
    assert t.charged_wh == pytest.approx(4000.0)
    assert t.charge_cost == pytest.approx(0.90)
    assert t.unpriced_charged_wh == pytest.approx(1000.0)
    assert t.given_wh == pytest.approx(2000.0)
    assert t.given_value == pytest.approx(1.5 * 0.40 + 0.5 * 0.20)
    assert rep.charge_price == pytest.approx(0.30)
    assert rep.savings(t) == pytest.approx(0.20 + 0.70 - 2.0 / EFF**2 * 0.30)
    assert rep.throughput_kwh == pytest.approx(6.0)
    assert rep.full_cycles == pytest.approx(0.05)
    out = text(rep)
    assert "charged at home             4.000 kWh   cost EUR      0.90" in out
    assert "given back by the car       2.000 kWh   value EUR      0.70" in out
    assert "minutes without prices          1" in out


def test_report_csv_one_row_per_local_day(path, capsys):
    """Three local days in March (1, 10 and 11), the April minute left out; days sum up."""
    assert cli.main(["report", "--month", "2026-03", "--ledger", str(path), "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["day"] for r in table] == ["2026-03-01", "2026-03-10", "2026-03-11"]
    assert [float(r["charged_kwh"]) for r in table] == [0.0, 3.0, 1.0]
    assert float(table[2]["given_back_value_eur"]) == pytest.approx(0.70)
    assert table[2]["unpriced_minutes"] == "1"
    assert sum(float(r["savings_eur"]) for r in table) == pytest.approx(
        0.20 + 0.70 - 2.0 / EFF**2 * 0.30, abs=1e-3)


def test_report_text_through_the_cli(path, capsys):
    """`v2h report --month` prints the figures and the definitions, exit 0."""
    assert cli.main(["report", "--month", "2026-03", "--ledger", str(path)]) == 0
    out = capsys.readouterr().out
    assert "equivalent full cycles     0.0500" in out
    assert "Savings vs no control" in out


def test_report_empty_month_says_so(path, capsys):
    """A month without rows: zeros and a note, exit 0."""
    assert cli.main(["report", "--month", "2025-01", "--ledger", str(path)]) == 0
    assert "(no ledger rows in this month)" in capsys.readouterr().out


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "march", "1969-12"])
def test_report_bad_month_exits_2(path, capsys, month):
    """Not a YYYY-MM month: exit 2 with the reason."""
    assert cli.main(["report", "--month", month, "--ledger", str(path)]) == 2
    assert "is not a month (YYYY-MM)" in capsys.readouterr().err


def test_report_missing_ledger_exits_2(tmp_path, capsys):
    """No file: exit 2, the path named, nothing created."""
    p = tmp_path / "none.db"
    assert cli.main(["report", "--month", "2026-03", "--ledger", str(p)]) == 2
    assert str(p) in capsys.readouterr().err and not p.exists()


def test_report_foreign_file_exits_2(tmp_path, capsys):
    """A file that is not a ledger: exit 2."""
    p = tmp_path / "x.db"
    p.write_text("not a database\n" * 50)
    assert cli.main(["report", "--month", "2026-03", "--ledger", str(p)]) == 2
    assert "no usable ledger" in capsys.readouterr().err


def test_report_takes_path_and_zone_from_config(path, tmp_path, capsys):
    """--config: the ledger path, the time zone and the car from the file."""
    cfg = tmp_path / "v2h.toml"
    cfg.write_text(f'[site]\ntimezone = "UTC"\n[ledger]\npath = "{path}"\n'
                   '[car]\ncapacity_kwh = 30\n')
    assert cli.main(["report", "--month", "2026-03", "--config", str(cfg), "--csv"]) == 0
    days = [r["day"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))]
    assert days == ["2026-03-10", "2026-03-11", "2026-03-31"]  # UTC days this time
