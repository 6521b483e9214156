"""The supervisor: modes and their transitions, the grid watch, the charger's faults and the
SoC's trust; `_decide` is the per-cycle decision the live loop and the batch runner share.

Contents: the grid (`_grid_state`, `_grid_now`, `_grid_track`), the meter (`_meter_fresh`,
`_meter_ok`, `_meter_moving`), `_supervise`, `_charger_fault`, `_soc_track`, `_decide`,
`_fast_path` (between cycles); their Python faces `grid_state`, `meter_ok`, `supervise`,
`decide`, `fast_path`.
"""

import cython
from cython.cimports.libc.math import fabs, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._step import _stop, _track
from cython.cimports.fast._types import (
    GRID_DOWN, GRID_UNKNOWN, GRID_UP, INF, M_CHARGER_LOST, M_FAULT, M_GRID_LOSS, M_HOLD, M_IDLE,
    M_METER_STALE, M_REGULATING, M_STARTUP, MAX_ABS_W, NAN, R_FORCED, R_SOC_PROBE, R_STALE,
    CtlState, Limits, Measurement, Plan, _note_command)
# isort: on

from fast._types import reason_names

# the charger's measured power (W) below which it counts as discharging
DISCHARGING_W = cython.declare(cython.double, 50.0)
# the charger is this far (W, or 10 % of the command) beyond its command on the unsafe side
DISOBEY_W = cython.declare(cython.double, 100.0)
# a move of the charger's power toward its command (W per check) that counts as obeying
OBEY_STEP_W = cython.declare(cython.double, 20.0)
# ignoring: a command of at least this (W) that the charger does not follow at all
IGNORE_MIN_W = cython.declare(cython.double, 1000.0)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _grid_state(m: Measurement, lim: Limits, meter_ok: cython.bint) -> cython.int:
    """GRID_UP when every phase of the site is within voltage limits and the frequency within
    its band; GRID_UNKNOWN without good meter data (never taken for healthy); else
    GRID_DOWN. A single-phase site (lim.phases == 1) is judged on L1 alone."""
    if not meter_ok or isnan(m.v1) or isnan(m.freq):
        return GRID_UNKNOWN  # garbage says nothing about the grid
    if not (lim.grid_undervoltage_v <= m.v1 <= lim.grid_overvoltage_v):
        return GRID_DOWN
    if lim.phases > 1.5:
        if isnan(m.v2) or isnan(m.v3):
            return GRID_UNKNOWN
        if not (lim.grid_undervoltage_v <= m.v2 <= lim.grid_overvoltage_v):
            return GRID_DOWN
        if not (lim.grid_undervoltage_v <= m.v3 <= lim.grid_overvoltage_v):
            return GRID_DOWN
    if not (lim.grid_freq_min_hz <= m.freq <= lim.grid_freq_max_hz):
        return GRID_DOWN
    return GRID_UP


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _grid_now(m: Measurement, lim: Limits, known: cython.bint, now: cython.double
              ) -> cython.int:
    """The grid's state from the meter's freshest sample: a sample older than the loss
    budget plus the meter's own publication interval says nothing (silence is not health)."""
    fresh: cython.bint = now - m.t <= lim.grid_loss_stop_s + lim.meter_interval_s
    return _grid_state(m, lim, known and fresh)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _meter_fresh(m: Measurement, now: cython.double, lim: Limits) -> cython.bint:
    """The meter's part of a reading is fresh and physical (the charger's is not asked)."""
    return (fabs(m.grid_w) <= MAX_ABS_W and fabs(m.p1) <= MAX_ABS_W
            and fabs(m.p2) <= MAX_ABS_W and fabs(m.p3) <= MAX_ABS_W
            and now - m.t <= lim.meter_stale_s)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _meter_ok(st: CtlState, m: Measurement, now: cython.double, lim: Limits) -> cython.bint:
    """Meter data usable: fresh, physical, and not frozen (identical values for too long)."""
    return _meter_fresh(m, now, lim) and _meter_moving(st, m, now, lim)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _meter_moving(st: CtlState, m: Measurement, now: cython.double, lim: Limits
                  ) -> cython.bint:
    """Not frozen: the meter's values have changed within `meter_frozen_s`."""
    if (m.grid_w == st.fz_grid and m.p1 == st.fz_p1 and m.v1 == st.fz_v1
            and m.freq == st.fz_freq):
        return now - st.fz_since < lim.meter_frozen_s
    st.fz_grid = m.grid_w
    st.fz_p1 = m.p1
    st.fz_v1 = m.v1
    st.fz_freq = m.freq
    st.fz_since = now
    return True


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _grid_track(st: CtlState, lim: Limits, grid: cython.int, now: cython.double,
                t_s: cython.double) -> cython.void:
    """The grid's latches. A loss: nothing until the grid has been healthy for
    `grid_reconnect_s`. The grid unseen for longer than the loss budget (it may have been
    lost meanwhile): regulation after `grid_startup_s`, discharge only after
    `grid_reconnect_s` (st.grid_dis_ok), as after a loss. Else `grid_startup_s`."""
    if grid == GRID_UNKNOWN:
        # unknown is never healthy; once data returns the grid is confirmed anew. The time
        # counts from a grid seen healthy (before the first sample there is nothing to
        # lose sight of: a start waits grid_startup_s)
        if isnan(st.unknown_since) and not isnan(st.healthy_since):
            st.unknown_since = now
        st.healthy_since = NAN
        st.grid_ok = False
        st.grid_dis_ok = False
    if now - st.unknown_since > lim.grid_loss_stop_s:
        st.blind = True
    if grid == GRID_DOWN:
        st.healthy_since = NAN
        st.unknown_since = NAN
        st.had_loss = True
        st.grid_ok = False
        st.grid_dis_ok = False
    elif grid == GRID_UP:
        if t_s - st.up_t > lim.grid_loss_stop_s + lim.meter_interval_s:
            # a gap in the grid's record longer than the loss budget between two healthy
            # samples (a loop held up, no look in between): it may have been lost meanwhile,
            # unseen. As after an unseen spell: regulation after grid_startup_s, discharge
            # after grid_reconnect_s
            st.blind = True
            st.healthy_since = NAN
            st.grid_dis_ok = False
        if not (t_s <= st.up_t):
            st.up_t = t_s
        st.unknown_since = NAN
        if isnan(st.healthy_since):
            st.healthy_since = now
        up: cython.double = now - st.healthy_since
        st.grid_ok = up >= (lim.grid_reconnect_s if st.had_loss else lim.grid_startup_s)
        st.grid_dis_ok = st.grid_ok and (not st.blind or up >= lim.grid_reconnect_s)
        if st.grid_dis_ok:
            st.had_loss = False
            st.blind = False


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _supervise(st: CtlState, lim: Limits, meter_ok: cython.bint, grid: cython.int,
               charger_ok: cython.bint, car_present: cython.bint, hold: cython.bint,
               fault: cython.bint, now: cython.double, t_s: cython.double) -> cython.int:
    """Update st.mode and st.grid_ok from this instant's facts; returns the new mode."""
    _grid_track(st, lim, grid, now, t_s)
    if fault:
        st.mode = M_FAULT
    elif not charger_ok:
        st.mode = M_CHARGER_LOST
    elif not meter_ok:
        st.mode = M_METER_STALE
    elif not st.grid_ok:
        st.mode = M_GRID_LOSS if st.had_loss else M_STARTUP
    elif not car_present:
        st.mode = M_IDLE
    elif hold:
        st.mode = M_HOLD
    else:
        st.mode = M_REGULATING
    return st.mode


@cython.cfunc
@cython.exceptval(check=False)
def _charger_fault(st: CtlState, m: Measurement, lim: Limits, now: cython.double,
                   cmd_w: cython.double, fresh: cython.bint) -> cython.bint:
    """Does the charger do what it was told (cmd_w, W)? FAULT when, for longer than
    `charger_disobey_s`, it runs beyond the command on the unsafe side (discharging more
    than asked or while 0 W was asked, charging more than asked) without moving toward it;
    or, for longer than `charger_ignore_s`, ignores a command of >= 1 kW altogether. A
    fault holds for `charger_fault_hold_s` after the last sign of it."""
    if not (fresh and m.car_present and fabs(m.ev_w) <= MAX_ABS_W):
        st.chk_ev = NAN
        st.disobey_since = NAN
        st.ignore_since = NAN
        return now < st.fault_until
    ev: cython.double = m.ev_w
    tol: cython.double = max(DISOBEY_W, 0.1 * fabs(cmd_w))
    if fabs(ev - cmd_w) <= tol:
        # doing as told (most seconds): neither beyond it nor ignoring it
        st.chk_ev = ev
        st.disobey_since = NAN
        st.ignore_since = NAN
        return now < st.fault_until
    moved: cython.double = 0.0 if isnan(st.chk_ev) else ev - st.chk_ev
    st.chk_ev = ev
    toward: cython.bint = (cmd_w - ev) * moved > 0.0 and fabs(moved) >= OBEY_STEP_W
    unsafe: cython.bint = ev < min(cmd_w, 0.0) - tol or ev > max(cmd_w, 0.0) + tol
    if unsafe and not toward:
        if isnan(st.disobey_since):
            st.disobey_since = now
    else:
        st.disobey_since = NAN
    if fabs(cmd_w) >= IGNORE_MIN_W and fabs(ev) < 0.1 * fabs(cmd_w) and not toward:
        if isnan(st.ignore_since):
            st.ignore_since = now
    else:
        st.ignore_since = NAN
    if now - st.disobey_since >= lim.charger_disobey_s or \
            now - st.ignore_since >= lim.charger_ignore_s:
        st.fault_until = now + lim.charger_fault_hold_s
    return now < st.fault_until


SOC_RISE_PCT_S = cython.declare(cython.double, 1.0 / 60.0)  # 1 point a minute at most
SOC_PROBE_S = cython.declare(cython.double, 10.0)
SOC_PROBE_EVERY_S = cython.declare(cython.double, 900.0)


@cython.cfunc
@cython.exceptval(check=False)
def _soc_track(st: CtlState, m: Measurement, lim: Limits, now: cython.double
               ) -> cython.double:
    """The SoC (%) the step may use: the charger's reading when it gives one (a reading of
    0 with a car present is no reading: chargers show 0 while idle); else the last reading
    less every Wh moved since (a lower bound: safe for the reserve), until more than
    `soc_hold_wh` has moved, and while the charger has not been unheard for
    `charger_lost_s`; else NaN (unknown never allows discharge)."""
    # the time since the last call (s): whole for the energy moved (the estimate must stay a
    # lower bound however far apart the cycles are: control.period_s may be 10 s, a cycle
    # may be late), at most 2 s for the rise of a reading (never faster than that)
    gap: cython.double = 0.0 if isnan(st.soc_t) else max(now - st.soc_t, 0.0)
    dt: cython.double = min(gap, 2.0)
    st.soc_t = now
    if not m.car_present or not (now - m.ev_t <= lim.charger_lost_s):
        # no car; or the charger unheard for charger_lost_s, in which time the car may have
        # left and another come unseen: what was held belongs to no car known to be here
        st.soc_held = NAN
        st.soc_moved_wh = 0.0
        return m.soc
    if 0.0 < m.soc <= 100.0:
        # a reading falls at once, and rises no faster than any charger fills a battery: a
        # reading that jumps up (a BMS's step, a glitch) is followed over minutes, never
        # taken at once above the reserve
        if isnan(st.soc_held) or m.soc <= st.soc_held:
            st.soc_held = m.soc
        else:
            st.soc_held = min(m.soc, st.soc_held + SOC_RISE_PCT_S * dt)
        st.soc_moved_wh = 0.0
        return st.soc_held
    if isnan(st.soc_held):
        return NAN
    if fabs(m.ev_w) <= MAX_ABS_W:
        st.soc_moved_wh += fabs(m.ev_w) * gap * (1.0 / 3600.0)
    else:
        st.soc_moved_wh = INF
    if not (st.soc_moved_wh <= lim.soc_hold_wh):
        return NAN
    return st.soc_held - st.soc_moved_wh * 100.0 / lim.capacity_wh


@cython.cfunc
@cython.exceptval(check=False)
def _decide(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: cython.double,
            cmd_w: cython.double, charger_ctl: cython.bint) -> cython.double:
    """The per-cycle decision, the one the live loop and the batch runner both run: is the
    meter usable, what is the grid, does the charger answer, is it under our control and
    doing as told, then the supervisor and the step. cmd_w is the last command sent (W);
    returns the setpoint (W), reasons in st.reasons."""
    _note_command(st, now)
    mfresh: cython.bint = _meter_fresh(m, now, lim)
    mok: cython.bint = mfresh and _meter_moving(st, m, now, lim)
    st.meter_good = mok
    fresh_ev: cython.bint = now - m.ev_t <= lim.charger_lost_s
    fault: cython.bint = _charger_fault(st, m, lim, now, cmd_w, fresh_ev and charger_ctl)
    _supervise(st, lim, mok, _grid_now(m, lim, mok, now), fresh_ev and charger_ctl,
               m.car_present, plan.hold, fault, now, m.t)
    soc: cython.double = m.soc
    m.soc = _soc_track(st, m, lim, now)
    # an unknown SoC (a charger that shows it only while power flows) is probed: the
    # smallest charge for SOC_PROBE_S, at most every SOC_PROBE_EVERY_S, where charging is
    # allowed anyway; discharge waits for the reading
    probing: cython.bint = False
    forced: cython.double = plan.forced_w
    if isnan(m.soc) and st.mode == M_REGULATING and m.car_present and m.charger_ready \
            and plan.allow_charge and isnan(forced):
        if isnan(st.probe_t) or now - st.probe_t >= SOC_PROBE_EVERY_S:
            st.probe_t = now
        probing = now - st.probe_t < SOC_PROBE_S
    if probing:  # above the minimum's hysteresis, so that it starts from off
        plan.forced_w = lim.min_power_w + lim.min_power_hyst_w
    # the step's own check (_valid) on what is known by now: the meter's part is mfresh
    sp: cython.double
    if mfresh and fresh_ev and fabs(m.ev_w) <= MAX_ABS_W:
        sp = _track(m, st, lim, plan, now)
    else:
        sp = _stop(st, R_STALE)
    if probing:
        plan.forced_w = forced
        st.reasons = (st.reasons & ~R_FORCED) | R_SOC_PROBE
    m.soc = soc
    return sp


@cython.cfunc
@cython.exceptval(check=False)
def _fast_path(st: CtlState, m: Measurement, lim: Limits, now: cython.double,
               cmd_w: cython.double) -> cython.bint:
    """The grid watch, between cycles, on the meter's freshest sample (m.t, voltages,
    frequency) and the charger's measured power (m.ev_w): True when 0 W must be written
    now — the grid is down or unknown while the charger discharges, by its measured power
    or by the last command sent (cmd_w, W), whatever was acknowledged."""
    grid: cython.int = _grid_now(m, lim, st.meter_good, now)
    _grid_track(st, lim, grid, now, m.t)
    if grid == GRID_UP:
        return False
    if grid == GRID_DOWN and st.mode != M_FAULT and st.mode != M_CHARGER_LOST:
        st.mode = M_GRID_LOSS
    return cmd_w < 0.0 or not (m.ev_w >= -DISCHARGING_W)


def grid_state(m: Measurement, lim: Limits, meter_ok: bool) -> int:
    """1 healthy, 0 down, -1 unknown: the grid as the meter shows it (Python entry)."""
    return _grid_state(m, lim, meter_ok)


def meter_ok(st: CtlState, m: Measurement, now: float, lim: Limits):
    """(usable, new state): whether this reading may be used, tracking a frozen meter."""
    new = st.copy()
    ok = _meter_ok(new, m, now, lim)
    return ok, new


def supervise(st: CtlState, lim: Limits, meter_ok: bool, grid: int, charger_ok: bool,
              car_present: bool, hold: bool, fault: bool, now: float):
    """The supervisor's transition as a pure function: returns the new state."""
    new = st.copy()
    # no sample time: a caller that gives none is taken to have watched without a gap
    _supervise(new, lim, meter_ok, grid, charger_ok, car_present, hold, fault, now, NAN)
    return new


def decide(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: float, cmd_w: float,
           charger_ctl: bool):
    """The per-cycle decision as a pure function: (setpoint W, new state, reason names)."""
    new = st.copy()
    sp = _decide(m, new, lim, plan, now, cmd_w, charger_ctl)
    return sp, new, reason_names(new.reasons)


def fast_path(st: CtlState, m: Measurement, lim: Limits, now: float, cmd_w: float):
    """The grid watch's decision as a pure function: (write 0 W now?, new state)."""
    new = st.copy()
    stop = _fast_path(new, m, lim, now, cmd_w)
    return stop, new
