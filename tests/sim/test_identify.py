"""Identification (issue #12, point 1): after five minutes of a household evening, the
model v2h identified is within 20 % (or 0.15 s, whichever is larger) of the plant's dead
time and time constant, at every point of the sweep; the compiled and pure cores fit alike.

The plant's dead time jitters per write at some points (dead_s + uniform [0, jitter_s)): it
is then a range, and the identified figure is judged against the nearest end of it."""

from __future__ import annotations

import math
import random
from array import array

import msgspec
import pytest

import fast
from controller import config
from controller.sim import _sweep as sw
from controller.sim import build, run_policy

POINTS = sw.points(24)
# the pure core fits some 100 times slower: it runs the three fixed corners (quick,
# default, sluggish); parity below shows both fit alike
PICK = range(len(POINTS)) if fast.COMPILED else range(3)


def _household(p: sw.Point) -> msgspec.Struct:
    sc = sw._scenario("household", p)
    return msgspec.structs.replace(sc, duration_s=300)


def _off(value: float, lo: float, hi: float) -> float:
    """How far value lies outside [lo, hi] (0 inside)."""
    return max(lo - value, value - hi, 0.0)


@pytest.mark.parametrize("i", PICK)
def test_identified_within_20_percent_after_five_minutes(i):
    p = POINTS[i]
    run = run_policy(_household(p), config.defaults(), "v2h")
    idn = run.ident
    assert idn is not None and idn.ok, p
    dead_hi = p.dead_s + p.jitter_s
    assert _off(idn.dead_s, p.dead_s, dead_hi) <= max(0.2 * (p.dead_s + dead_hi) / 2, 0.15), \
        (p, idn.dead_s)
    assert abs(idn.tau_s - p.tau_s) <= max(0.2 * p.tau_s, 0.15), (p, idn.tau_s)
    assert abs(idn.gain - p.meas_gain) <= 0.01, (p, idn.gain)


@pytest.mark.once
def test_a_quick_jittered_chargers_meter_delay():
    """Session 10, review R's plant at seed 7007 (dead 0.5 s with 0.4 s of jitter per write,
    tau 0.5 s, a plain meter 0.1 s late): the fit had the meter sampling at the reading's
    instant (0.0 s), as the charger's model alone, without the share of the next reading's
    miss that the step adds (`_ev_at_sample`), put the jittered moves earlier. With it the
    fit takes the sample as the step does: 0.08 s. `once`: the fit's two paths are compared
    bit for bit below."""
    p = sw.points(40, 7007)[17]
    assert not p.meter_avg and p.delay_s == 0.1 and p.jitter_s == 0.4
    idn = run_policy(sw._scenario("steps", p), config.defaults(), "v2h").ident
    assert idn is not None and idn.ok and idn.meter_window_s == 0.0
    assert abs(idn.meter_delay_s - p.delay_s) <= 0.05, idn.meter_delay_s


@pytest.mark.once  # both cores, in one run
def test_identification_is_the_same_compiled_and_pure():
    """The same facts give the same model, bit for bit, on both paths (a quick charger
    behind an averaging meter: the case where the meter's word matters)."""
    impls = fast.implementations()
    if "compiled" not in impls:  # as the `core` fixture: a missing build is an error
        raise RuntimeError("the compiled core is not built: run `make build`")
    sc = _household(POINTS[0])
    cfg = config.defaults()
    compiled = run_policy(sc, cfg, "v2h", core=impls["compiled"]).ident
    pure = run_policy(sc, cfg, "v2h", core=impls["pure"]).ident
    for name in ("dead_s", "tau_s", "ramp_w_s", "gain", "meter_delay_s", "meter_window_s",
                 "cost_w", "meter_cost_w", "intervals"):
        a, b = getattr(compiled, name), getattr(pure, name)
        assert a == b or (math.isnan(a) and math.isnan(b)), name


def test_identify_false_leaves_the_configured_model():
    run = run_policy(_household(POINTS[1]), config.defaults(("control.identify=false",)),
                     "v2h")
    assert run.ident is None


def test_too_little_to_say_no_model():
    """A charger held at one setpoint says nothing of its dynamics: no fit, no model."""
    idn = fast.Ident()
    for k in range(120):
        idn.record(float(k), 1000.0, float(k), 1000.0, True, float(k), 50.0)
    assert not idn.due(120.0) and not idn.fit() and not idn.ok
    lim = fast.Limits()
    idn.apply(lim)
    assert lim.charger_dead_s == 0.0 and lim.charger_tau_s == 0.7


def test_facts_are_what_the_decision_read_and_wrote():
    """run_batch's facts: the time, the charger as read, the command written, regulating,
    the grid as read; a second in which the charger is lost has no reading, no write."""
    core = fast.core
    sc = _household(POINTS[1])
    cfg = config.defaults()
    inp = build(sc)
    n = 30
    from controller.config import core_limits, core_plan
    from controller.sim._run import make_plant

    pl = make_plant(sc, cfg, core)
    lim, plan = core_limits(cfg, core), core_plan(cfg, core)
    st, ev = core.CtlState(), core.EvccState()
    tot = core.Totals(reserve_soc=cfg.limits.reserve_soc, fuse_a=cfg.limits.fuse_a)
    facts = array("d", bytes(8 * 5 * n))
    trace = array("d", bytes(8 * 6 * n))
    flags = array("B", inp.flags[:n])
    flags[20] |= 1 << core.FLAGS.index("charger_lost")
    views = [memoryview(a)[:n] for a in (inp.l1, inp.l2, inp.l3, inp.pv)]
    core.run_batch(1, *views, memoryview(flags), pl, lim, plan, st, ev, tot, 0.0,
                   memoryview(trace), memoryview(facts))
    for k in range(n):
        t, ev_w, sp_w, reg, grid_w = facts[5 * k:5 * k + 5]
        assert t == float(k) and math.isfinite(grid_w)
        if k == 20:
            assert math.isnan(ev_w) and math.isnan(sp_w)
        else:
            assert sp_w == trace[6 * k + 1] and math.isfinite(ev_w)
        assert reg in (0.0, 1.0)


# The cold start on the HIL bench (load-steps, the OCPP 2.1 station): t_read, ev_w, t_write,
# sp_w, regulating, t_meter, grid_w of the 18 cycles up to the first fit. The bench's
# charger acts on its own 0.25-s cycle (dead time 0.5 s from the tick that took the
# command) and its reading is that cycle's, so the first move read 1 s after the write
# showed 2424 W here and 3228 W in runs whose cycles fell later against its ticks.
BENCH_COLD_START = [
    (0.0, 0.0, 0.093, 0.0, 0, -0.097, -5347.9),
    (0.91, 0.0, 0.915, 0.0, 0, 0.903, -5359.2),
    (1.908, 0.0, 1.915, 0.0, 0, 1.902, -5352.2),
    (2.907, 0.0, 2.913, 0.0, 0, 2.901, -5355.2),
    (3.91, 0.0, 3.916, 0.0, 0, 3.901, -5355.8),
    (4.906, 0.0, 4.911, 0.0, 0, 4.901, -5351.1),
    (5.909, 0.0, 5.914, 5000.0, 1, 5.902, -5347.0),
    (6.908, 2424.0, 6.913, 5000.0, 1, 6.901, -4102.7),
    (7.909, 4458.1, 7.915, 5000.0, 1, 7.901, -1258.1),
    (8.909, 4948.2, 8.917, 5000.0, 1, 8.901, -566.1),
    (9.907, 5063.2, 9.911, 5000.0, 1, 9.907, -388.2),
    (10.906, 5091.6, 10.912, 5410.0, 1, 10.901, -377.1),
    (11.907, 5375.0, 11.91, 5410.0, 1, 11.901, -235.7),
    (12.906, 5468.3, 12.911, 5422.0, 1, 12.901, -19.2),
    (13.904, 5511.6, 13.907, 5422.0, 1, 13.9, 38.3),
    (14.908, 5527.1, 14.914, 5407.7, 1, 14.902, 60.0),
    (15.908, 5522.1, 15.914, 5407.7, 1, 15.904, 52.0),
    (16.908, 5519.1, 16.914, 5407.7, 1, 16.901, 55.2),
]


def test_a_charger_on_its_own_cycle_the_meter_tells_the_dead_time():
    """Session 12: on this bench run the readings alone fitted dead 0.07 s and a ramp of
    2.6 kW/s (they explain the stepped response as well as the true 0.5 s and 5 kW/s), the
    meter 0.43 s late to match; the meter's word, 70 W a reading unexplained, was then
    heard only around that model. Its load steps settled in 5-10 s instead of 3. Each
    coarse dead time is now also judged by the meter (`Ident._coarse_meter`); both cores
    give the same model."""
    models = []
    for core in fast.implementations().values():
        idn = core.Ident(0.25, 0.0)
        for row in BENCH_COLD_START:
            idn.record(*row)
        assert idn.due(BENCH_COLD_START[-1][0]) and idn.fit()
        assert abs(idn.dead_s - 0.5) <= 0.1, idn.dead_s
        assert abs(idn.tau_s - 0.7) <= 0.15, idn.tau_s
        assert idn.meter_window_s == 0.0 and abs(idn.meter_delay_s - 0.25) <= 0.05
        models.append((idn.dead_s, idn.tau_s, idn.ramp_w_s, idn.meter_delay_s, idn.cost_w))
    assert len(set(models)) == 1, models


def test_a_quick_charger_keeps_the_readings_dead_time_where_the_meter_has_no_clear_word():
    """The control (session 12): behind a quick charger (dead 0.2-0.4 s, tau 0.2 s) and an
    averaging meter the readings' dead time and the meter's window and delay trade along a
    valley as flat as the noise, a few W a reading. Judged by the meter without a floor on
    how much better it must explain the grid, the cold start took dead 0.0 s and a plain
    meter 0.84 s late, and a load step went 5.5 % over."""
    p = sw.points(40, 8008)[12]
    assert p.dead_s == 0.2 and p.jitter_s == 0.2 and p.tau_s == 0.2 and p.meter_avg
    idn = run_policy(sw._scenario("steps", p), config.defaults(), "v2h").ident
    assert idn is not None and idn.ok
    assert _off(idn.dead_s, p.dead_s, p.dead_s + p.jitter_s) <= 0.15, idn.dead_s
    assert idn.meter_window_s == 1.0, idn.meter_window_s


def _plain_loop(seed: int, lost: float, tau: float = 0.7, n: int = 300,
                limit_w: float = math.inf) -> list[tuple]:
    """Records of a 1-s loop on a plain charger (dead 0.5 s, time constant tau, reading 2 %
    high, at most limit_w: its car's own limit) behind a meter sampling 0.25 s before each
    read, the house stepping on its own; each write's reply is lost with probability
    `lost` (the loop records no write time then, though the charger acted on it). Review
    R13's generator, in 10-ms steps."""
    rnd = random.Random(seed)
    h, p, t = 0.01, 0.0, 0.0
    cmds: list[tuple[float, float]] = [(-1e9, 0.0)]
    hist: list[tuple[float, float]] = []
    out = []

    def load(at: float) -> float:
        return 800.0 + (2000.0 if int(at // 7) % 2 else 0.0) + (
            1500.0 if int(at // 11) % 2 else 0.0)

    for c in range(n):
        tc = c + 1.0
        while t + h <= tc + 1e-9:
            t += h
            tgt = min(limit_w, next(w for (tw, w) in reversed(cmds) if tw + 0.5 <= t))
            p += (tgt - p) * (1.0 - math.exp(-h / tau))
            hist.append((t, p))
        del hist[:-300]
        at_sample = next((q for (th, q) in reversed(hist) if th <= tc - 0.25 + 1e-9), 0.0)
        sp = load(tc) + rnd.gauss(0.0, 50.0)
        cmds.append((tc + 0.02, sp))
        out.append((tc, 1.02 * p + rnd.gauss(0.0, 5.0),
                    tc + 0.02 if rnd.random() >= lost else math.nan, sp, True, tc,
                    load(tc - 0.25) + at_sample + rnd.gauss(0.0, 5.0)))
    return out


def _fitted(core, rows: list[tuple]):
    idn = core.Ident(0.25, 0.0)
    for row in rows:
        idn.record(*row)
    return idn.fit(), idn


@pytest.mark.once  # the same source on both paths: the fits' parity is tested above
@pytest.mark.parametrize("seed,lost", [(2, 0.1), (3, 0.1), (2, 0.3), (2, 0.5), (3, 0.5)])
def test_a_write_whose_reply_was_lost_is_no_command_the_fit_judges_by(seed, lost):
    """Review R13: a write whose reply times out leaves no write time in the records (the
    live loop's `command()` returns False), though the charger may have acted on it. The
    fit took the charger for one that ignores commands it had followed: with half the
    replies lost it fitted tau 55 s (the truth 0.7); a prediction with no command known in
    force counted as no miss, so models predicting nothing won. No reading pair a command
    of unknown fate may act on is judged now: the model is the charger's, or there is none
    (too few pairs left); with one reply in ten lost the fit still finds it."""
    ok, idn = _fitted(fast.core, _plain_loop(seed, lost))
    assert ok or lost > 0.1
    if ok:
        assert abs(idn.dead_s - 0.5) <= 0.15, idn.dead_s
        assert abs(idn.tau_s - 0.7) <= 0.2 * 0.7, idn.tau_s
    else:
        assert not idn.ok and idn.intervals < 10


def test_no_write_known_to_have_gone_out_no_model():
    """Review R13: with every reply lost, the fit said ok with dead 0 s and tau 0.007 s
    from not one prediction (and `apply` would have ended the cold start's bracket)."""
    for core in fast.implementations().values():
        ok, idn = _fitted(core, _plain_loop(1, 1.0))
        assert not ok and not idn.ok and idn.intervals == 0
        lim = core.Limits()
        lim.model_known = 0.0  # a cold start: the config's model is a guess
        idn.apply(lim)
        assert lim.model_known == 0.0


@pytest.mark.once  # both cores, in one run
def test_a_charger_slower_than_the_config_allows_is_fitted_at_its_bound():
    """The fit's model stays within the bounds the config puts on the same figures (tau
    at most 10 s, dead time at most 2 s, the meter's delay at most 1 s): a charger of tau
    30 s is fitted at 10 s, not beyond."""
    for core in fast.implementations().values():
        ok, idn = _fitted(core, _plain_loop(4, 0.0, tau=30.0))
        assert ok
        assert 0.05 <= idn.tau_s <= 10.0 and 0.0 <= idn.dead_s <= 2.0, (idn.tau_s, idn.dead_s)
        assert 0.0 <= idn.meter_delay_s <= 1.0, idn.meter_delay_s


@pytest.mark.once  # both cores, in one run
def test_a_charger_held_short_of_its_command_is_not_taken_for_a_slow_one():
    """Review R13: a car that takes no more than 1.8 kW (a cold battery) while the house's
    surplus asks 2.3-4.3 kW of it: the charger stands still short of the command, which no
    model of its response explains, and the fit took it for a charger of tau 3-4 s and a
    reading 4-10 % low (the truth: 0.7 s, 2 % high). Such stretches, and the moves into
    and out of them, are not judged now (`Records._short_by`); both cores alike. (A
    charger held within 10 % of its command looks like a gain on that stretch: not told
    apart, regulation.md.)"""
    models = set()
    for core in fast.implementations().values():
        ok, idn = _fitted(core, _plain_loop(2, 0.0, limit_w=1800.0))
        assert ok
        assert abs(idn.dead_s - 0.5) <= 0.15, idn.dead_s
        assert abs(idn.tau_s - 0.7) <= 0.2 * 0.7, idn.tau_s
        assert abs(idn.gain - 1.02) <= 0.01, idn.gain
        models.add((idn.dead_s, idn.tau_s, idn.ramp_w_s, idn.gain))
    assert len(models) == 1, models
