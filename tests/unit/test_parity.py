"""Compiled and pure cores give the same setpoints: 100 000 random steps, a whole day."""

from __future__ import annotations

import math
import random

import pytest

import fast
from controller import config, sim

IMPLS = fast.implementations()
# both cores in one run, whichever the pass: the same work in the pure pass
pytestmark = pytest.mark.once


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


def _random_plan(core, rnd: random.Random):
    return core.Plan(grid_target_w=rnd.choice([0.0, rnd.uniform(-1500, 1500)]),
                     forced_w=rnd.choice([math.nan, math.nan, rnd.uniform(-7400, 7400), 0.0]),
                     allow_charge=rnd.random() > 0.2, allow_discharge=rnd.random() > 0.3,
                     hold=rnd.random() < 0.1)


def test_parity_random_plans():
    """Both cores under plans that change every 50 steps (targets, forced powers, the allow
    flags, hold), on a model known or not (dead time, jitter, tau, the meter's window and
    delay drawn too), on readings of a charger that follows its command with noise: the
    same setpoints and reasons for 30 000 steps. The plan's paths
    through the core are compared here rather than by running the priced scenarios in
    pure Python (tests/sim/test_dynamic_tariff.py runs once)."""
    assert "compiled" in IMPLS, "the compiled core is not built"
    rnd = random.Random(20261202)
    cores = {"p": IMPLS["pure"], "c": IMPLS["compiled"]}
    lims = {k: c.Limits() for k, c in cores.items()}
    states = {k: c.CtlState(mode=2, grid_ok=True) for k, c in cores.items()}
    plans: dict = {}
    ev = 0.0
    for i in range(30_000):
        if i % 50 == 0:
            state = rnd.getstate()
            for k, c in cores.items():
                rnd.setstate(state)
                plans[k] = _random_plan(c, rnd)
            # the model too (review R: the retimed and bracketed trace-backs need a dead
            # time, a window, a delay): drawn once, set alike on both cores
            model = {"model_known": float(rnd.random() < 0.5),
                     "charger_dead_s": rnd.choice([0.0, 0.6, 1.5]),
                     "charger_jitter_s": rnd.choice([0.0, 0.3]),
                     "charger_tau_s": rnd.choice([0.3, 0.7, 2.0]),
                     "meter_window_s": rnd.choice([0.0, 1.0]),
                     "meter_delay_s": rnd.choice([0.1, 0.25, 0.5])}
            for k in cores:
                for f, v in model.items():
                    setattr(lims[k], f, v)
        ev += 0.6 * (states["c"].last_sp - ev) + rnd.uniform(-30, 30)
        g = rnd.uniform(-3000, 3000) if i % 37 == 0 else 800.0 + rnd.uniform(-200, 200)
        out = {}
        for k, c in cores.items():
            m = c.Measurement(t=float(i) - 0.2, ev_t=float(i), grid_w=g, p1=g / 3, p2=g / 3,
                              p3=g / 3, ev_w=ev, soc=55.0)
            out[k] = c.step(m, states[k], lims[k], plans[k], float(i))
            states[k] = out[k][1]
        assert abs(out["p"][0] - out["c"][0]) <= 1e-6, (i, out["p"][0], out["c"][0])
        assert out["p"][2] == out["c"][2], i


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


def test_parity_integer_constants():
    """The core's integer constants (C enums of the .pxd files when compiled, set by the .py
    only as plain Python) are the same in both cores."""
    assert "compiled" in IMPLS, "the compiled core is not built"
    pure, comp = IMPLS["pure"], IMPLS["compiled"]
    names = sorted(n for n, v in vars(pure).items() if type(v) is int
                   and n.startswith(("M_", "R_", "GRID_", "F_", "METER_BAD", "P_", "PULSE_")))
    assert len(names) >= 45, names
    assert {n: getattr(comp, n, None) for n in names} == {n: getattr(pure, n) for n in names}
