"""`python -m hil run`: the bench in real time, `v2h run` as its own process against it, the
scenario's faults on schedule, then the scenario's checks and the result of DESIGN.md §6."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from controller import config, sim

from ._bench import Bench
from ._checks import CHECKS, METER_FAULTS, Run

TAIL_S = 3.0  # bench time kept running after SIGTERM, to see the stop arrive
# the judge's fuse grace, as the simulator's (firmware_notes/simulator.md): the charger's dead
# time and settling after a load lands on its phase
FUSE_GRACE_S = 3.0


def _config_text(sc: sim.Scenario, ports: dict[str, int], ledger: Path) -> str:
    return (f'[meter]\ndriver = "{sc.hil.meter}"\nhost = "127.0.0.1"\nport = {ports["meter"]}\n'
            f'[charger]\nhost = "127.0.0.1"\nport = {ports["charger"]}\n'
            f'[ledger]\npath = {json.dumps(str(ledger))}\n')


async def _start_controller(cfg_path: Path, overrides: list[str], log: Any
                            ) -> asyncio.subprocess.Process:
    args = [sys.executable, "-m", "controller.cli", "run", "--config", str(cfg_path)]
    for ov in overrides:
        args += ["--set", ov]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log, env=env,
                                                stdin=asyncio.subprocess.DEVNULL)


async def _wait_until(bench: Bench, t: float) -> None:
    while bench.now() < t:
        await asyncio.sleep(0.05)


def _safety_seconds(run: Run) -> int:
    """Seconds the plant saw: discharge in a grid loss past the stop budget, discharge below
    reserve, a fuse overload, or power commanded on bad meter data past the stale budget."""
    budget = run.cfg.control.grid_loss_stop_s
    stale = run.cfg.control.meter_stale_s + 1.0
    bad = 0.0
    for r in run.rec:
        t = r[0]
        for e in run.events:
            if not e.active(t):
                continue
            if e.kind == "grid_loss" and t >= e.at_s + budget and r[5] < 0.0:
                bad += 0.25
            if e.kind in METER_FAULTS and t >= e.at_s + stale and r[5] != 0.0:
                bad += 0.25
    bad += CHECKS["discharge_below_reserve_s"](run)
    bad += max(0.0, CHECKS["phase_over_fuse_s"](run) - FUSE_GRACE_S)
    return math.ceil(bad)


async def run_scenario(path: str, log_path: str | None = None) -> dict[str, Any]:
    """Run one HIL scenario in real time; the result object with its checks."""
    return (await run_bench(path, log_path))[0]


async def run_bench(path: str, log_path: str | None = None, ledger_path: str | None = None
                    ) -> tuple[dict[str, Any], Bench, Run]:
    """Run one HIL scenario in real time: the result object, and the bench and the run it
    leaves behind. The controller's ledger goes to ledger_path (else a temporary file)."""
    sc = sim.load(path)
    overrides = list(sc.set)
    cfg = config.defaults(tuple(overrides))
    bench = Bench(sc, cfg, meter_kind=sc.hil.meter)
    ports = await bench.start()
    run = Run([], [], list(bench.faults_schedule), cfg, end_s=float(sc.duration_s))
    with tempfile.TemporaryDirectory(prefix="v2h-hil-") as tmp:
        cfg_path = Path(tmp) / "v2h.toml"
        ledger = Path(ledger_path or Path(tmp) / "ledger.db")
        cfg_path.write_text(_config_text(sc, ports, ledger))
        logf = open(log_path or Path(tmp) / "controller.log", "w+b")  # noqa: SIM115
        try:
            bench.record = True
            run.wall0 = time.time() - bench.now()  # bench time -> UTC (the ledger's clock)
            ticker = asyncio.create_task(bench.run(sc.duration_s + TAIL_S), name="hil.plant")
            proc = await _start_controller(cfg_path, overrides, logf)
            if sc.hil.kill_at_s is not None:
                await _wait_until(bench, sc.hil.kill_at_s)
                run.kill_at = bench.now()
                proc.kill()
                await proc.wait()
                await _wait_until(bench, sc.hil.kill_at_s + sc.hil.restart_after_s)
                run.restart_at = bench.now()
                proc = await _start_controller(cfg_path, overrides, logf)
            await _wait_until(bench, sc.duration_s)
            proc.send_signal(signal.SIGTERM)
            try:
                run.exit_codes.append(await asyncio.wait_for(proc.wait(), timeout=10.0))
            except TimeoutError:
                proc.kill()
                run.exit_codes.append(None)
            await ticker
        finally:
            await bench.stop()
            logf.seek(0)
            run.log = logf.read().decode(errors="replace")
            logf.close()
    run.rec = bench.rec
    run.writes = bench.charger.writes
    run.control_after = bench.charger.reg[81]
    checks = []
    for c in sc.checks:
        if c.name not in CHECKS:
            raise ValueError(f"{path}: unknown check {c.name!r} ({', '.join(CHECKS)})")
        value = CHECKS[c.name](run)
        checks.append({"name": c.name, "passed": bool(value <= c.limit),
                       "value": round(value, 3) if math.isfinite(value) else None,
                       "limit": c.limit})
    return _result(sc, cfg, bench, run, checks), bench, run


def _result(sc: sim.Scenario, cfg: config.Config, bench: Bench, run: Run,
            checks: list[dict[str, Any]]) -> dict[str, Any]:
    pl = bench.plant
    oracle = sim.run_policy(sc, cfg, "oracle").totals
    through = oracle.ev_charge_wh + oracle.ev_discharge_wh
    loss = (pl.exp_wh - oracle.export_wh) + (pl.imp_wh - oracle.import_wh)
    rec = run.rec
    r = lambda x: round(x, 3)  # noqa: E731
    return {
        "scenario": sc.name, "policy": "v2h", "duration_s": sc.duration_s,
        "pv_wh": r(oracle.pv_wh), "load_wh": r(oracle.load_wh),
        "import_wh": r(pl.imp_wh), "export_wh": r(pl.exp_wh),
        "ev_charge_wh": r(pl.chg_wh), "ev_discharge_wh": r(pl.dis_wh),
        "oracle_import_wh": r(oracle.import_wh), "oracle_export_wh": r(oracle.export_wh),
        "oracle_ev_charge_wh": r(oracle.ev_charge_wh),
        "oracle_ev_discharge_wh": r(oracle.ev_discharge_wh),
        "tracking_efficiency": round(1.0 - loss / through, 5) if through > 0 else None,
        "max_export_w": r(max((-(x[1] + x[2] + x[3]) for x in rec), default=0.0)),
        "safety_violations": _safety_seconds(run),
        "checks": checks,
        "exit_codes": run.exit_codes,
    }
