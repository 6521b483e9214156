"""`v2h run` as its own process against the OCPP 2.1 station, in real time (about 30 s): it
never sends a profile the station rejects, and after SIGKILL the station falls back to
Idle when the last profile expires, within charger.watchdog_s (the dead-man)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil._charger import LOG_POWER
from hil._ocpp21 import Ocpp21
from hil._run import run_bench

pytestmark = pytest.mark.hil
KILL = Path(__file__).parent / "ocpp21-kill.toml"
DEADMAN_S = 6


async def test_no_rejected_profile_and_the_last_one_expires_after_sigkill():
    """Over the whole run: every profile within the V2X rules (none rejected), the car
    discharging before the kill; after it the station commands 0 W no later than
    watchdog_s after the last profile it accepted, and stands still in time."""
    res, bench, run = await run_bench(str(KILL), charger="ocpp21",
                                      overrides=[f"charger.watchdog_s={DEADMAN_S}"])
    station = bench.charger
    assert isinstance(station, Ocpp21)
    assert res["rejected_profiles"] == 0 and station.rejected == []
    assert station.accepted > 15 and station.forced_rejections == 0
    assert all(c["passed"] for c in res["checks"]), res["checks"]
    assert run.kill_at is not None
    before = [w for w in station.command_log if w[1] == LOG_POWER and w[0] < run.kill_at]
    assert any(w[2] >= 0x8000 for w in before)  # negative: it was discharging
    last = before[-1][0]
    idle = next(r[0] for r in run.rec if r[0] > run.kill_at and r[5] == 0.0)
    assert idle - last <= DEADMAN_S + 0.05, (last, idle)
    assert idle - last >= DEADMAN_S - 0.5  # it ran on its profile until then
