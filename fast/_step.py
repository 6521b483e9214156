"""The control step: one reading in, one setpoint (W) out, with the reasons of each clamp.

Pure functions of their arguments except for the explicit in-place `_...` helpers (the
state is the caller's `CtlState`). Everything a step runs sits in this module, so that the C
compiler inlines it, except the model's trace-back (`_ev_at_sample`, `_bracketed` for the
cold start, `_retimed_dead`: _model.py) and the periodic feed-forward (`_track_periodic`,
_pulse.py): a call each.

Contents: the clamp pieces (`_fuse_phase`, `_fuse_window`, `_combine`, `_window`,
`_min_power`); `_valid`, `_stop`, `_step`, `_track` and its parts (`_track_soc`,
`_track_model`, `_track_chase`, `_track_ramping`, `_track_wish`, `_track_clamp`);
`_learn_gain`; `step`, the Python face. `_note_command` (the command history) is
_types.pxd's, inline in `_decide` too.
"""

import cython
from cython.cimports.libc.math import fabs, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._model import (
    RETIME_EARLY_W, _bracketed, _ev_at_sample, _retime_due, _retimed_dead)
from cython.cimports.fast._pulse import _track_periodic
from cython.cimports.fast._types import (
    INF, M_REGULATING, MAX_ABS_W, NAN, R_CAR, R_DEADBAND, R_FORCED, R_FUSE, R_GRID, R_MAX_CHARGE,
    R_MAX_DISCHARGE, R_MAX_SOC, R_MIN_POWER, R_PLAN, R_RAMP, R_RESERVE, R_STALE, R_SUPERVISOR,
    CtlState, Limits, Measurement, Plan, _clip, _note_command)
# isort: on

from fast._types import reason_names


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _fuse_phase(p: cython.double, v: cython.double, share: cython.double, ev_lo: cython.double,
                ev_hi: cython.double, fuse: cython.double, lim: Limits, out: cython.double[4]
                ) -> cython.void:
    """Narrow the charger window out[0:2] (W) so that one phase stays within `fuse` A, and
    the quick window out[2:4] for a phase already over it (below).

    The phase power p was sampled while the charger ran somewhere in [ev_lo, ev_hi] W (it
    may be moving, and the meter and the charger are not read at the same instant): each
    bound takes the end of that range that makes it tighter."""
    if share <= 0.0:
        return
    if not (v > 50.0):
        v = lim.nominal_v
    # the phase may carry fuse * v W either way; the charger moves it by share W per W. A
    # phase already over the line is given twice its excess back: a charger heading for the
    # line itself approaches it as a first-order lag and crosses it only after some
    # ln(excess / noise) time constants; aimed as far below as it is above, it crosses in
    # ln 2 of one (the next cycle, under the line, hands the rest back). Never below the
    # charger's minimum for it where the line itself leaves room for that: the extra is a
    # quicker move, not a stop (a restart costs some chargers seconds) nor a turn around
    hi: cython.double = ev_lo + (fuse * v - p) / share
    q: cython.double = hi
    if hi < ev_lo:
        q = max(hi + (hi - ev_lo), min(hi, lim.min_power_w))
    out[1] = min(out[1], hi)
    out[3] = min(out[3], q)
    lo: cython.double = ev_hi - (fuse * v + p) / share
    q = lo
    if lo > ev_hi:
        q = min(lo + (lo - ev_hi), max(lo, -lim.min_power_w))
    out[0] = max(out[0], lo)
    out[2] = max(out[2], q)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _fuse_window(m: Measurement, lim: Limits, ev_a: cython.double, ev_b: cython.double,
                 out: cython.double[2]) -> cython.void:
    """Charger power window [out0, out1] (W) that keeps every phase within the fuse, for a
    charger that ran between ev_a and ev_b W while the meter sampled. A phase over the line
    gets its quick bound (`_fuse_phase`) only as far as every other phase has room: the
    extra never takes the window past another phase's own bound."""
    fuse: cython.double = lim.fuse_a - lim.fuse_margin_a
    lo: cython.double = min(ev_a, ev_b)
    hi: cython.double = max(ev_a, ev_b)
    w: cython.double[4] = [-INF, INF, -INF, INF]
    _fuse_phase(m.p1, m.v1, lim.share1, lo, hi, fuse, lim, w)
    _fuse_phase(m.p2, m.v2, lim.share2, lo, hi, fuse, lim, w)
    _fuse_phase(m.p3, m.v3, lim.share3, lo, hi, fuse, lim, w)
    out[0] = w[0]
    out[1] = w[1]
    if w[0] <= w[1]:  # a conflict of the lines themselves is _combine's to settle
        out[1] = max(w[3], w[0])
        out[0] = min(w[2], w[1])


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _combine(lo: cython.double, hi: cython.double, fuse: cython.double[2],
             out: cython.double[2]) -> cython.void:
    """Intersect the charger window [lo, hi] with the fuse window; on conflict the charger's
    limits and permissions win and the point nearest the fuse window is kept."""
    if fuse[1] < lo:
        out[0] = lo
        out[1] = lo
    elif fuse[0] > hi:
        out[0] = hi
        out[1] = hi
    else:
        out[0] = max(lo, fuse[0])
        out[1] = min(hi, fuse[1])


@cython.cfunc
@cython.exceptval(check=False)
def _window(m: Measurement, lim: Limits, allow_chg: cython.bint, allow_dis: cython.bint,
            ev_w: cython.double, out: cython.double[2]) -> cython.void:
    """The feasible setpoint interval (W): charger limits and permissions, then the fuse."""
    f: cython.double[2] = [0.0, 0.0]
    _fuse_window(m, lim, ev_w, ev_w, f)
    _combine(-lim.max_discharge_w if allow_dis else 0.0, lim.max_charge_w if allow_chg else 0.0,
             f, out)


@cython.cfunc
@cython.exceptval(check=False)
def _min_power(sp: cython.double, lo: cython.double, hi: cython.double, was_on: cython.bint,
               lim: Limits) -> cython.double:
    """Snap `sp` (W) to 0 or to |sp| >= min_power, with hysteresis, inside [lo, hi]."""
    mn: cython.double = lim.min_power_w
    a: cython.double = fabs(sp)
    sgn: cython.double = 1.0 if sp >= 0.0 else -1.0
    zero_ok: cython.bint = lo <= 0.0 <= hi
    if a >= mn:
        if was_on or a >= mn + lim.min_power_hyst_w or not zero_ok:
            return sp
        return 0.0
    # below the charger's minimum: stay at the minimum while on and close, else off
    if ((was_on and a >= mn - lim.min_power_hyst_w) or not zero_ok) and lo <= sgn * mn <= hi:
        return sgn * mn
    # off; also where neither 0 nor the minimum fit the window (only when it is narrower
    # than min_power)
    return 0.0


# --- the control step -----------------------------------------------------------------------

@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _valid(m: Measurement, now: cython.double, lim: Limits) -> cython.bint:
    """True when the reading is fresh and physical (no NaN, no absurd power, not too old)."""
    # one comparison per value: NaN fails `<=` as surely as an absurd magnitude does
    if not (fabs(m.grid_w) <= MAX_ABS_W and fabs(m.ev_w) <= MAX_ABS_W
            and fabs(m.p1) <= MAX_ABS_W and fabs(m.p2) <= MAX_ABS_W
            and fabs(m.p3) <= MAX_ABS_W):
        return False
    return now - m.t <= lim.meter_stale_s and now - m.ev_t <= lim.charger_lost_s


CHASE_MIN_W = cython.declare(cython.double, 300.0)  # a reversal this large (W) counts
CHASE_DOWN = cython.declare(cython.double, 0.34)  # three reversals in a row: hold the mean
CHASE_UP = cython.declare(cython.double, 0.1)  # ten quiet periods: follow the sample again
CHASE_AVG = cython.declare(cython.double, 0.2)  # the running mean's weight per period
CHASE_WINDOW_S = cython.declare(cython.double, 3.0)  # reversals closer than this (s) count


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _stop(st: CtlState, reasons: cython.int) -> cython.double:
    st.prev_ev = NAN
    st.prev_ev_t = NAN
    st.prev2_ev = NAN
    st.prev_net = NAN
    st.prev_dn = 0.0
    st.prev2_dn = 0.0
    st.net_avg = NAN
    st.integ = 0.0
    st.last_sp = 0.0
    st.on = False
    st.hist_n = 0
    st.per_n = 0
    st.alt_pick = -1
    st.reasons = reasons
    return 0.0


@cython.cfunc
@cython.exceptval(check=False)
def _step(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: cython.double
          ) -> cython.double:
    """One control step in place: returns the setpoint (W) and leaves reasons in st.reasons."""
    _note_command(st, now)
    if not _valid(m, now, lim):
        return _stop(st, R_STALE)
    return _track(m, st, lim, plan, now)


@cython.cfunc
@cython.exceptval(check=False)
def _track(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: cython.double
           ) -> cython.double:
    """The step on a reading known valid (`_valid`): the supervisor's word, then tracking
    and the clamps."""
    if st.mode != M_REGULATING:
        return _stop(st, R_SUPERVISOR)
    if not (m.car_present and m.charger_ready):
        return _stop(st, R_CAR)
    _track_soc(st, lim, m.soc)
    # tracking: feed-forward from the balance at the meter plus PI on what remains
    e: cython.double = m.grid_w - plan.grid_target_w
    forced: cython.bint = not isnan(plan.forced_w)
    want: cython.double
    if forced:
        want = plan.forced_w
    elif lim.p_gain > 0.0:
        # the baseline every regulation figure is compared with: measured charger power
        # less a share of the error, nothing else (the same clamps follow)
        want = m.ev_w - lim.p_gain * e
    else:
        want = _track_model(m, st, lim, now, e)
    if isnan(want):  # never left to the clamps as NaN (it would pass the fuse's window)
        want = st.last_sp
    if forced or lim.p_gain > 0.0:  # no demand kept: the periodic history breaks off,
        st.hist_n = 0  # and the chase's mean and last demand go stale (as after a stop)
        st.per_n = 0
        st.net_avg = NAN
        st.prev_net = NAN
    st.reasons = _track_wish(want, st, lim, plan) | (R_FORCED if forced else 0)
    out: cython.double = _track_clamp(m, st, lim, plan, want, forced, now)
    # anti-windup: integrate only small errors while no clamp holds the output (a deadband
    # hold is not saturation; the feed-forward owns the transients)
    if not forced and (st.reasons & ~R_DEADBAND) == 0 and fabs(e) < lim.integ_band_w:
        st.integ = _clip(st.integ + lim.ki * e * lim.period_s, -lim.integ_max_w,
                         lim.integ_max_w)
    elif forced or out == 0.0:
        st.integ = 0.0
    if fabs(out - st.last_sp) < 0.5:
        st.sp_age += 1
    else:
        st.sp_age = 0
    st.last_sp = out
    st.on = out != 0.0
    return out


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _track_soc(st: CtlState, lim: Limits, soc: cython.double) -> cython.void:
    """The state of charge (%) blocks discharge at the reserve and charge at the maximum,
    with a hysteresis band; an unknown SoC never allows discharge."""
    if isnan(soc):
        st.dis_block = True
        return
    if soc <= lim.reserve_soc:
        st.dis_block = True
    elif soc >= lim.reserve_soc + lim.soc_hyst:
        st.dis_block = False
    if soc >= lim.max_soc:
        st.chg_block = True
    elif soc <= lim.max_soc - lim.soc_hyst:
        st.chg_block = False


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _track_model(m: Measurement, st: CtlState, lim: Limits, now: cython.double,
                 e: cython.double) -> cython.double:
    """The wish (W) by the model: feed-forward from what the house asks of the car, with
    the error e (W) on PI, and a ramp in progress carried on over the loop's lag."""
    # the meter's sample is older than the charger's reading by lag_frac of a period:
    # take the charger's power at that instant, between its last two readings
    known: cython.bint = lim.model_known != 0.0
    ev_s: cython.double = m.ev_w
    if not isnan(st.prev_ev):
        ev_s = _ev_at_sample(m.ev_w, st, lim, now, lim.charger_dead_s)
        _learn_gain(st, m.ev_w)
    # the charger's own meter reads its power a few % off (the plant's default: +2 %);
    # what it reports is scaled back by the gain learnt from settled stretches, so a
    # step's feed-forward lands on the true power, not 2 % of the step beside it
    net: cython.double = ev_s / st.gain - e  # what the house asks of the car now (W)
    d: cython.double = lim.charger_dead_s  # the last write's, as timed by its reading
    if not known and not isnan(st.prev_ev):
        net = _bracketed(net, m.ev_w, st, e, now, lim.period_s)
    elif (lim.charger_jitter_s > 0.0 and not isnan(st.prev_ev)
          and fabs(m.ev_w - st.prev_ev) >= RETIME_EARLY_W  # (the call only past it)
          and _retime_due(m.ev_w, st, lim, now) and st.chase >= 1.0
          and not _track_ramping(st, lim, net - st.prev_net)):
        # a dead time that varies per write: a charger moving on the step's own write by
        # RETIME_MIN_W or more (RETIME_EARLY_W where the model cannot have moved it so far
        # by now) is traced back with the dead time its reading says (not while a house
        # switching faster than the loop is chased: review, session 7)
        d = _retimed_dead(m.ev_w, st, lim, now)
        if d != lim.charger_dead_s:
            net = _ev_at_sample(m.ev_w, st, lim, now, d) / st.gain - e
    # the cycle after a step's write (HOLD_STEP_W or more, not a ramp) on a charger whose
    # dead time varies per write: its power at the sample, mid-move, is uncertain by the
    # jitter times its slope (a few hundred W behind a quick charger), so the demand is
    # taken from the readings' bracket (`_bracketed`: the command in force while it lies
    # between what the readings imply, else their nearest end), and the next cycle, the
    # charger at rest, corrects what is left. Only after a write that was the step's own
    # wish (no clamp: a write cut short by the ramp lies in the bracket, and holding it
    # stalled the ramp a cycle with kW still at the meter; review, session 10); only where
    # the write had acted by the sample
    # (before, the charger stood where it was read); only for a charger quick against its
    # jitter (HOLD_JITTER_TAU: a slower one is timed well enough, and a cycle's wait costs
    # its settle); not behind an averaging meter: its first sample holds only part of a
    # step, and holding the part costs a cycle (session 10)
    hold: cython.bint = (
        fabs(st.c1_w - st.c2_w) >= HOLD_STEP_W and st.reasons == 0 and known
        and lim.charger_jitter_s >= HOLD_JITTER_TAU * lim.charger_tau_s
        and lim.meter_window_s <= 0.0 and not isnan(st.prev_ev)
        and now - st.c1_t <= 1.5 * lim.period_s and now - lim.meter_delay_s > st.c1_t + d
        and st.chase >= 1.0 and not _track_ramping(st, lim, net - st.prev_net))
    ff: cython.double = _track_chase(st, net, now)
    # a demand repeating at a steady pace is met in phase: then the error of the last
    # sample is no guide either (it too lands half a period late)
    pulse: cython.double = _track_periodic(st, lim, net, e)
    if hold and isnan(pulse):
        ff = _bracketed(net, m.ev_w, st, e, now, lim.period_s)
    want: cython.double = (ff - lim.kp * e if isnan(pulse) else pulse) - st.integ
    # a ramp in progress (two changes of the same sign: clouds, not a switched load) is
    # carried on, since what is written now shows at the meter a loop's lag later
    dn: cython.double = net - st.prev_net
    if known and isnan(pulse) and st.chase >= CARRY_CHASE and _track_ramping(st, lim, dn):
        # only a ramp (changes of a like size): a step's echo, the smaller change the
        # next period as the charger's reading catches up, is not carried on; behind an
        # averaging meter a step shows as two changes (the sample that straddles it,
        # then the rest), so a ramp there takes three. It is carried on over the loop's
        # whole lag by the model (the charger's dead time and time constant, the meter's
        # delay and half its window), in periods, x kd. Not while a demand is met in
        # phase: its edges are what the next cycles bring, not a ramp; nor while the
        # chase holds the demand's mean more than it follows the sample (a house switching
        # faster than the loop: carried on, its edges are chased after all; session 8)
        lag: cython.double = (lim.charger_dead_s + lim.charger_tau_s + lim.meter_delay_s
                              + 0.5 * lim.meter_window_s) / lim.period_s
        want += lim.kd * lag * (dn if fabs(dn) < fabs(st.prev_dn) else st.prev_dn)
    st.prev2_dn = st.prev_dn
    st.prev_dn = dn if not isnan(dn) else 0.0
    st.prev_net = net
    return want


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _track_ramping(st: CtlState, lim: Limits, dn: cython.double) -> cython.bint:
    """True when this change of demand dn (W) and the last are alike (and, behind an
    averaging meter, the one before too; a sample of the instant 0.6 s late or more may
    be a window's mean, which a jittered slow charger's fit cannot tell apart)."""
    return not isnan(dn) and _like(dn, st.prev_dn) and (
        (lim.meter_window_s <= 0.0 and lim.meter_delay_s < 0.6)
        or _like(st.prev_dn, st.prev2_dn))


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _track_chase(st: CtlState, net: cython.double, now: cython.double) -> cython.double:
    """The feed-forward (W) from the house's demand net (W). A load that switches faster
    than the loop can follow (a hob pulsing every few seconds) shows as the demand
    reversing period after period: chasing the last sample then lands each correction on
    the next half-period, out of phase. The feed-forward then moves from the last sample
    toward the demand's running mean, as far as the reversals say (st.chase: 1 follow the
    sample, 0 hold the mean)."""
    dn0: cython.double = net - st.prev_net
    if isnan(st.net_avg):
        st.net_avg = net
    if not isnan(dn0) and fabs(dn0) >= CHASE_MIN_W:
        if dn0 * st.big_dn < 0.0 and now - st.big_t <= CHASE_WINDOW_S:
            st.chase = max(0.0, st.chase - CHASE_DOWN)
        st.big_dn = dn0
        st.big_t = now
    else:
        st.chase = min(1.0, st.chase + CHASE_UP)
    st.net_avg += CHASE_AVG * (net - st.net_avg)
    return st.net_avg + st.chase * (net - st.net_avg)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _track_wish(want: cython.double, st: CtlState, lim: Limits, plan: Plan) -> cython.int:
    """Which clamp bites, in the clamp order of firmware_notes/design.md "The control step":
    the reasons of each one that the wish (W) runs into."""
    reasons: cython.int = 0
    if want < 0.0:
        if not st.grid_dis_ok:
            reasons |= R_GRID
        if not plan.allow_discharge:
            reasons |= R_PLAN
        if st.dis_block:
            reasons |= R_RESERVE
        if want < -lim.max_discharge_w:
            reasons |= R_MAX_DISCHARGE
    elif want > 0.0:
        if not plan.allow_charge:
            reasons |= R_PLAN
        if st.chg_block:
            reasons |= R_MAX_SOC
        if want > lim.max_charge_w:
            reasons |= R_MAX_CHARGE
    return reasons


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _track_clamp(m: Measurement, st: CtlState, lim: Limits, plan: Plan, want: cython.double,
                 forced: cython.bint, now: cython.double) -> cython.double:
    """The wish (W) through the deadband, the ramp limit, the fuse, the window and the
    charger's minimum: the setpoint (W); each clamp that holds adds its reason."""
    win: cython.double[2] = [0.0, 0.0]
    fw: cython.double[2] = [0.0, 0.0]
    allow_dis: cython.bint = plan.allow_discharge and st.grid_dis_ok and not st.dis_block
    allow_chg: cython.bint = plan.allow_charge and not st.chg_block
    # deadband: small corrections are not worth a write (and would chatter on meter noise)
    sp: cython.double = want
    if not forced and st.on and fabs(want - st.last_sp) < lim.deadband_w:
        sp = st.last_sp
        st.reasons |= R_DEADBAND
    # ramp limit (lowest priority: every clamp below may override it)
    step_max: cython.double = lim.ramp_w_s * lim.period_s
    if sp > st.last_sp + step_max:
        sp = st.last_sp + step_max
        st.reasons |= R_RAMP
    elif sp < st.last_sp - step_max:
        sp = st.last_sp - step_max
        st.reasons |= R_RAMP
    prev: cython.double = m.ev_w if isnan(st.prev_ev) else st.prev_ev
    st.prev2_ev = st.prev_ev
    st.prev2_t = st.prev_ev_t
    st.prev_ev = m.ev_w
    st.prev_ev_t = now
    _fuse_window(m, lim, m.ev_w, prev, fw)
    if sp < fw[0] or sp > fw[1]:
        st.reasons |= R_FUSE
    _combine(-lim.max_discharge_w if allow_dis else 0.0, lim.max_charge_w if allow_chg else 0.0,
             fw, win)
    sp = _clip(sp, win[0], win[1])
    out: cython.double = _min_power(sp, win[0], win[1], st.on, lim)
    if out != sp:
        st.reasons |= R_MIN_POWER
    return out


CARRY_CHASE = cython.declare(cython.double, 0.5)  # the ramp carry needs st.chase this high
HOLD_STEP_W = cython.declare(cython.double, 1000.0)  # a write this large is a step's (W)
# a charger whose jitter is this share of its tau or more moves a good part of a step within
# the jitter: the hold is for it (a slower one the retime and the miss's share time well)
HOLD_JITTER_TAU = cython.declare(cython.double, 0.5)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _like(a: cython.double, b: cython.double) -> cython.bint:
    """Two changes of one sign and a like size (within a factor of two)."""
    return a * b > 0.0 and 0.5 * fabs(b) <= fabs(a) <= 2.0 * fabs(b)


GAIN_SETTLED_STEPS = cython.declare(cython.int, 2)  # held 2 periods, and reading steadily
GAIN_MIN_W = cython.declare(cython.double, 1000.0)  # below, noise and offsets dominate
GAIN_RATE = cython.declare(cython.double, 0.5)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _learn_gain(st: CtlState, ev_w: cython.double) -> cython.void:
    """Reported / commanded power of a charger that has held one setpoint long enough to
    settle and reads steadily: the charger's meter gain (with its tracking error), 0.9-1.1
    (a charger short of its command by more, its car's limit, teaches nothing)."""
    if st.sp_age < GAIN_SETTLED_STEPS or fabs(st.last_sp) < GAIN_MIN_W or (
            fabs(ev_w - st.prev_ev) > 0.005 * fabs(ev_w) + 5.0):
        return
    # 10 % or more off: a charger short of its command (its car's limit), not a gain (R11)
    r: cython.double = ev_w / st.last_sp
    if not (0.9 <= r <= 1.1):
        return
    old: cython.double = st.gain
    st.gain += GAIN_RATE * (r - old)
    # what the integral had taken up of the same error moves into the gain (the output
    # stays); only that: toward zero, never past it (a cold start's gain, learnt before the
    # integral took the error up, left it holding it the other way, some 10 s; session 11)
    d: cython.double = ev_w * (1.0 / st.gain - 1.0 / old)
    st.integ += _clip(d, min(0.0, -st.integ), max(0.0, -st.integ))


def step(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: cython.double):
    """The control step as a pure function: (setpoint W, new state, reason names)."""
    new = st.copy()
    sp = _step(m, new, lim, plan, now)
    return sp, new, reason_names(new.reasons)
