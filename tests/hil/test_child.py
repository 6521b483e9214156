"""No controller outlives the bench that started it: killed (SIGKILL, a test's timeout) or
cut short (its task cancelled). A stray `v2h run` dials its old ports for ever and becomes a
second writer on a later bench that the kernel gives one of them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from hil._run import run_scenario

pytestmark = pytest.mark.hil
SCENARIO = Path(__file__).parents[2] / "hil" / "scenarios" / "grid-loss-quick.toml"
BENCH = f"""
import asyncio, sys
sys.path.insert(0, {str(Path(__file__).parents[2])!r})
from hil._run import run_scenario
asyncio.run(run_scenario({str(SCENARIO)!r}))
"""


def _children(pid: int, what: str = "controller.cli") -> list[int]:
    """The live processes whose parent is `pid` and whose command line holds `what`."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rpartition(")")[2].split()
        if fields[0] != "Z" and int(fields[1]) == pid and what in cmd:
            out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


async def _until(cond, what: str, limit_s: float = 30.0) -> None:
    for _ in range(int(limit_s / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_killed_bench_takes_its_controller_with_it():
    """The bench's process SIGKILLed mid-run: its `v2h run` is gone too (the kernel's
    parent-death signal), not left dialing the bench's ports."""
    bench = await asyncio.create_subprocess_exec(sys.executable, "-c", BENCH,
                                                 stdout=asyncio.subprocess.DEVNULL,
                                                 stderr=asyncio.subprocess.DEVNULL)
    ctl = None
    try:
        await _until(lambda: _children(bench.pid), "the bench's controller")
        (ctl,) = _children(bench.pid)
        bench.send_signal(signal.SIGKILL)
        await bench.wait()
        await _until(lambda: not _alive(ctl), "the controller to die with its bench", 10.0)
    finally:
        if bench.returncode is None:
            bench.kill()
            await bench.wait()
        if ctl is not None and _alive(ctl):  # the defect itself: not left behind by us
            os.kill(ctl, signal.SIGKILL)


async def test_a_run_cut_short_stops_its_controller():
    """The bench's task cancelled while the controller runs (a test's timeout): the
    controller is killed before the bench's ports close."""
    task = asyncio.create_task(run_scenario(str(SCENARIO)))
    try:
        await _until(lambda: _children(os.getpid()), "the bench's controller")
        (ctl,) = _children(os.getpid())
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    try:
        assert not _alive(ctl)
    finally:
        if _alive(ctl):
            os.kill(ctl, signal.SIGKILL)
