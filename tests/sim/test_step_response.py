"""Load steps of +2 kW and -2 kW under PV surplus on the simulated plant (same step code):
|grid| back under 50 W within 5 s, overshoot at most 5 % of the step
(firmware_notes/design.md "The control step")."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import config, sim

SCENARIO = """
name = "step-test"
duration_s = 1200
start = "12:00"
seed = 2
[car]
soc_pct = 50
[pv]
peak_w = 5000
sunrise = "06:00"
sunset = "18:00"
[load]
hourly_w = [300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300,
            300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300]
noise_w = 0
[[load.appliances]]
name = "kettle"
at = ["12:10"]
duration_s = 300
power_w = 2000
phase = {phase}
"""


@pytest.fixture(params=[1, 2])
def response(request, tmp_path: Path):
    """Per-second mean grid power (W) around the step on, and around the step off."""
    f = tmp_path / "step.toml"
    f.write_text(SCENARIO.format(phase=request.param))
    sc = sim.load(str(f))
    _, runs = sim.simulate(sc, config.defaults(), ("v2h",), trace=True)
    grid = runs["v2h"].trace[0::6]
    return grid[590:620], grid[890:920]


def _check(window, sign):
    """sign +1: a load switched on (import first); -1: switched off (export first)."""
    before, after = window[:10], window[10:]
    assert max(abs(g) for g in before) < 50.0
    assert sign * after[0] > 500.0  # the step is seen at the meter
    settle = next(i for i in range(len(after)) if all(abs(g) < 50.0 for g in after[i:]))
    assert settle <= 5, list(after)
    overshoot = max(0.0, max(-sign * g for g in after))
    assert overshoot <= 0.05 * 2000.0, list(after)


def test_load_step_up_settles_without_overshoot(response):
    """+2 kW (kettle on): back under 50 W within 5 s, overshoot <= 100 W."""
    _check(response[0], +1)


def test_load_step_down_settles_without_overshoot(response):
    """-2 kW (kettle off): back under 50 W within 5 s, overshoot <= 100 W."""
    _check(response[1], -1)
