"""Acceptance on the bench: `v2h run` with the example config (config/example.toml) on a
fixed-price contract against the bench's emulators, then `v2h report` on what it recorded:
every minute carries the contract's prices and the report has euro figures for all of them,
none "without prices" (issue #16). About 45 s in real time."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller import cli, ledger
from hil._run import run_bench

pytestmark = pytest.mark.hil
HERE = Path(__file__).parent
EXAMPLE = HERE.parents[1] / "config" / "example.toml"
FIXED = ("tariff.contract=fixed", "tariff.rate_eur_kwh=0.12")
IMPORT = (0.12 + 0.10154) * 1.21  # the example's energy tax and VAT


async def test_bench_run_on_a_fixed_price_prices_every_minute(tmp_path, capsys):
    """The example config (its ledger in $STATE_DIRECTORY) with a fixed price: each ledger row
    has import (0.12 + 0.10154) x 1.21 and export 0; `v2h report` counts no minute without a
    price, and its charge cost and value given back are the hand sums of the rows."""
    res, _bench, _run = await run_bench(str(HERE / "fixed-price.toml"), overrides=FIXED,
                                        config_file=str(EXAMPLE))
    assert res["exit_codes"] == [0], res
    path = ledger.default_path()
    assert path.parent == tmp_path / "state"  # the example's ledger: the state directory
    db = ledger.connect(path, readonly=True)
    rows = db.execute("SELECT minute_utc, pv_to_car + grid_to_car, car_to_house, car_to_grid,"
                      " import_eur_kwh, export_eur_kwh FROM minutes ORDER BY 1").fetchall()
    db.close()
    assert rows and all(r[4] == pytest.approx(IMPORT) and r[5] == 0.0 for r in rows), rows
    charged = sum(r[1] for r in rows)
    given = sum(r[2] + r[3] for r in rows)
    assert charged > 5.0 and given > 5.0, (charged, given)  # Wh: both ways on the bench

    month = datetime.fromtimestamp(rows[-1][0], ZoneInfo("Europe/Amsterdam")).strftime("%Y-%m")
    sets = [a for kv in FIXED for a in ("--set", kv)]
    capsys.readouterr()
    assert cli.main(["report", "--month", month, "--config", str(EXAMPLE), *sets]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.startswith("charged at home"))
    assert f"cost EUR {charged / 1000.0 * IMPORT:9.2f}" in line
    assert f"minutes without prices {0:10d}" in out
    assert f"minutes without a price      {0:8d}" in out
    assert cli.main(["report", "--month", month, "--config", str(EXAMPLE), *sets,
                     "--csv"]) == 0
    days = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert days and all(d["unpriced_minutes"] == "0" and d["charge_cost_eur"] for d in days)
    assert sum(int(d["minutes"]) for d in days) == len(rows)
    assert sum(float(d["charge_cost_eur"]) for d in days) == pytest.approx(
        charged / 1000.0 * IMPORT, abs=1e-3)
