"""The model of the charger and the meter: the step traces the charger's power back with
it, and the identification (_ident.py) fits it.

Contents: `_ev_at_sample` (the charger's power, W, at the meter's sample), `_retimed_dead` (the
dead time a moving charger's reading says, for one that varies per write), `_bracketed`
(the cold start's: what the charger's readings say of the sample), `_model_power`,
`_trajectory`, `_onward` (the step's two walks in one) and `_advance` (dead time, ramp,
first-order lag); the identification's grid and constants (`ID_*`, `_id_tau`, `_id_ramp`,
`_huber`) and the reading's gain from settled stretches (`_settled_gain`).
"""

import cython
from cython.cimports.libc.math import exp, fabs, isnan, pow

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._types import INF, NAN, CtlState, Limits, _clip
# isort: on


@cython.cfunc
@cython.exceptval(check=False)
def _ev_at_sample(ev_w: cython.double, st: CtlState, lim: Limits, now: cython.double,
                  dead: cython.double) -> cython.double:
    """The charger's power (W, as it reports it) at the meter's sample: `meter_delay_s`
    before now, or its mean over the `meter_window_s` before that. The model (dead time
    `dead` s, tau, ramp) runs forward from the last reading through the commands in force;
    what it missed at this reading is spread over the period in proportion to the time
    elapsed."""
    if isnan(st.prev_ev_t) or not (now - st.prev_ev_t > 0.0):
        return ev_w
    g: cython.double = st.gain
    # the commands, and the one in force at the last reading: the same for every time at or
    # after it (`_model_power`'s, found once)
    cw: cython.double[4] = [st.c4_w, st.c3_w, st.c2_w, st.c1_w]
    ct: cython.double[4] = [st.c4_t, st.c3_t, st.c2_t, st.c1_t]
    target: cython.double = _in_force(st.prev_ev_t, cw, ct, 4, dead)
    s: cython.double = now - lim.meter_delay_s
    miss: cython.double
    if lim.meter_window_s <= 0.0 and s >= st.prev_ev_t:
        # the usual meter, a sample of the instant since the last reading: the walks to the
        # sample and to now share what lies before the sample (`_corrected`'s, to the bit)
        at_s: cython.double[1] = [NAN]
        miss = ev_w / g - _onward(st.prev_ev / g, st.prev_ev_t, s, now, target, cw, ct, 4,
                                  dead, lim.charger_tau_s, lim.charger_ramp_w_s, True, at_s)
        if isnan(miss):
            return ev_w
        acc1: cython.double = at_s[0] + _clip(
            (s - st.prev_ev_t) / (now - st.prev_ev_t), 0.0, 1.0) * miss
        return ev_w if isnan(acc1) else g * acc1
    miss = ev_w / g - _since_last(st, lim, now, dead, target, cw, ct)
    if isnan(miss):
        return ev_w
    # a sample older than what the commands kept can tell (a dead time longer than they
    # reach back, NaN): the reading, as without a model
    acc: cython.double
    if lim.meter_window_s <= 0.0:
        acc = _corrected(st, lim, s, miss, now, dead, target, cw, ct)
        return ev_w if isnan(acc) else g * acc
    acc = _window_sum(st, lim, s, miss, now, dead, target, cw, ct)
    return ev_w if isnan(acc) else g * acc / ID_AVG_POINTS


@cython.cfunc
@cython.exceptval(check=False)
def _window_sum(st: CtlState, lim: Limits, s: cython.double, miss: cython.double,
                now: cython.double, dead: cython.double, target: cython.double,
                cw: cython.p_double, ct: cython.p_double) -> cython.double:
    """`_ev_at_sample`'s sum (W, before the gain) over the meter's window before s, at
    ID_AVG_POINTS points (declared in _model.pxd, so that the C compiler keeps it out of
    line: a meter that samples the instant, the usual one, spares the step's registers)."""
    acc: cython.double = 0.0
    j: cython.int
    for j in range(ID_AVG_POINTS):
        acc += _corrected(st, lim, s - lim.meter_window_s * (j + 0.5) / ID_AVG_POINTS, miss,
                          now, dead, target, cw, ct)
    return acc


# readings that moved less than this over the sample's span bound the demand by their own
# span (a guess's trace-back may have the charger moving on a command not acted on yet);
# from it on, by the setpoint held within that span (`_bracketed`)
BRACKET_MIN_W = cython.declare(cython.double, 100.0)
STILL_W = cython.declare(cython.double, 30.0)  # readings this close: the charger stood still


@cython.cfunc
@cython.exceptval(check=False)
def _bracketed(net: cython.double, ev_w: cython.double, st: CtlState, e: cython.double,
               now: cython.double, period: cython.double) -> cython.double:
    """What the house asks of the car (W) while the charger's model is only a guess (a cold start,
    before the first fit), or its timing is (the cycle after a step's write on a charger whose
    dead time varies per write: `_track_model`): the meter's sample fell between the charger's
    last readings (this one, the last, and the one before for a late or averaging meter), so the
    demand lies between what each implies. The setpoint in force is kept while it lies in that
    bracket, else its nearest end: toward the demand, never past it, whatever the dead time and
    tau (a wrong model's trace-back corrects twice). Readings that stood still over that span
    say where the charger was, even where the guess has it moving on a command it has not acted
    on yet (a long dead time). Come to rest this period, the guess's trace-back errs by little
    and the residual (a reading's gain, a drift) is corrected at once, within the readings' span
    (their noise may exceed STILL_W while the guess has the charger moving). Readings older than
    two periods (after a stop) bound nothing."""
    if not (now - st.prev_ev_t <= 1.5 * period):
        return net  # resumed after a stop
    lo: cython.double = min(ev_w, st.prev_ev)
    hi: cython.double = max(ev_w, st.prev_ev)
    if not isnan(st.prev2_ev) and now - st.prev2_t <= 2.5 * period:
        lo = min(lo, st.prev2_ev)
        hi = max(hi, st.prev2_ev)
    if hi - lo < STILL_W:  # it stood still over the sample's span, where the guess may
        return ev_w / st.gain - e  # have it moving on a command it has not acted on yet
    if hi - lo < BRACKET_MIN_W or fabs(ev_w - st.prev_ev) < BRACKET_MIN_W:
        return _clip(net, lo / st.gain - e, hi / st.gain - e)  # creeping, or come to rest
    held: cython.double = st.last_sp + st.integ
    if isnan(held):
        return net
    return _clip(held, lo / st.gain - e, hi / st.gain - e)


RETIME_N = cython.declare(cython.int, 3)  # dead times tried either side of the model's
# below RETIME_MIN_W of move a dead time 0.3 s off errs by tens of W, and the retime (seven
# trace-backs) is not worth its cost. But a move the model cannot have made by now (the last
# write not acted yet by its dead time, or acted too lately to have moved so far)
# contradicts it outright: a quick charger covers most of a move within the jitter, so the
# error is most of the move so far (session 8: 474 W moved, 260 W of error). Such a move is
# retimed from RETIME_EARLY_W (ten times a reading's noise)
RETIME_MIN_W = cython.declare(cython.double, 500.0)
RETIME_EARLY_W = cython.declare(cython.double, 300.0)
RETIME_TOL_W = cython.declare(cython.double, 20.0)  # misses this close count as alike (W)


@cython.cfunc
@cython.exceptval(check=False)
def _retime_due(ev_w: cython.double, st: CtlState, lim: Limits, now: cython.double
                ) -> cython.bint:
    """Whether this reading's move (W, as the charger reports it) is one to retime:
    RETIME_MIN_W or more, or RETIME_EARLY_W or more that the model cannot have made by now.
    Not only before the model's dead time has passed since the last write: a plant
    jittered 0.7-1.1 s, fitted 0.99 s, was read 450 W on 1.0 s after a step's write, where
    the model had it move 7 ms; traced back with 0.99 s, the sample half a second earlier
    took half that move for demand, and the step overshot 5.6 % (session 14)."""
    moved: cython.double = fabs(ev_w - st.prev_ev)
    if moved >= RETIME_MIN_W:
        return True
    if moved < RETIME_EARLY_W:
        return False
    if now - st.c1_t < lim.charger_dead_s:
        return True
    return fabs(ev_w / st.gain - _model_power(st, lim, now, lim.charger_dead_s)) >= RETIME_EARLY_W


@cython.cfunc
@cython.exceptval(check=False)
def _retimed_dead(ev_w: cython.double, st: CtlState, lim: Limits, now: cython.double
                  ) -> cython.double:
    """The dead time (s) of the writes in flight, within `charger_jitter_s` of the model's,
    that best explains this reading of a moving charger (W, as it reports it): a charger
    whose dead time varies per write is timed by where its reading has got to. Of dead
    times that explain it alike (a charger come to rest says little of when it started),
    the one nearest the model's."""
    d0: cython.double = lim.charger_dead_s
    step: cython.double = lim.charger_jitter_s / RETIME_N
    miss: cython.double[7] = [INF, INF, INF, INF, INF, INF, INF]
    least: cython.double = INF
    k: cython.int
    for k in range(-RETIME_N, RETIME_N + 1):
        d: cython.double = d0 + k * step
        if d >= 0.0:
            x: cython.double = fabs(ev_w / st.gain - _model_power(st, lim, now, d))
            if not isnan(x):
                miss[k + RETIME_N] = x
                least = min(least, x)
    for k in range(RETIME_N + 1):
        if miss[RETIME_N + k] <= least + RETIME_TOL_W:
            return d0 + k * step
        if miss[RETIME_N - k] <= least + RETIME_TOL_W:
            return d0 - k * step
    return d0


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _corrected(st: CtlState, lim: Limits, t: cython.double, miss: cython.double,
               now: cython.double, dead: cython.double, target: cython.double,
               cw: cython.p_double, ct: cython.p_double) -> cython.double:
    """The model's power at t (W), with the share of this reading's miss due by then;
    target, cw, ct: `_ev_at_sample`'s."""
    w: cython.double = _clip((t - st.prev_ev_t) / (now - st.prev_ev_t), 0.0, 1.0)
    if t < st.prev_ev_t:
        return _model_power(st, lim, t, dead) + w * miss
    return _since_last(st, lim, t, dead, target, cw, ct) + w * miss


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _since_last(st: CtlState, lim: Limits, t: cython.double, dead: cython.double,
                target: cython.double, cw: cython.p_double, ct: cython.p_double
                ) -> cython.double:
    """`_model_power` at a t at or after the last reading, the command in force then known
    (target, W; cw, ct: the commands as `_model_power` lists them)."""
    none: cython.double[1] = [NAN]
    return _onward(st.prev_ev / st.gain, st.prev_ev_t, NAN, t, target, cw, ct, 4, dead,
                   lim.charger_tau_s, lim.charger_ramp_w_s, True, none)


@cython.cfunc
@cython.exceptval(check=False)
def _model_power(st: CtlState, lim: Limits, t: cython.double, dead: cython.double
                 ) -> cython.double:
    """The charger's true power (W) at t by the model: from the last reading at or before t
    (the one before it for a t before the last; held before that) on through the commands
    sent since. NaN without a command known to be in force."""
    p: cython.double = st.prev_ev
    t0: cython.double = st.prev_ev_t
    if t < t0:
        if isnan(st.prev2_t) or isnan(st.prev2_ev):
            return st.prev_ev / st.gain
        p = st.prev2_ev
        t0 = st.prev2_t
        if t < t0:
            return p / st.gain
    cw: cython.double[4] = [st.c4_w, st.c3_w, st.c2_w, st.c1_w]
    ct: cython.double[4] = [st.c4_t, st.c3_t, st.c2_t, st.c1_t]
    return _trajectory(p / st.gain, t0, t, cw, ct, 4, dead, lim.charger_tau_s,
                       lim.charger_ramp_w_s, True)


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def _trajectory(p: cython.double, t0: cython.double, t1: cython.double,
                cmd_w: cython.p_double, cmd_t: cython.p_double, n: cython.int,
                dead: cython.double, tau: cython.double, ramp: cython.double,
                memo: cython.bint) -> cython.double:
    """The charger's power at t1 (W) from p at t0, driven by commands cmd_w sent at cmd_t
    (oldest first, n of them, NaN times skipped), each acting dead s after it was sent: the
    model the identification fits and the step traces back with. NaN when no command is
    known to be in force at t0. memo: the lag's exp() through `_exp_memo` (the step's path
    only, which holds the GIL)."""
    none: cython.double[1] = [NAN]
    return _onward(p, t0, NAN, t1, _in_force(t0, cmd_w, cmd_t, n, dead), cmd_w, cmd_t, n, dead,
                   tau, ramp, memo, none)


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _in_force(t0: cython.double, cmd_w: cython.p_double, cmd_t: cython.p_double,
              n: cython.int, dead: cython.double) -> cython.double:
    """The command (W) in force at t0 (`_trajectory`'s): NaN when none is known."""
    target: cython.double = NAN
    i: cython.int
    for i in range(n):
        if not isnan(cmd_t[i]) and cmd_t[i] + dead <= t0:
            target = cmd_w[i]
    return target


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _onward(p: cython.double, t0: cython.double, s: cython.double, t1: cython.double,
             target: cython.double, cmd_w: cython.p_double, cmd_t: cython.p_double,
             n: cython.int, dead: cython.double, tau: cython.double, ramp: cython.double,
             memo: cython.bint, at_s: cython.p_double) -> cython.double:
    """`_trajectory` from p at t0 to t1, where the command `target` (W, `_in_force`) acts;
    and on the way its value at s (t0 <= s <= t1; NaN: none) into at_s[0]: the step's two
    walks, to its sample and to now, each to the bit as it would be alone, share their
    segments before s."""
    if isnan(target):
        at_s[0] = NAN
        return NAN
    i: cython.int
    t: cython.double = t0
    done: cython.bint = isnan(s)
    for i in range(n):
        if isnan(cmd_t[i]):
            continue
        b: cython.double = cmd_t[i] + dead
        if b <= t0:
            continue
        if not done and b >= s:
            at_s[0] = _advance(p, target, s - t, tau, ramp, memo)
            done = True
        if b >= t1:
            break
        p = _advance(p, target, b - t, tau, ramp, memo)
        t = b
        target = cmd_w[i]
    if not done:
        at_s[0] = _advance(p, target, s - t, tau, ramp, memo)
    return _advance(p, target, t1 - t, tau, ramp, memo)


# --- the identification's grid and constants (_ident.py)

ID_CAPACITY = 600  # cycles kept (10 minutes at 1 s)
ID_D_STEP = cython.declare(cython.double, 0.1)  # the coarse grid's dead-time step (s), from 0
ID_D_N = cython.declare(cython.int, 21)  # 0 .. 2 s
ID_TAU_N = cython.declare(cython.int, 14)  # tau: 0.1 .. 4 s, geometric
ID_RAMP_N = cython.declare(cython.int, 9)  # ramp: none, then 20 .. 1 kW/s, geometric
ID_WINDOW_N = cython.declare(cython.int, 2)  # the meter: a sample of the instant, or the
# mean of the second before it
ID_DELAY_STEP = cython.declare(cython.double, 0.05)  # the meter's delay grid (s), from 0
ID_DELAY_N = cython.declare(cython.int, 21)  # 0 .. 1 s
# the bounds of a fitted model, the config's own (controller/config/_schema.py): nothing
# outside them is taken, whatever the records (review R13: with write replies lost, a fit
# ran to tau 55 s)
ID_D_MAX = cython.declare(cython.double, 2.0)  # dead time (s)
ID_TAU_MIN = cython.declare(cython.double, 0.05)  # tau (s)
ID_TAU_MAX = cython.declare(cython.double, 10.0)
ID_DELAY_MAX = cython.declare(cython.double, 1.0)  # the meter's delay (s)
ID_HUBER_W = cython.declare(cython.double, 30.0)  # residuals beyond this count linearly (W)
ID_MOVING_W = cython.declare(cython.double, 100.0)  # a reading pair says something beyond
ID_MIN_INTERVALS = cython.declare(cython.int, 10)  # fewer: no fit
ID_GAIN_HOLD = cython.declare(cython.int, 3)  # cycles a command holds before a settled look
ID_GAIN_SAMPLES = cython.declare(cython.int, 16)  # the size of _settled_gain's sample
ID_GAIN_MIN = cython.declare(cython.int, 5)
ID_MAX_INTERVALS = cython.declare(cython.int, 160)  # the most recent of them are used
ID_AVG_POINTS = cython.declare(cython.int, 8)  # an averaging window's mean: midpoint rule
ID_LOOKBACK_S = cython.declare(cython.double, 3.2)  # the longest dead time and a period
ID_METER_TRUST = cython.declare(cython.double, 5.0)  # the meter's mean cost / ID_HUBER_W
ID_REFIT = cython.declare(cython.int, 60)  # telling cycles between fits once fitted
ID_REFIT_S = cython.declare(cython.double, 600.0)  # and seconds
ID_METER_MOVE_W = cython.declare(cython.double, 200.0)  # a charger move the meter judges by
# another meter model must explain the grid's moves at most this share as badly as the
# starting one, or the start is kept
ID_METER_GAIN = cython.declare(cython.double, 0.75)


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def _settled_gain(n: cython.int, sp_w: cython.double[:], use: cython.double[:],
                  ev_w: cython.double[:], min_w: cython.double) -> cython.double:
    """The reading's gain where the charger says it most plainly: reported / commanded
    power where one command of 1 kW or more held ID_GAIN_HOLD cycles and the reading
    stood still; the median of the last ID_GAIN_SAMPLES, NaN under ID_GAIN_MIN (fitted)."""
    r: cython.double[16] = [0.0] * 16  # ID_GAIN_SAMPLES, sorted as they come
    m: cython.int = 0
    k: cython.int = n - 1
    j: cython.int
    while k >= ID_GAIN_HOLD and m < ID_GAIN_SAMPLES:
        sp: cython.double = sp_w[k]
        ok: cython.bint = (use[k] > 0.0 and use[k - 1] > 0.0
                           and fabs(sp) >= min_w
                           and fabs(ev_w[k] - ev_w[k - 1])
                           <= 0.005 * fabs(ev_w[k]) + 5.0)
        j = k - ID_GAIN_HOLD
        while ok and j < k:
            if not (fabs(sp_w[j] - sp) < 0.5):  # NaN (no write) holds nothing
                ok = False
            j += 1
        if ok:
            q: cython.double = ev_w[k] / sp
            if 0.9 <= q <= 1.1:
                j = m  # insertion into the sorted sample
                while j > 0 and r[j - 1] > q:
                    r[j] = r[j - 1]
                    j -= 1
                r[j] = q
                m += 1
        k -= 1
    if m < ID_GAIN_MIN:
        return NAN
    return r[m // 2] if m % 2 == 1 else 0.5 * (r[m // 2 - 1] + r[m // 2])


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _advance(p: cython.double, target: cython.double, dt: cython.double, tau: cython.double,
             ramp: cython.double, memo: cython.bint) -> cython.double:
    """The charger's power (W) dt s on from p, heading for target: at `ramp` W/s while
    farther than ramp * tau from it, then as a first-order lag with time constant tau."""
    e: cython.double = target - p
    a: cython.double = fabs(e)
    band: cython.double = ramp * tau
    if a > band:
        t_lin: cython.double = (a - band) / ramp
        if dt <= t_lin:
            return p + (ramp * dt if e > 0.0 else -ramp * dt)
        p = target - (band if e > 0.0 else -band)
        dt -= t_lin
    x: cython.double = -dt / tau
    return target - (target - p) * (_exp_memo(x) if memo else exp(x))


# exp() of the lag's exponent, remembered. The batch runner decides on whole seconds and the
# meter's delay is a fixed fraction of one, so the step's trace-back asks for the same two or
# three exponents second after second (a year at 1 s: some 60 M calls of exp, a third of the
# simulated year's time). A value is returned only for the very argument it was computed
# from: the result is exp's to the bit. The live loop's times never repeat and always miss.
# Only the step's path uses it (it holds the GIL); the fit, in a worker thread, does not
_memo_x0 = cython.declare(cython.double, 0.0)
_memo_e0 = cython.declare(cython.double, 1.0)
_memo_x1 = cython.declare(cython.double, 0.0)
_memo_e1 = cython.declare(cython.double, 1.0)


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _exp_memo(x: cython.double) -> cython.double:
    """exp(x), from the last two arguments' values where x is one of them (a hit moves
    nothing: the step asks for two exponents in turn)."""
    global _memo_x0, _memo_e0, _memo_x1, _memo_e1
    if x == _memo_x0:
        return _memo_e0
    if x == _memo_x1:
        return _memo_e1
    _memo_x1 = _memo_x0
    _memo_e1 = _memo_e0
    _memo_x0 = x
    _memo_e0 = exp(x)
    return _memo_e0


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _id_tau(i: cython.int) -> cython.double:
    """The coarse grid's i-th time constant (s): 0.1 .. 4, geometric."""
    return 0.1 * pow(40.0, i / (ID_TAU_N - 1.0))


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _id_ramp(i: cython.int) -> cython.double:
    """The coarse grid's i-th ramp (W/s): none (infinite), then 20 .. 1 kW/s, geometric."""
    if i == 0:
        return INF
    return 20000.0 * pow(0.05, (i - 1) / (ID_RAMP_N - 2.0))


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _huber(r: cython.double) -> cython.double:
    a: cython.double = fabs(r)
    return a * a / (2.0 * ID_HUBER_W) if a <= ID_HUBER_W else a - 0.5 * ID_HUBER_W
