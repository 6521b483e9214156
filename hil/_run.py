"""`python -m hil run`: the bench in real time, `v2h run` as its own process against it, the
scenario's faults on schedule, then the scenario's checks and the result object
(firmware_notes/design.md "Result object")."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from controller import config, sim

from ._bench import Bench, Fault
from ._checks import CHECKS, DARK_FAULTS, DYNAMIC_NA, METER_FAULTS, NEEDS_WATCHDOG, Run
from ._child import die_with_parent
from ._scenario import HilSpec
from ._scenario import load as load_scenario

TAIL_S = 3.0  # bench time kept running after SIGTERM, to see the stop arrive
# the shipped systemd unit: its ExecStopPost= is what the bench runs after a SIGKILL for a
# charger without a watchdog of its own (the bench emulates systemd there)
UNIT = Path(__file__).parents[1] / "firmware_notes" / "deploy" / "v2h.service"
POST_STOP_TIMEOUT_S = 10.0  # as the unit's TimeoutStopSec=
P1_TELEGRAM_S = 1.0  # a DSMR 5 meter's telegram interval (controller/devices/p1.py)
START_MAX_S = 30.0  # the longest the bench waits for the controller's first request
FIRST_ASK_S = 0.5  # the bench time at the controller's first request
# the judge's fuse grace, as the simulator's (firmware_notes/simulator.md): the charger's dead
# time and settling after a load lands on its phase
FUSE_GRACE_S = 3.0


def _config_text(spec: HilSpec, bench: Bench, ledger: Path) -> str:
    """The controller's config: the bench's ports, the charger's driver by its model."""
    ports = bench.ports
    if bench.meter_serial is not None:
        where = f"serial_port = {json.dumps(bench.meter_serial)}\n"
    else:
        where = f'host = "127.0.0.1"\nport = {ports["meter"]}\n'
    return (f'[meter]\ndriver = "{spec.meter}"\n{where}'
            f'[charger]\ndriver = "{bench.charger_kind}"\nhost = "127.0.0.1"\n'
            f'port = {ports["charger"]}\n'
            f'[ledger]\npath = {json.dumps(str(ledger))}\n')


def _config_sets(spec: HilSpec, bench: Bench, ledger: Path | None) -> list[str]:
    """The bench's addresses (and the ledger) as `--set` values over a config file of the
    user's, e.g. config/example.toml."""
    if bench.meter_serial is not None:
        raise ValueError("a config file of one's own needs a meter over TCP")
    sets = [f"meter.driver={spec.meter}", "meter.host=127.0.0.1",
            f"meter.port={bench.ports['meter']}", f"charger.driver={bench.charger_kind}",
            "charger.host=127.0.0.1", f"charger.port={bench.ports['charger']}"]
    return [*sets, f"ledger.path={json.dumps(str(ledger))}"] if ledger else sets


def has_watchdog(charger: str) -> bool:
    """Whether the charger's driver declares a watchdog of its own (Capabilities): a Modbus
    watchdog or idle timeout, or an OCPP profile's expiry."""
    from controller.devices import CHARGER_CAPS

    return CHARGER_CAPS[charger].has_watchdog


def not_applicable(check: str, charger: str) -> str:
    """Why a check does not apply to this charger ("" when it does): it measures the charger
    stopping by its own watchdog while nothing can reach it (charger_stop_s: the link is
    gone), which a charger whose driver declares none (its Capabilities) cannot do."""
    if check in NEEDS_WATCHDOG and not has_watchdog(charger):
        return (f"the {charger} charger has no Modbus watchdog or idle timeout in its public "
                "sources: nothing stops it by itself while the link to it is gone "
                "(firmware_notes/register-maps.md)")
    return ""


def stopped_by(check: str, charger: str) -> str:
    """What stops the charger in a kill_stop_s check: its own watchdog, or the unit's
    ExecStopPost= (`v2h stop-charger`) that the bench runs as systemd would."""
    if check != "kill_stop_s":
        return ""
    return "watchdog" if has_watchdog(charger) else "post-stop"


def post_stop_argv(cfg_path: Path, unit: Path = UNIT) -> list[str]:
    """The unit's ExecStopPost= command as the bench runs it: its `v2h` by this interpreter
    (`python -m controller.cli`), the bench's config file in place of the unit's."""
    line = next((ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStopPost=")),
                None)
    if line is None:
        raise ValueError(f"{unit}: no ExecStopPost= line")
    argv = shlex.split(line.partition("=")[2].lstrip("-"))
    if not argv or Path(argv[0]).name != "v2h" or "--config" not in argv[:-1]:
        raise ValueError(f"{unit}: ExecStopPost= is not `v2h ... --config FILE`: {line}")
    i = argv.index("--config") + 1
    return [sys.executable, "-m", "controller.cli", *argv[1:i], str(cfg_path), *argv[i + 1:]]


async def _post_stop(run: Run, bench: Bench, cfg_path: Path, sets: list[str], log: Any) -> None:
    """systemd after the main process died: the unit's ExecStopPost=, once, now; its exit
    code and bench time in `run.post_stop` (`sets`: the bench's addresses when the config
    file is the user's own)."""
    argv = post_stop_argv(cfg_path)
    for ov in sets:
        argv += ["--set", ov]
    t0 = bench.now()
    proc = await asyncio.create_subprocess_exec(*argv, stdout=log, stderr=log,
                                                stdin=asyncio.subprocess.DEVNULL,
                                                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                                                preexec_fn=die_with_parent())
    try:
        rc: int | None = await asyncio.wait_for(proc.wait(), timeout=POST_STOP_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        rc = None
    run.post_stop = {"command": shlex.join(["v2h", *argv[3:]]), "at_s": round(t0, 3),
                     "done_s": round(bench.now(), 3), "exit_code": rc}


def make_bench(path: str, overrides: Sequence[str] = (), *, meter: str | None = None,
               unit_id: int = 1, charger: str = "quasar"
               ) -> tuple[sim.Scenario, HilSpec, config.Config, Bench]:
    """The scenario at `path` (hil/_scenario.py), its config and its bench, not started;
    `meter` overrides the scenario's meter model, `charger` names the charger's model (and
    the driver v2h runs with)."""
    sc, spec, extra = load_scenario(path)
    cfg = config.defaults((f"meter.driver={meter or spec.meter}", *sc.set, *overrides,
                           f"charger.driver={charger}"))
    faults = [Fault(e.kind, float(e.at_s), float(e.duration_s)) for e in extra]
    bench = Bench(sc, cfg, meter_kind=meter or spec.meter, faults_schedule=faults,
                  unit_id=unit_id,
                  meter_link=spec.meter_link, meter_dies_with_grid=spec.meter_dies_with_grid,
                  meter_dark_kind=spec.meter_dark_kind, meter_boot_s=spec.meter_boot_s,
                  sync_faults=spec.sync_faults, meter_publish_s=spec.meter_publish_s,
                  meter_publish_phase_s=spec.meter_publish_phase_s, charger_kind=charger)
    return sc, spec, cfg, bench


async def _start_controller(cfg_path: Path, overrides: list[str], log: Any,
                            stats: Path | None = None) -> asyncio.subprocess.Process:
    args = [sys.executable, "-m", "controller.cli", "run", "--config", str(cfg_path)]
    if stats is not None:
        args += ["--stats", str(stats)]
    for ov in overrides:
        args += ["--set", ov]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log, env=env,
                                                stdin=asyncio.subprocess.DEVNULL,
                                                preexec_fn=die_with_parent())


async def _wait_until(bench: Bench, t: float) -> None:
    while bench.now() < t:
        await asyncio.sleep(0.05)


def _safety_seconds(run: Run) -> int:
    """Seconds the plant saw: discharge in a grid loss past the stop budget, discharge below
    reserve, a fuse overload, or power commanded on bad meter data past the stale budget."""
    ctl = run.cfg.control
    stale = ctl.meter_stale_s + 1.0
    # a meter that dies with the grid shows no loss: v2h learns of it from the meter's
    # silence, so its budget is the loss budget plus the meter's timeout (issue #10), as the
    # scenarios' own grid_loss_stop_s checks say
    # (a P1 meter's silence shows only when its next telegram is due: the telegram interval,
    # as p1-dark-grid-loss's own check says)
    dark = [d.at_s for d in run.events if d.kind in DARK_FAULTS]
    silence_s = P1_TELEGRAM_S if run.cfg.meter.driver == "p1" else run.cfg.meter.timeout_s
    budgets = {id(e): ctl.grid_loss_stop_s + (
        silence_s if any(abs(a - e.at_s) < 1.0 for a in dark) else 0.0)
        for e in run.events if e.kind == "grid_loss"}
    bad = 0.0
    for r in run.rec:
        t = r[0]
        for e in run.events:
            if not e.active(t):
                continue
            if e.kind == "grid_loss" and t >= e.at_s + budgets[id(e)] and r[5] < 0.0:
                bad += run.h
            if e.kind in METER_FAULTS and t >= e.at_s + stale and r[5] != 0.0:
                bad += run.h
    bad += CHECKS["discharge_below_reserve_s"](run)
    bad += max(0.0, CHECKS["phase_over_fuse_s"](run) - FUSE_GRACE_S)
    return math.ceil(bad)


Action = tuple[float, Callable[[], Awaitable[None]]]


async def _actions(bench: Bench, actions: Sequence[Action]) -> None:
    """Outside happenings at bench times (s), e.g. a broker killed and restarted."""
    for at_s, act in sorted(actions, key=lambda a: a[0]):
        await _wait_until(bench, at_s)
        await act()


async def run_scenario(path: str, log_path: str | None = None, *, overrides: Sequence[str] = (),
                       actions: Sequence[Action] = (), charger: str = "quasar"
                       ) -> dict[str, Any]:
    """Run one HIL scenario in real time; the result object with its checks. `overrides`
    are extra `--set` values for the controller; `actions` run at their bench times;
    `charger` is the charger model and driver."""
    return (await run_bench(path, log_path, overrides=overrides, actions=actions,
                            charger=charger))[0]


async def run_bench(path: str, log_path: str | None = None, ledger_path: str | None = None, *,
                    overrides: Sequence[str] = (), actions: Sequence[Action] = (),
                    config_file: str | None = None, charger: str = "quasar"
                    ) -> tuple[dict[str, Any], Bench, Run]:
    """Run one HIL scenario in real time: the result object, and the bench and the run it
    leaves behind. The controller's ledger goes to ledger_path (else a temporary file; with
    `config_file`, the controller's config instead of the bench's own, else where that file
    says). `charger` is the charger's model and driver."""
    sc, spec, cfg, bench = make_bench(path, overrides, charger=charger)
    overrides = [*sc.set, *overrides]
    await bench.start()
    run = Run([], [], list(bench.faults_schedule), cfg, end_s=float(sc.duration_s),
              n_sub=bench.plant.n_sub)
    with tempfile.TemporaryDirectory(prefix="v2h-hil-") as tmp:
        cfg_path = Path(tmp) / "v2h.toml"
        if config_file is None:
            ledger = Path(ledger_path or Path(tmp) / "ledger.db")
            cfg_path.write_text(_config_text(spec, bench, ledger))
            own_sets: list[str] = []
        else:  # the bench's addresses first: the scenario's and the caller's --set win
            cfg_path = Path(config_file)
            sets = _config_sets(spec, bench, Path(ledger_path) if ledger_path else None)
            overrides = [*sets, *overrides]
            own_sets = sets
        logf = open(log_path or Path(tmp) / "controller.log", "w+b")  # noqa: SIM115
        acts: asyncio.Task[None] | None = None
        proc: asyncio.subprocess.Process | None = None
        try:
            bench.record = True
            stats = Path(tmp) / "stats.json"
            # the bench's clock starts when the controller first talks to it: its process
            # start (the interpreter, imports: 0.3 s on a quiet machine, seconds on a loaded
            # one beside the rest of the matrix) is not the scenario's time
            proc = await _start_controller(cfg_path, overrides, logf, stats)
            await bench.wait_asked(START_MAX_S)
            # as on a quiet machine, where the controller's first request came about this
            # long after the bench's start: its cycles are not aligned with the whole
            # seconds the scenarios' faults start on (a phase that sync_faults chooses)
            bench.advance(FIRST_ASK_S)
            run.wall0 = time.time() - bench.now()  # bench time -> UTC (the ledger's clock)
            ticker = asyncio.create_task(bench.run(sc.duration_s + TAIL_S), name="hil.plant")
            acts = asyncio.create_task(_actions(bench, actions), name="hil.actions")
            if spec.kill_at_s is not None:
                await _wait_until(bench, spec.kill_at_s)
                run.kill_at = bench.now()
                proc.kill()
                await proc.wait()
                if not has_watchdog(charger):
                    await _post_stop(run, bench, cfg_path, own_sets, logf)
                await _wait_until(bench, spec.kill_at_s + spec.restart_after_s)
                run.restart_at = bench.now()
                proc = await _start_controller(cfg_path, overrides, logf, stats)
            await _wait_until(bench, sc.duration_s)
            proc.send_signal(signal.SIGTERM)
            try:
                run.exit_codes.append(await asyncio.wait_for(proc.wait(), timeout=10.0))
            except TimeoutError:
                proc.kill()
                run.exit_codes.append(None)
            await ticker
            if not acts.done():
                raise RuntimeError("an action was scheduled after the scenario's end")
            await acts  # an action's error is the run's
            if stats.exists():  # the last controller's loop timings, written on its exit
                run.stats = json.loads(stats.read_text())
        finally:
            if acts is not None:
                acts.cancel()
            if proc is not None and proc.returncode is None:  # a run cut short: no
                proc.kill()  # controller left dialing ports a later bench may be given
                await proc.wait()
            await bench.stop()
            logf.seek(0)
            run.log = logf.read().decode(errors="replace")
            logf.close()
    run.rec = bench.rec
    run.writes = bench.charger.command_log
    run.control_after = bench.charger.control_after()
    run.control_hist = bench.charger.control_hist
    run.control_want = bench.charger.control_want(cfg.charger.watchdog_s)
    checks = []
    for c in sc.checks:
        if c.name not in CHECKS:
            raise ValueError(f"{path}: unknown check {c.name!r} ({', '.join(CHECKS)})")
        value = CHECKS[c.name](run)
        why = not_applicable(c.name, charger) or (
            DYNAMIC_NA[c.name](run) if c.name in DYNAMIC_NA else "")
        by = stopped_by(c.name, charger)
        checks.append({"name": c.name, "passed": None if why else bool(value <= c.limit),
                       "value": round(value, 3) if math.isfinite(value) else None,
                       "limit": c.limit, **({"not_applicable": why} if why else {}),
                       **({"stopped_by": by} if by else {})})
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
        "scenario": sc.name, "charger": bench.charger_kind, "policy": "v2h",
        "duration_s": sc.duration_s,
        "pv_wh": r(oracle.pv_wh), "load_wh": r(oracle.load_wh),
        "import_wh": r(pl.imp_wh), "export_wh": r(pl.exp_wh),
        "ev_charge_wh": r(pl.chg_wh), "ev_discharge_wh": r(pl.dis_wh),
        "oracle_import_wh": r(oracle.import_wh), "oracle_export_wh": r(oracle.export_wh),
        "oracle_ev_charge_wh": r(oracle.ev_charge_wh),
        "oracle_ev_discharge_wh": r(oracle.ev_discharge_wh),
        "tracking_efficiency": round(1.0 - loss / through, 5) if through > 0 else None,
        "max_export_w": r(max((-(x[1] + x[2] + x[3]) for x in rec), default=0.0)),
        "safety_violations": _safety_seconds(run),
        # writes the real charger must never get (the Sigenergy's 0 W limit): must be 0
        "forbidden_writes": bench.charger.forbidden,
        # profiles an OCPP station rejected for breaking the V2X rules (not those a
        # charger_rejects fault refused): must be 0
        "rejected_profiles": len(getattr(bench.charger, "rejected", ())),
        "checks": checks,
        # the faults as they ran (bench s; sync_faults moves a start to v2h's write)
        "faults": [{"kind": e.kind, "at_s": e.at_s if math.isfinite(e.at_s) else None,
                    "duration_s": e.duration_s} for e in run.events],
        "exit_codes": run.exit_codes,
        # the unit's ExecStopPost= as the bench ran it after a SIGKILL (systemd emulated), for
        # a charger without a watchdog of its own: its exit code must be 0
        "post_stop": run.post_stop,
        "loop": {k: _percentiles(v) for k, v in run.stats.items()},
        # the bench's own ticks (ms late against real time): a bench fallen behind, not the
        # controller, where a real-time check misses on a loaded host
        "bench_tick_late_ms": _percentiles([x * 1000.0 for x in bench.tick_late]),
    }


def _percentiles(ms: list[float]) -> dict[str, float | int | None]:
    """n, p50, p99 and max of one of the loop's timings (ms)."""
    xs = sorted(ms)
    if not xs:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    at = lambda q: round(xs[min(len(xs) - 1, int(q * (len(xs) - 1)))], 3)  # noqa: E731
    return {"n": len(xs), "p50": at(0.5), "p99": at(0.99), "max": round(xs[-1], 3)}
