"""`v2h run` as its own process: SIGHUP stops it as SIGTERM does, with the safe stop (0 W,
stop action, control handed back) and exit 0 (issue #10, point 2)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from hil._child import die_with_parent

pytestmark = pytest.mark.hil


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
async def test_run_signal_is_a_safe_stop(make_bench, tmp_path, sig):
    """Control taken while running; after the signal, 81 reads 0 (handed back), the stop
    action written, exit code 0."""
    bench = await make_bench()
    cfg = tmp_path / "v2h.toml"
    cfg.write_text(f'[meter]\nhost = "127.0.0.1"\nport = {bench.ports["meter"]}\n'
                   f'[charger]\nhost = "127.0.0.1"\nport = {bench.ports["charger"]}\n'
                   f'[ledger]\nenabled = false\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller.cli", "run", "--config", str(cfg),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=die_with_parent())
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            if bench.charger.reg[81] == 1:
                break
        assert bench.charger.reg[81] == 1, "control never taken"
        proc.send_signal(sig)
        rc = await asyncio.wait_for(proc.wait(), 10.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    out = (await proc.stdout.read()).decode()
    assert rc == 0, out
    assert bench.charger.reg[81] == 0 and bench.charger.reg[257] == 2, out
    assert "control handed back" in out
