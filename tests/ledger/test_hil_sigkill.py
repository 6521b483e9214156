"""Acceptance on the bench: `v2h run` is SIGKILLed while the car discharges 3 kW and
restarted 20 s later (hil/scenarios/sigkill.toml, about 80 s in real time). The ledger must
agree with the emulated charger's energy counters over the time it covers, lose no more than
the minute being written plus the time the controller was down, and `v2h report` must give
the month's figures and one CSV row per day."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller import cli, ledger
from hil._run import run_bench

pytestmark = pytest.mark.hil
SIGKILL = Path(__file__).parents[2] / "hil" / "scenarios" / "sigkill.toml"


def counter_energy(bench, a: float, b: float) -> tuple[float, float]:
    """The emulated charger's counters' increase (Wh charged, discharged) over bench time
    (a, b], from the bench's timeline (each row closes one plant sub-step)."""
    pl, h = bench.plant, bench.h
    chg = dis = 0.0
    for r in bench.rec:
        lo, hi = max(a, r[0] - h), min(b, r[0])
        if hi > lo:
            chg += max(r[4], 0.0) * (hi - lo)
            dis += max(-r[4], 0.0) * (hi - lo)
    return chg * pl.meas_gain / 3600.0, dis * pl.meas_gain / 3600.0


def car_wh(rows: list[tuple]) -> tuple[float, float]:
    """The ledger's car energy (Wh charged, discharged) in these rows."""
    return (sum(r[1] + r[2] for r in rows), sum(r[3] + r[4] for r in rows))


async def test_ledger_sigkill_agrees_with_charger_counters(tmp_path, capsys):
    """Killed and restarted: ledger vs the charger's counters within 1 Wh per lost minute,
    at most the open minute lost before the kill; the report and its CSV read the ledger."""
    path = tmp_path / "ledger.db"
    res, bench, run = await run_bench(str(SIGKILL), ledger_path=str(path))
    assert res["exit_codes"] == [0], res
    db = ledger.connect(path, readonly=True)
    rows = db.execute("SELECT minute_utc, pv_to_car, grid_to_car, car_to_house, car_to_grid, "
                      "covered_s, first_utc, last_utc FROM minutes ORDER BY 1").fetchall()
    db.close()
    kill = run.wall0 + run.kill_at
    k_minute = math.floor(kill / 60) * 60
    down_s = run.restart_at - run.kill_at
    before = [r for r in rows if r[0] < k_minute]  # committed by the killed controller
    after = [r for r in rows if r[0] >= k_minute]  # the restarted one (flushed on SIGTERM)
    assert after, rows
    spans = []  # bench-time spans the ledger covers
    if before:
        spans.append((min(r[6] for r in before) - run.wall0, max(r[7] for r in before)
                      - run.wall0))
    spans.append((min(r[6] for r in after) - run.wall0, max(r[7] for r in after) - run.wall0))
    covered = sum(r[5] for r in rows)
    assert abs(covered - sum(b - a for a, b in spans)) < 2.0  # no holes inside a span
    lost_from = spans[0][1] if before else 0.0
    lost_to = spans[-1][0]
    # a crash loses at most the minute being written (and one cycle for its closing sample)
    assert run.kill_at - lost_from <= 60.0 + 1.5
    assert lost_to - run.restart_at <= 5.0  # the restarted controller books from its start
    seen = [counter_energy(bench, a, b) for a, b in spans]
    want = (sum(s[0] for s in seen), sum(s[1] for s in seen))
    got = car_wh(rows)
    lost_min = 1.0 + down_s / 60.0  # the open minute plus the time down
    err = max(abs(got[0] - want[0]), abs(got[1] - want[1]))
    total = bench.charger.energy_wh()
    assert abs(sum(counter_energy(bench, -1.0, math.inf)) - sum(total)) < 1e-6
    lost_wh = counter_energy(bench, lost_from, lost_to)
    with capsys.disabled():
        print(json.dumps({"ledger_wh": got, "counters_over_spans_wh": want, "error_wh": err,
                          "tolerance_wh": lost_min, "counters_total_wh": total,
                          "lost_window_s": lost_to - lost_from, "lost_window_wh": lost_wh,
                          "spans_bench_s": spans, "kill_minute_offset_s": kill - k_minute}))
    assert got[1] > 15.0  # the car did discharge
    assert err <= lost_min
    # everything the counters saw and the ledger did not is the lost window and the stop
    tail = counter_energy(bench, spans[-1][1], math.inf)
    assert abs(total[1] - lost_wh[1] - tail[1] - got[1]) <= lost_min

    tz = ZoneInfo("Europe/Amsterdam")
    month = datetime.fromtimestamp(rows[-1][0], tz).strftime("%Y-%m")
    capsys.readouterr()
    assert cli.main(["report", "--month", month, "--ledger", str(path)]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.startswith("given back by the car"))
    assert f"{got[1] / 1000.0:.3f} kWh" in line
    assert "equivalent full cycles" in out
    assert cli.main(["report", "--month", month, "--ledger", str(path), "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    days = {datetime.fromtimestamp(r[0], tz).date().isoformat() for r in rows}
    assert [r["day"] for r in table] == sorted(days)
    assert abs(sum(float(r["given_back_kwh"]) for r in table) - got[1] / 1000.0) < 1e-3
