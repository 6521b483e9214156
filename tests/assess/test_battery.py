"""The home battery (fast/_battery.py): compiled and pure agree, its energy balances close,
and it keeps the grid near zero within its power."""

from __future__ import annotations

import numpy as np
import pytest

import fast

ARGS = dict(cap_wh=10_000.0, min_wh=500.0, p_nom=5000.0, min_w=50.0, l0=0.005, l1=0.01,
            l2=0.025, cell_eff=0.95, standby_w=15.0, dead_s=1, tau_s=1.0)


def _grid(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    pv = np.clip(6000 * np.sin(np.pi * (t % 86400) / 86400), 0, None) * (rng.random(n) > 0.1)
    return 400 + 2000 * (rng.random(n) < 0.05) - pv


def _run(mod, grid: np.ndarray, soc_wh: float, pieces: int = 1):
    out = np.zeros(mod.OUT_N)
    state = np.zeros(2)
    soc = soc_wh
    for part in np.array_split(grid, pieces):
        soc = mod.run(np.ascontiguousarray(part), ARGS["cap_wh"], soc, ARGS["min_wh"],
                      ARGS["p_nom"], ARGS["min_w"], ARGS["l0"], ARGS["l1"], ARGS["l2"],
                      ARGS["cell_eff"], ARGS["standby_w"], ARGS["dead_s"], ARGS["tau_s"],
                      out, np.zeros(0), 0, state)
    return soc, out


def test_compiled_is_in_use_and_agrees_with_pure():
    """Both implementations give the same doubles over a day (and the compiled one loads)."""
    impls = fast.battery_implementations()
    assert "compiled" in impls, "the compiled battery is not built: run `make build`"
    g = _grid(86_400, 1)
    a = _run(impls["pure"], g, 2000.0)
    b = _run(impls["compiled"], g, 2000.0)
    assert a[0] == b[0] and (a[1] == b[1]).all()


def test_balance_closes_and_pieces_change_nothing():
    """Grid = house + battery + standby and stored = in - out - losses, to 1e-6 Wh; run in
    96 pieces it gives the same result as at once."""
    g = _grid(86_400, 2)
    soc, out = _run(fast.battery, g, 2000.0)
    f = dict(zip(fast.battery.OUT_FIELDS, out))
    assert (f["import_wh"] - f["export_wh"]) == pytest.approx(
        g.sum() / 3600 + f["ac_in_wh"] - f["ac_out_wh"] + f["standby_wh"], abs=1e-6)
    assert soc - 2000.0 == pytest.approx(f["ac_in_wh"] - f["ac_out_wh"]
                                         - f["conversion_loss_wh"] - f["cell_loss_wh"], abs=1e-6)
    soc2, out2 = _run(fast.battery, g, 2000.0, pieces=96)
    assert soc2 == pytest.approx(soc, abs=1e-6) and out2 == pytest.approx(out, abs=1e-6)


def test_follows_a_step_a_second_late():
    """A 1 kW load step is met from the battery within a few seconds (dead time 1 s, time
    constant 1 s); before it, the battery idles on standby."""
    g = np.r_[np.zeros(10), np.full(20, 1000.0)]
    out = np.zeros(fast.battery.OUT_N)
    grid = []
    state = np.zeros(2)
    soc = 5000.0
    for k in range(len(g)):
        i0, e0 = out[0], out[1]
        soc = fast.battery.run(g[k:k + 1].copy(), 10_000.0, soc, 500.0, 5000.0, 50.0, 0.005,
                               0.01, 0.025, 0.95, 15.0, 1, 1.0, out, np.zeros(0), 0, state)
        grid.append((out[0] - i0 - (out[1] - e0)) * 3600.0)
    assert grid[5] == pytest.approx(15.0)  # idle: its standby only
    assert grid[10] == pytest.approx(1015.0)  # the step, not yet seen (still idle)
    assert abs(grid[16]) < 10.0  # covered within 6 s


@pytest.mark.parametrize("dead_s, tau_s, soc_wh", [(0, 0.0, 9_900.0), (3, 2.5, 600.0)])
def test_compiled_agrees_with_pure_on_every_path(dead_s: int, tau_s: float, soc_wh: float):
    """The same doubles on both paths with no dead time and no lag, and with a longer dead
    time, starting near full and near empty (the cells' limits bite), the SoC trace and the
    slots' import and export written."""
    impls = fast.battery_implementations()
    assert "compiled" in impls, "the compiled battery is not built: run `make build`"
    g = _grid(86_400, 3)
    got = []
    for mod in (impls["pure"], impls["compiled"]):
        out, state = np.zeros(mod.OUT_N), np.zeros(1 + dead_s)
        trace, slot_io = np.zeros(96), np.zeros(192)
        soc = mod.run(g, ARGS["cap_wh"], soc_wh, ARGS["min_wh"], ARGS["p_nom"], ARGS["min_w"],
                      ARGS["l0"], ARGS["l1"], ARGS["l2"], ARGS["cell_eff"], ARGS["standby_w"],
                      dead_s, tau_s, out, trace, 900, state, slot_io)
        got.append((soc, out, state, trace, slot_io))
    (soc_a, *arrays_a), (soc_b, *arrays_b) = got
    assert soc_a == soc_b
    for a, b in zip(arrays_a, arrays_b):
        assert (a == b).all()
    f = dict(zip(fast.battery.OUT_FIELDS, arrays_a[0]))
    assert f["ac_in_wh"] > 0.0 and f["ac_out_wh"] > 0.0  # both directions ran
    assert (arrays_a[2] > 0.0).all() and (arrays_a[3] > 0.0).any()  # the trace, the slots
