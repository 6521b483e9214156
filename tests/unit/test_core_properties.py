"""Properties of the step on both implementations (hypothesis): never NaN, never outside the
charger's limits, never discharge when forbidden or at/below reserve, never a fuse overload."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as s

import fast

CORES = fast.implementations()
assert "compiled" in CORES, "the compiled core is not built: run `make build`"

power = s.floats(-40_000, 40_000, allow_nan=False)
odd = s.one_of(power, s.sampled_from([math.nan, math.inf, -math.inf, 1e9]))


@s.composite
def cases(draw):
    core = CORES[draw(s.sampled_from(sorted(CORES)))]
    mx_c = draw(s.floats(500, 22_000))
    mx_d = draw(s.floats(500, 22_000))
    mn = draw(s.floats(0, 400))
    reserve = draw(s.floats(0, 80))
    three = draw(s.booleans())
    lim = core.Limits(
        max_charge_w=mx_c, max_discharge_w=mx_d, min_power_w=mn,
        min_power_hyst_w=draw(s.floats(0, 100)), reserve_soc=reserve,
        max_soc=draw(s.floats(reserve + 1, 100)), soc_hyst=draw(s.floats(0, 5)),
        fuse_a=draw(s.floats(6, 80)), fuse_margin_a=draw(s.floats(0, 3)),
        share1=1 / 3 if three else 1.0, share2=1 / 3 if three else 0.0,
        share3=1 / 3 if three else 0.0, ramp_w_s=draw(s.floats(100, 20_000)),
        deadband_w=draw(s.floats(0, 50)), kp=draw(s.floats(0, 1)), ki=draw(s.floats(0, 1)),
        kd=draw(s.floats(0, 1)), meter_delay_s=draw(s.floats(0, 1)),
        charger_dead_s=draw(s.floats(0, 2)), charger_tau_s=draw(s.floats(0.1, 4)))
    now = 1000.0
    m = core.Measurement(
        t=now - draw(s.floats(0, 5)), ev_t=now - draw(s.floats(0, 8)), grid_w=draw(odd),
        p1=draw(odd), p2=draw(power), p3=draw(power),
        v1=draw(s.floats(0, 260)), v2=draw(s.floats(0, 260)), v3=draw(s.floats(0, 260)),
        ev_w=draw(power), soc=draw(s.one_of(s.floats(0, 100), s.just(math.nan))),
        car_present=draw(s.booleans()), charger_ready=draw(s.booleans()))
    st = core.CtlState(mode=draw(s.integers(0, 7)), grid_ok=draw(s.booleans()))
    st.integ = draw(s.floats(-500, 500))
    st.last_sp = draw(s.floats(-mx_d, mx_c))
    st.on = draw(s.booleans())
    st.dis_block = draw(s.booleans())
    st.chg_block = draw(s.booleans())
    st.prev_ev = draw(s.one_of(power, s.just(math.nan)))
    st.prev_net = draw(s.one_of(power, s.just(math.nan)))
    st.prev_dn = draw(s.floats(-5000, 5000))
    plan = core.Plan(grid_target_w=draw(s.floats(-2000, 2000)),
                     forced_w=draw(s.one_of(s.just(math.nan), power)),
                     allow_charge=draw(s.booleans()), allow_discharge=draw(s.booleans()))
    return core, m, st, lim, plan, now


SETTINGS = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.once  # draws both cores in one run, whichever the pass
@SETTINGS
@given(cases())
def test_step_properties(case):
    """Each drawn case is checked for all three properties (one draw, three checks: the
    drawing is what costs time)."""
    core, m, st, lim, plan, now = case
    sp, _, _ = core.step(m, st, lim, plan, now)
    check_limits(sp, lim)
    check_discharge(core, sp, m, st, lim, plan)
    check_fuse(sp, m, st, lim)


def check_limits(sp, lim):
    """Finite, within [-max_discharge, max_charge], and 0 or at least min_power."""
    assert math.isfinite(sp)
    assert -lim.max_discharge_w - 1e-6 <= sp <= lim.max_charge_w + 1e-6
    assert sp == 0.0 or abs(sp) >= lim.min_power_w - 1e-6


def check_discharge(core, sp, m, st, lim, plan):
    """No discharge unless regulating, grid confirmed, plan allows, car there and SoC known
    and above the reserve."""
    if sp < 0.0:
        assert core.MODES[st.mode] == "REGULATING"
        assert st.grid_ok and st.grid_dis_ok and plan.allow_discharge
        assert m.car_present and m.charger_ready
        assert not math.isnan(m.soc) and m.soc > lim.reserve_soc


def check_fuse(sp, m, st, lim):
    """When 0 W keeps every phase within the fuse, the setpoint does too (predicted at the
    meter from the phase powers and the charger's reading)."""
    shares = (lim.share1, lim.share2, lim.share3)
    phases = ((m.p1, m.v1), (m.p2, m.v2), (m.p3, m.v3))
    evs = [m.ev_w] if math.isnan(st.prev_ev) else [m.ev_w, st.prev_ev]

    def amps(p, v, share, ev, x):
        v = v if v > 50.0 else lim.nominal_v
        return (p + (x - ev) * share) / v

    if any(not math.isfinite(p) for p, _ in phases) or not math.isfinite(m.grid_w):
        assert sp == 0.0
        return
    zero_ok = all(abs(amps(p, v, sh, ev, 0.0)) <= lim.fuse_a - lim.fuse_margin_a
                  for (p, v), sh in zip(phases, shares) if sh > 0 for ev in evs)
    if zero_ok:
        for (p, v), sh in zip(phases, shares):
            if sh > 0:
                assert abs(amps(p, v, sh, m.ev_w, sp)) <= lim.fuse_a + 1e-6
