"""Review of today's changes to the control step (fast/_step.py): the fuse window's "twice
the excess back"."""

from __future__ import annotations

from tests.helpers import reading, regulating

LINE_W = 24.0 * 230.0  # fuse 25 A less the 1 A margin, at 230 V


def _phase_w(p_at: float, ev_at: float, ev_new: float, share: float) -> float:
    """A phase's power once the charger moved from ev_at to ev_new (the rest unchanged)."""
    return p_at + share * (ev_new - ev_at)


def test_twice_the_excess_back_never_pushes_another_phase_over_the_fuse(core):
    """A three-phase charger at 6 kW (2 kW a phase). L1: an oven, 300 W over the line. L2:
    a single-phase PV inverter exporting, 300 W of room left before the line. 5.1 kW keeps
    both phases exactly at the line — the window of the rule before today. Twice L1's excess
    back asks 4.2 kW, which lowers L2's import by 600 W more: L2 exports 300 W over the
    line, 25.3 A through a 25 A fuse. The extra may be given only where every phase has
    room for it."""
    lim = core.Limits(fuse_a=25.0, fuse_margin_a=1.0, min_power_w=150.0, ramp_w_s=1e5,
                      share1=1 / 3, share2=1 / 3, share3=1 / 3)
    st = regulating(core, last_sp=6000.0, on=True)
    p1, p2, p3 = LINE_W + 300.0, -(LINE_W - 300.0), 0.0
    m = reading(core, grid_w=p1 + p2 + p3, ev_w=6000.0, p1=p1, p2=p2, p3=p3)
    sp, _, why = core.step(m, st, lim, core.Plan(), 100.0)
    assert "fuse" in why
    after = [_phase_w(p, 6000.0, sp, 1 / 3) for p in (p1, p2, p3)]
    worst = max(abs(p) for p in after)
    assert worst <= LINE_W + 1.0, (sp, after)


# --- review of session 7 (the retimed trace-back): a NaN wish and the fuse -------------------

def _holding_the_fuse(core, jitter: float, period: float, dead: float, window: float,
                      delay: float, cmds: tuple[float, ...], prev: tuple[float, float],
                      ev_w: float):
    """Phase 1 (the charger's) at 6000 W with the car discharging 0.9-2.6 kW: the house
    alone is over the fuse, so the car must give more, and 0 W lies outside the window. The
    model's dead time reaches back past the four commands kept for the meter's sample, so
    the trace-back there is NaN (the retime even steered into that hole)."""
    lim = core.Limits(period_s=period, charger_dead_s=dead, charger_jitter_s=jitter,
                      charger_tau_s=3.0 if window else 0.7, meter_delay_s=delay,
                      meter_window_s=window, model_known=1.0)
    st = core.CtlState(mode=2, grid_ok=True)
    st.last_sp, st.on, st.dec_t = -3000.0, True, 10.0 - period
    t = 10.0 - period
    for i, w in enumerate(cmds):
        setattr(st, f"c{i + 1}_w", w)
        setattr(st, f"c{i + 1}_t", t - period * (i + 1))
    st.prev_ev, st.prev_ev_t = prev[0], 10.0 - period
    st.prev2_ev, st.prev2_t = prev[1], 10.0 - 2 * period
    m = core.Measurement(t=9.9, ev_t=10.0, grid_w=6000.0, p1=6000.0, ev_w=ev_w, soc=60.0)
    sp, _, why = core.step(m, st, lim, core.Plan(), 10.0)
    fuse_hi = ev_w + ((lim.fuse_a - lim.fuse_margin_a) * 230.0 - 6000.0)
    return sp, why, fuse_hi


def test_a_nan_trace_back_never_leaves_the_fuse_window(core):
    """Review R, session 7: where the sample's trace-back was NaN, the wish was NaN and the
    clamps turned it into 0 W, outside a window that excludes 0: phase 1 at 30-37 A through
    a 25 A fuse. With the retime (jitter 0.3 s) at the default 1-s period, a 1.9-s dead
    time and an averaging meter; and without it (jitter 0) at a 0.5-s period. A NaN
    trace-back is now the reading, and a NaN wish holds the setpoint in force: both
    through every clamp."""
    cases = [  # jitter, period, dead, window, delay, commands, readings before, reading
        (0.3, 1.0, 1.9, 1.0, 0.25, (-3000.0, -3000.0, 0.0, 0.0), (-300.0, 0.0), -930.0),
        (0.0, 1.0, 1.9, 1.0, 0.25, (-3000.0, -3000.0, 0.0, 0.0), (-300.0, 0.0), -930.0),
        (0.3, 0.5, 1.8, 0.0, 0.7, (-3000.0,) * 4, (-2000.0, -1000.0), -2600.0),
        (0.0, 0.5, 1.2, 0.0, 0.7, (-3000.0,) * 4, (-2000.0, -1000.0), -2600.0),
    ]
    for c in cases:
        sp, why, fuse_hi = _holding_the_fuse(core, *c)
        assert sp == sp and sp <= fuse_hi + 1e-6, (c, sp, why, fuse_hi)
