"""Compiled and pure cores give the same setpoints: 100 000 random steps, a whole day."""

from __future__ import annotations

import math
import random

import fast
from controller import config, sim

IMPLS = fast.implementations()


def _random_reading(core, rnd: random.Random, t: float):
    g = rnd.uniform(-9000, 9000)
    m = core.Measurement(t=t - rnd.choice([0.2, 0.2, 0.2, 3.0]), ev_t=t, grid_w=g,
                         p1=g * 0.5, p2=g * 0.3, p3=g * 0.2, ev_w=rnd.uniform(-7400, 7400),
                         soc=rnd.choice([rnd.uniform(0, 100), math.nan]),
                         car_present=rnd.random() > 0.05)
    if rnd.random() < 0.01:
        m.grid_w = math.nan
    return m


def test_parity_100k_random_steps():
    """Both cores, fed the same 100 000 readings, agree within 1e-6 W and on every reason."""
    assert "compiled" in IMPLS, "the compiled core is not built"
    pure, comp = IMPLS["pure"], IMPLS["compiled"]
    rnd = random.Random(20261127)
    states = {}
    lims = {k: c.Limits() for k, c in (("p", pure), ("c", comp))}
    plans = {k: c.Plan() for k, c in (("p", pure), ("c", comp))}
    states = {k: c.CtlState(mode=2, grid_ok=True) for k, c in (("p", pure), ("c", comp))}
    for i in range(100_000):
        state = rnd.getstate()
        mp = _random_reading(pure, rnd, float(i))
        rnd.setstate(state)
        mc = _random_reading(comp, rnd, float(i))
        sp_p, states["p"], why_p = pure.step(mp, states["p"], lims["p"], plans["p"], float(i))
        sp_c, states["c"], why_c = comp.step(mc, states["c"], lims["c"], plans["c"], float(i))
        assert abs(sp_p - sp_c) <= 1e-6, (i, sp_p, sp_c)
        assert why_p == why_c, i


def test_parity_standard_day():
    """The whole standard-day, plant included: same setpoint every second, same totals."""
    assert "compiled" in IMPLS, "the compiled core is not built"
    cfg = config.defaults()
    sc = sim.load("standard-day")
    inp = sim.build(sc, fast.profile_implementations()["pure"])
    inp_c = sim.build(sc, fast.profile_implementations()["compiled"])
    assert list(inp.pv) == list(inp_c.pv) and list(inp.l1) == list(inp_c.l1)
    runs = {k: sim.run_policy(sc, cfg, "v2h", inp, IMPLS[k], trace=True) for k in IMPLS}
    sp_p, sp_c = runs["pure"].trace[1::6], runs["compiled"].trace[1::6]
    assert len(sp_p) == 86_400
    worst = max(abs(a - b) for a, b in zip(sp_p, sp_c))
    assert worst <= 1e-6
    tp, tc = runs["pure"].totals, runs["compiled"].totals
    for key in ("import_wh", "export_wh", "ev_charge_wh", "ev_discharge_wh"):
        assert abs(getattr(tp, key) - getattr(tc, key)) <= 1e-6, key
