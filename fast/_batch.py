"""The batch runner: a policy on the plant over a stretch of seconds, no Python call per
second; and the step's timing loop for `make bench`.

Per second: what the controller reads, the policy's setpoint, the plant's second (_plant.py:
the write, then the physics), the judge. Contents: `run_batch` and its parts (`_start`,
`_fill_measurement`, `_setpoint`, `_judge_setpoint`, `_judge_second`, `_over`, `_fold`);
`bench_steps`.
"""

import cython
from cython.cimports.libc.math import fabs, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._plant import Plant, _last_cmd, _prepare, _second
from cython.cimports.fast._policies import EvccState, _evcc, _none, _oracle_second
from cython.cimports.fast._rng import _noise
from cython.cimports.fast._step import _step
from cython.cimports.fast._supervisor import _decide
from cython.cimports.fast._types import (
    F_CAR, F_CHARGER_ERROR, F_CHARGER_LOST, F_CHARGER_STUCK, F_GRID_DOWN, M_REGULATING, MAX_ABS_W,
    METER_BAD, NAN, P_EVCC, P_NONE, P_ORACLE_METER, P_V2H, CtlState, Limits, Measurement, Plan,
    Sums, Totals, _since)
# isort: on


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _fill_measurement(m: Measurement, pl: Plant, t: cython.double, flags: cython.int
                      ) -> cython.void:
    """What the controller reads at time t: the meter's last sample and the charger's state."""
    m.t = pl.s_t
    m.p1 = pl.s_p1
    m.p2 = pl.s_p2
    m.p3 = pl.s_p3
    m.grid_w = pl.s_p1 + pl.s_p2 + pl.s_p3
    m.v1 = pl.s_v
    m.v2 = pl.s_v
    m.v3 = pl.s_v
    m.freq = pl.s_f
    if not (flags & F_CHARGER_LOST):
        m.ev_t = t
        m.ev_w = pl.p * pl.meas_gain + 2.0 * pl.ev_noise if pl.p != 0.0 else 0.0
        m.car_present = (flags & F_CAR) != 0
        m.charger_ready = (flags & F_CHARGER_ERROR) == 0
        # the charger reports SoC in whole percent, 0 without a car
        m.soc = float(cython.cast(cython.long, pl.soc_wh * pl.pct_per_wh)) if m.car_present \
            else 0.0
        if pl.soc_zero_idle and pl.p == 0.0:
            m.soc = 0.0


@cython.boundscheck(False)
@cython.wraparound(False)
def run_batch(policy: cython.int, l1: cython.double[:], l2: cython.double[:],
              l3: cython.double[:], pv: cython.double[:], flags: cython.uchar[:],
              pl: Plant, lim: Limits, plan: Plan, st: CtlState, ev: EvccState, tot: Totals,
              t0: cython.double, trace: cython.double[:], facts: cython.double[:] = None):
    """Run `policy` on the plant for len(pv) seconds from t0; state objects carry on.

    The per-second inputs are the house load per phase (W) and PV (W); `flags` holds the
    scenario's events. `trace` (len 0, or 6 per second) receives grid (W, mean over the
    second), setpoint (W), charger power (W), SoC (%), mode and reasons. `facts` (None, or
    5 per second) receives what the live loop gives the identifier (`Ident.record`) each
    cycle: the time (s), the charger's power as read (W, NaN unread), the command written
    (W, NaN when none was), 1 while the step regulated (else 0), and the grid as the meter
    read (W)."""
    n: cython.Py_ssize_t = len(pv)
    k: cython.Py_ssize_t
    _prepare(pl)
    m: Measurement = Measurement()
    mf: Measurement = Measurement()  # what the grid watch sees at a sub-step
    s: Sums = _start(pl, tot)
    do_trace: cython.bint = len(trace) >= 6 * n
    do_facts: cython.bint = facts is not None and len(facts) >= 5 * n
    # the plant's meter publishes once a second, and the batch looks at it once a second
    # where nothing is amiss (the live loop's watch looks ten times a second): a 1-s gap in
    # the grid's record is its pace, not a spell unseen (restored at the end)
    interval: cython.double = lim.meter_interval_s
    lim.meter_interval_s = max(interval, 1.0)
    reserve_wh: cython.double = tot.reserve_soc * pl.cap_wh / 100.0
    # per sub-step and per volt (W -> A): the same every second of the batch
    inv_n: cython.double = 1.0 / pl.n_sub
    inv_v: cython.double = 1.0 / tot.nominal_v
    for k in range(n):
        t: cython.double = t0 + k
        fl: cython.int = flags[k]
        pvk: cython.double = pv[k]
        _fill_measurement(m, pl, t, fl)
        sp: cython.double
        if policy == P_ORACLE_METER:
            sp = _setpoint(policy, m, st, ev, lim, plan, pl, tot, t, fl,
                           _seen(pl, l1[k], pl.seen1, pl.seen1_b),
                           _seen(pl, l2[k], pl.seen2, pl.seen2_b),
                           _seen(pl, l3[k], pl.seen3, pl.seen3_b),
                           _seen(pl, pvk, pl.seen_pv, pl.seen_pv_b), s.cmd)
            pl.seen1_b = pl.seen1
            pl.seen2_b = pl.seen2
            pl.seen3_b = pl.seen3
            pl.seen_pv_b = pl.seen_pv
            pl.seen1 = l1[k]
            pl.seen2 = l2[k]
            pl.seen3 = l3[k]
            pl.seen_pv = pvk
        else:
            sp = _setpoint(policy, m, st, ev, lim, plan, pl, tot, t, fl, l1[k], l2[k], l3[k],
                           pvk, s.cmd)
        # written to the charger as the plant's second begins (_plant._send), unless it is
        # stuck (hears, ignores) or lost (hears nothing)
        wrote: cython.bint = (fl & (F_CHARGER_STUCK | F_CHARGER_LOST)) == 0
        s.cmd = sp
        if do_facts:
            facts[5 * k] = t
            facts[5 * k + 1] = NAN if fl & F_CHARGER_LOST else m.ev_w
            facts[5 * k + 2] = sp if wrote else NAN
            facts[5 * k + 3] = 1.0 if st.mode == M_REGULATING and m.car_present else 0.0
            facts[5 * k + 4] = m.grid_w
        _judge_setpoint(tot, lim, m, sp, t, fl)
        b1: cython.double = l1[k] - pvk * pl.pv_share1
        b2: cython.double = l2[k] - pvk * pl.pv_share2
        b3: cython.double = l3[k] - pvk * pl.pv_share3
        # the grid watch runs on the sub-steps of a second where it may act (grid down, meter
        # faulted), as the live loop's watch does between its cycles
        watch: cython.bint = policy == P_V2H and (fl & (F_GRID_DOWN | METER_BAD)) != 0
        s.sp = sp
        _second(pl, tot, s, st, lim, m, mf, t, fl, watch, b1, b2, b3, reserve_wh)
        _judge_second(tot, s, pl, b1, b2, b3, inv_n, inv_v)
        tot.load_wh += (l1[k] + l2[k] + l3[k]) * (1.0 / 3600.0)
        tot.pv_wh += pvk * (1.0 / 3600.0)
        if do_trace:
            trace[6 * k] = s.gsum * inv_n
            trace[6 * k + 1] = s.sp
            trace[6 * k + 2] = pl.p
            trace[6 * k + 3] = pl.soc_wh / pl.cap_wh * 100.0
            trace[6 * k + 4] = st.mode
            trace[6 * k + 5] = st.reasons
    _fold(tot, s, pl.h / 3600.0)
    lim.meter_interval_s = interval


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _seen(pl: Plant, now: cython.double, last: cython.double, before: cython.double
          ) -> cython.double:
    """A house's power (W) as the meter's sample read at the start of this second shows it
    (the oracle-meter's knowledge): the plant's meter samples late in the last second, the
    instant or (averaging) the second up to it, which takes the tail of the one before.
    The input of the second itself where no second came before (a run's start)."""
    if isnan(last):
        return now
    if not pl.meter_avg or isnan(before):
        return last
    a: cython.double = pl.meter_lat_n / cython.cast(cython.double, pl.n_sub)
    return a * before + (1.0 - a) * last


@cython.cfunc
@cython.inline
def _start(pl: Plant, tot: Totals) -> Sums:
    """The sums of a batch: zero, but for what Totals carries on from the last batch."""
    s: Sums = Sums()
    s.cmd = _last_cmd(pl)  # the last command sent (W)
    s.max_exp = tot.max_export_w
    s.max_a = tot.max_phase_a * tot.nominal_v
    s.o1 = tot.over1
    s.o2 = tot.over2
    s.o3 = tot.over3
    return s


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _fold(tot: Totals, s: Sums, wh: cython.double) -> cython.void:
    """The batch's sums into tot; wh: Wh per W over one sub-step."""
    tot.import_wh += s.imp * wh
    tot.export_wh += s.exp_ * wh
    tot.ev_charge_wh += s.chg * wh
    tot.ev_discharge_wh += s.dis * wh
    tot.max_export_w = s.max_exp
    tot.max_phase_a = s.max_a * (1.0 / tot.nominal_v)
    tot.over1 = s.o1
    tot.over2 = s.o2
    tot.over3 = s.o3


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _setpoint(policy: cython.int, m: Measurement, st: CtlState, ev: EvccState, lim: Limits,
              plan: Plan, pl: Plant, tot: Totals, t: cython.double, fl: cython.int,
              ld1: cython.double, ld2: cython.double, ld3: cython.double, pvk: cython.double,
              cmd: cython.double) -> cython.double:
    """This second's setpoint (W) by `policy`, from what it reads (m); cmd: the last one."""
    if policy == P_V2H:
        return _decide(m, st, lim, plan, t, cmd, True)
    if policy == P_EVCC:
        return _evcc(ev, m, lim, t)
    if policy == P_NONE:
        return _none(m, lim)
    # the oracle: true load, PV and SoC, no delay, no measurement error (the oracle-meter:
    # the load and PV as the meter's last sample showed them, run_batch's `_seen`)
    return _oracle_second(m, st, lim, plan, pl, t, fl, ld1, ld2, ld3, pvk, tot.nominal_v)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _judge_setpoint(tot: Totals, lim: Limits, m: Measurement, sp: cython.double,
                    t: cython.double, fl: cython.int) -> cython.void:
    """The judge, per second: the setpoint (W) within the charger's limits, and never a
    non-zero setpoint on meter data older than the stale budget or plainly invalid; and
    since when the grid is down."""
    if (sp > lim.max_charge_w + 0.5 or sp < -lim.max_discharge_w - 0.5
            or (sp != 0.0 and fabs(sp) < lim.min_power_w - 0.5)):
        tot.v_limits += 1
    if sp != 0.0 and (not (fabs(m.grid_w) <= MAX_ABS_W)
                      or t - tot.bad_meter_since > tot.stale_budget_s):
        tot.v_stale += 1
    tot.down_since = _since(tot.down_since, (fl & F_GRID_DOWN) != 0, t)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _judge_second(tot: Totals, s: Sums, pl: Plant, b1: cython.double, b2: cython.double,
                  b3: cython.double, inv_n: cython.double, inv_v: cython.double) -> cython.void:
    """The judge after the plant's second: the fuse by the mean phase current over the
    second (a fuse is thermal), and only on phases the charger is on (elsewhere it adds
    nothing); the grid and reserve seconds the plant's second found. inv_n, inv_v: 1 / n_sub,
    1 / nominal_v."""
    pm: cython.double = s.psum * inv_n
    fuse: cython.double = tot.fuse_a
    if pl.ev_share1 > 0.0:
        s.o1 = _over(s.o1, (b1 + pm * pl.ev_share1) * inv_v, pm, fuse, 1.0)
        s.max_a = max(s.max_a, fabs(b1 + pm * pl.ev_share1))
    if pl.ev_share2 > 0.0:
        s.o2 = _over(s.o2, (b2 + pm * pl.ev_share2) * inv_v, pm, fuse, 1.0)
        s.max_a = max(s.max_a, fabs(b2 + pm * pl.ev_share2))
    if pl.ev_share3 > 0.0:
        s.o3 = _over(s.o3, (b3 + pm * pl.ev_share3) * inv_v, pm, fuse, 1.0)
        s.max_a = max(s.max_a, fabs(b3 + pm * pl.ev_share3))
    grace: cython.double = tot.fuse_grace_s
    if s.o1 > grace or s.o2 > grace or s.o3 > grace:
        tot.v_fuse += 1
    tot.seconds += 1
    if s.viol_grid:
        tot.v_grid += 1
    if s.viol_res:
        tot.v_reserve += 1


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _over(over: cython.double, i: cython.double, ev_i: cython.double, fuse: cython.double,
          h: cython.double) -> cython.double:
    """Seconds a phase has been over the fuse with the charger adding to it (else 0)."""
    if fabs(i) > fuse and i * ev_i > 0.0:
        return over + h
    return 0.0


# --- a timing loop for `make bench`: the step alone, with a varying reading ----------------

def bench_steps(n: cython.long, seed: cython.ulonglong) -> cython.double:
    """Run the step n times on readings that wander (W), as the live loop would see them;
    returns a checksum of the setpoints so no compiler can skip the work."""
    pl: Plant = Plant(seed=seed)
    m: Measurement = Measurement()
    st: CtlState = CtlState(mode=M_REGULATING, grid_ok=True)
    lim: Limits = Limits()
    plan: Plan = Plan()
    acc: cython.double = 0.0
    k: cython.long
    net: cython.double = -2000.0
    for k in range(n):
        net += _noise(pl.rng, 300.0)
        if net > 6000.0 or net < -6000.0:
            net = 0.0
        m.t = k
        m.ev_t = k
        m.ev_w = st.last_sp
        m.grid_w = net + m.ev_w
        m.p1 = m.grid_w * 0.5
        m.p2 = m.grid_w * 0.25
        m.p3 = m.grid_w * 0.25
        m.soc = 60.0
        acc += _step(m, st, lim, plan, k)
    return acc
