"""A demand that repeats (a hob, an oven's element switching every 2-10 cycles, faster than
the loop can follow), met in phase: `_track_periodic` keeps the house's demand on the car
over the last cycles in `CtlState.hist`, finds a steady period in it, and gives the step
the demand one period back at the time a command written now shows at the meter
(firmware_notes/regulation.md, "A demand that repeats is met in phase").
"""

import cython
from cython.cimports.libc.math import atan, fabs, floor, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._types import INF, NAN, CtlState, Limits
# isort: on

if not cython.compiled:  # compiled, C constants (the loops' counts known): _pulse.pxd's enum
    PULSE_N = 32  # the demand's history kept (cycles), a ring
    PULSE_MASK = 31
    PULSE_LOOK = 12  # cycles its swing is judged over
    PULSE_PAIRS = 10  # pairs one period apart compared
    PULSE_P_MAX = 10  # the longest period looked for (cycles)
    PULSE_CONFIRM = 3
PULSE_SPREAD_W = cython.declare(cython.double, 300.0)  # a swing below this is no pulsing
PULSE_MATCH = cython.declare(cython.double, 0.3)  # one period back: within this share
PULSE_FUNDAMENTAL = cython.declare(cython.double, 0.1)
TWO_PI = cython.declare(cython.double, 6.283185307179586)
# a pulsing's edges move the demand by its swing once or twice a period: the mean change per
# cycle (weight 0.1: some ten cycles) of a 2-kW pulse every 10 cycles is some 400 W, of a
# steady house's noise some 20 W; below PULSE_DN_W nothing more is looked at
PULSE_DN_RATE = cython.declare(cython.double, 0.1)
PULSE_DN_W = cython.declare(cython.double, 100.0)
# a pattern of two cycles (`_alternating`): each of its three choices is tried ALT_TRY
# cycles after ALT_SETTLE more (the charger's dead time and lag, the meter's delay: the
# cycles a write takes to show), and the model's own is kept unless another left the error
# swinging less than ALT_BETTER of it
ALT_SETTLE = cython.declare(cython.int, 4)
ALT_TRY = cython.declare(cython.int, 12)
ALT_BETTER = cython.declare(cython.double, 0.9)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _hist(st: CtlState, j: cython.int) -> cython.double:
    """The demand (W) j cycles before the newest kept (0 <= j < PULSE_N; hist_k is the
    ring's next slot)."""
    return st.hist[(st.hist_k + PULSE_N - 1 - j) & PULSE_MASK]


@cython.cfunc
@cython.exceptval(check=False)
def _track_periodic(st: CtlState, lim: Limits, net: cython.double, e: cython.double
                    ) -> cython.double:
    """The feed-forward (W) for a demand that repeats (a hob, an oven's element pulsing
    every 2-10 cycles, faster than the loop can follow): what the next cycle will most
    likely bring, not the last sample. The demand one period back (the period found by
    comparing the last cycles with those a period before) is taken at the time the
    command now written shows at the meter: half a period of holding, the charger's dead
    time and the phase lag of its time constant at the pulsing's frequency, the meter's
    delay and half its window (the model, identified or the config's). NaN when the
    demand does not repeat (the chase's feed-forward then, `_track_chase`)."""
    if isnan(net):
        st.hist_n = 0
        st.per_n = 0
        st.alt_pick = -1
        return NAN
    if st.hist_n > 0:  # the demand's mean change per cycle: a steady house spends no more
        st.pulse_dn += PULSE_DN_RATE * (fabs(net - _hist(st, 0)) - st.pulse_dn)
    else:
        st.pulse_dn = 0.0
    st.hist[st.hist_k] = net
    st.hist_k = (st.hist_k + 1) & PULSE_MASK
    if st.hist_n < PULSE_N:
        st.hist_n += 1
    if st.hist_n < PULSE_PAIRS + PULSE_P_MAX or not st.pulse_dn > PULSE_DN_W:
        st.per_n = 0
        return NAN
    if st.per_n == 0 and (st.hist_k & 1) != 0:
        return NAN  # no period in sight: looked for every other cycle (half the cost)
    return _periodic(st, lim, e)


@cython.cfunc
@cython.exceptval(check=False)
def _periodic(st: CtlState, lim: Limits, e: cython.double) -> cython.double:
    """`_track_periodic`'s look for a period in the demand kept, past its gates (declared in
    _pulse.pxd, so that the C compiler keeps it out of line and the gates' path, most
    cycles, saves no registers)."""
    j: cython.int
    mean: cython.double = 0.0
    for j in range(PULSE_LOOK):
        mean += _hist(st, j)
    mean /= PULSE_LOOK
    spread: cython.double = 0.0
    for j in range(PULSE_LOOK):
        spread += fabs(_hist(st, j) - mean)
    spread /= PULSE_LOOK
    if not spread > PULSE_SPREAD_W:
        st.per_n = 0
        return NAN
    amdf: cython.double[11] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    lo: cython.double = INF
    p: cython.int
    # a period whose mismatch passes (PULSE_MATCH + PULSE_FUNDAMENTAL) of the swing can be
    # neither the best nor the fundamental: its sum stops there (INF), which spares a house
    # that swings at no pace (most of them) all but a few of the comparisons
    give_up: cython.double = (PULSE_MATCH + PULSE_FUNDAMENTAL) * spread * PULSE_PAIRS
    for p in range(2, PULSE_P_MAX + 1):
        acc: cython.double = 0.0
        for j in range(PULSE_PAIRS):
            acc += fabs(_hist(st, j) - _hist(st, j + p))
            if acc > give_up:
                break
        amdf[p] = acc / PULSE_PAIRS if acc <= give_up else INF
        lo = min(lo, amdf[p])
    if not lo < PULSE_MATCH * spread:
        st.per_n = 0
        return NAN
    per: cython.int = 2  # the fundamental: the shortest period that fits about as well
    while amdf[per] > lo + PULSE_FUNDAMENTAL * spread:
        per += 1
    # the same period found PULSE_CONFIRM cycles running: a switching at no steady pace
    # matches some period now and then, by chance
    st.per_n = st.per_n + 1 if per == st.per_p else 1
    st.per_p = per
    if st.per_n < PULSE_CONFIRM:
        return NAN
    w: cython.double = TWO_PI / (per * lim.period_s)
    ahead: cython.double = (0.5 * lim.period_s + lim.charger_dead_s
                            + atan(w * lim.charger_tau_s) / w + lim.meter_delay_s
                            + 0.5 * lim.meter_window_s)
    a: cython.int = max(1, cython.cast(cython.int, floor(ahead / lim.period_s + 0.5)))
    if per == 2:
        if lim.model_known != 0.0 and lim.charger_dead_s + lim.charger_tau_s >= lim.period_s:
            return _alternating(st, a, e)
        st.alt_pick = -1  # (another period now and then leaves the choice made standing)
    k: cython.int = (a + per - 1) // per
    return _hist(st, k * per - a)


@cython.cfunc
@cython.exceptval(check=False)
def _alternating(st: CtlState, a: cython.int, e: cython.double) -> cython.double:
    """A demand repeating every two cycles (a hob 1 s on, 1 s off at the 1-s loop): the
    newest sample or the one before, by the model's `a` cycles ahead, or the demand's mean
    (NaN: the chase's, which holds it). At two cycles `ahead`, rounded to whole cycles,
    errs by up to half a period (90 degrees), and it rests on the meter's model, which a
    pulsing house does not let the fit tell (an averaging meter stands as the configured
    plain one 0.25 s late). The samples show which choice leaves the grid swinging least:
    the other choice, the mean, then the model's, each tried ALT_TRY cycles; the model's
    is kept unless another's swing (half the error's change per cycle) is under
    ALT_BETTER of its own. Tried again when the model's choice changes (a refit).

    Only where the charger's response to a write (dead time and time constant) spans a
    cycle or more: a charger that settles within the cycle is caught by the sample in its
    move, and the sample's swing no longer tells the cycle's mean (a plain meter 0.1 s
    late, dead 0.2-0.5 s, tau 0.4 s: samples swinging 1575 W with the model's choice where
    the mean |grid| is 447 W, 1058 W holding the mean where it is 989 W).

    st.alt_pick: the model's choice (0 the newest, 1 the one before) x 64 + the best so far
    x 8 + the stage (0 the other choice, 1 the mean, 2 the model's: tried; 3 decided)."""
    par: cython.int = a & 1
    if st.alt_pick < 0 or (st.alt_pick >> 6) != par:
        st.alt_pick = par << 6
        st.alt_n = 0
        st.alt_e = 0.0
        st.alt_d = INF
    stage: cython.int = st.alt_pick & 7
    best: cython.int = (st.alt_pick >> 3) & 7
    x: cython.double = 0.5 * fabs(e - st.alt_pe)
    st.alt_pe = e
    st.alt_n += 1
    if stage < 3 and st.alt_n > ALT_SETTLE:
        st.alt_e += x
        if st.alt_n >= ALT_SETTLE + ALT_TRY:
            if stage < 2 and st.alt_e < st.alt_d:
                st.alt_d = st.alt_e
                best = stage
            elif stage == 2 and not st.alt_d < ALT_BETTER * st.alt_e:
                best = 2
            stage += 1
            st.alt_n = 0
            st.alt_e = 0.0
            st.alt_pick = (par << 6) | (best << 3) | stage
    c: cython.int = stage if stage < 3 else best
    if c == 1:
        return NAN
    return _hist(st, par if c == 2 else 1 - par)
