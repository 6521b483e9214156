"""The quick HIL set in real time (each under 60 s, together under 4 minutes): grid loss, a
silent meter and a lost charger, with `v2h run` as its own process against the emulators.
The whole set runs with `make hil`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from hil._child import die_with_parent

pytestmark = [pytest.mark.hil, pytest.mark.loop]
SCENARIOS = Path(__file__).parents[2] / "hil" / "scenarios"
QUICK = sorted(SCENARIOS.glob("*-quick.toml"))
RUN_MAX_S = 240.0  # one bench process: a minute's scenario, its start and its tail
# the field faults of issue #10 that fit in a minute: each failed on the controller before
# it (control never retaken, non-zero written before control, the stop a cycle late on a
# lost reply, an RTU meter opened twice, an idle SoC of 0 taken for none; and after review R,
# a discharging charger never stopped while its control could not be confirmed)
FIELD = [SCENARIOS / f"{n}.toml" for n in (
    "charger-reboot", "charger-absent-start", "charger-user-mode", "reply-lost-grid-loss",
    "soc-zero-idle", "rtu-meter", "reply-lost-silence-grid-loss")]


def test_quick_set_is_small():
    """Three quick scenarios, each at most 60 s."""
    from controller import sim

    assert len(QUICK) == 3
    assert all(sim.load(str(p)).duration_s <= 60 for p in QUICK)


def _why(res: dict, log: str) -> str:
    """A failed run as the engineer needs it: which checks, which side fell behind (the
    controller's loop timings, the bench's own ticks), and what the controller logged."""
    failed = [c for c in res["checks"] if not c["passed"]]
    lines = [ln for ln in log.splitlines() if "fault" in ln or "state=" in ln]
    return "\n".join([f"{res['scenario']}: {failed}; safety {res['safety_violations']}",
                      f"faults {res['faults']}", f"loop {res['loop']}",
                      f"bench ticks late (ms) {res['bench_tick_late_ms']}",
                      "controller log (faults and states):", *lines[-40:]])


async def _all_pass(paths: list[Path], tmp: Path) -> None:
    """Run the scenarios side by side, each bench in its own process as `make hil` runs it
    (`python -m hil run`): each has checks, every check passes, nothing unsafe. Ten
    benches inside the test's own process shared its heap and its pauses: a tick 356 ms
    late there left a meter silent past the loss budget, and the controller rightly held
    off discharging for grid_reconnect_s (session 14: the real-time failures of
    sessions 13 and 14)."""
    async def one(i: int, p: Path) -> tuple[dict, str]:
        # started half a second apart: an interpreter's start-up is most of a run's CPU, and
        # ten pairs of them at once crowd the first seconds (the pure pass on two cores)
        await asyncio.sleep(0.5 * i)
        out, log = tmp / f"{p.stem}.json", tmp / f"{p.stem}.log"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hil", "run", str(p), "--json", str(out), "--log", str(log),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            cwd=SCENARIOS.parents[1], preexec_fn=die_with_parent())
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout=RUN_MAX_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert out.exists(), (p.stem, err.decode(errors="replace")[-2000:])
        return json.loads(out.read_text()), log.read_text(errors="replace")

    results = await asyncio.gather(*(one(i, p) for i, p in enumerate(paths)))
    for res, log in results:
        assert res["checks"], res["scenario"]
        assert all(c["passed"] for c in res["checks"]), _why(res, log)
        assert res["safety_violations"] == 0, _why(res, log)


async def test_quick_and_field_fault_scenarios_pass(tmp_path):
    """The quick set and the field faults, all ten side by side (about a minute, the
    longest run's time; one after the other they took two): every check passes, nothing
    unsafe."""
    from hil._scenario import load

    assert all(load(str(p))[0].duration_s <= 60 for p in FIELD)
    await _all_pass(QUICK + FIELD, tmp_path)
