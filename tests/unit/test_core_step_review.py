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
