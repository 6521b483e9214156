"""The quick HIL set in real time (each under 60 s, together under 4 minutes): grid loss, a
silent meter and a lost charger, with `v2h run` as its own process against the emulators.
The whole set runs with `make hil`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hil._run import run_scenario

pytestmark = [pytest.mark.hil, pytest.mark.loop]
QUICK = sorted((Path(__file__).parents[2] / "hil" / "scenarios").glob("*-quick.toml"))


def test_quick_set_is_small():
    """Three quick scenarios, each at most 60 s."""
    from controller import sim

    assert len(QUICK) == 3
    assert all(sim.load(str(p)).duration_s <= 60 for p in QUICK)


async def test_quick_scenarios_pass():
    """All three run side by side (about a minute) and every check passes."""
    results = await asyncio.gather(*(run_scenario(str(p)) for p in QUICK))
    for res in results:
        assert res["checks"], res["scenario"]
        failed = [c for c in res["checks"] if not c["passed"]]
        assert not failed, (res["scenario"], failed)
        assert res["safety_violations"] == 0, res["scenario"]
