"""The plant: the simulated charger, car and meter, and everything that runs once per
sub-step of the batch runner (firmware_notes/design.md "The plant").

The sub-step loop and the physics it calls stay in this module: no call in it leaves the
module but the grid watch's, on the seconds it looks (grid down, meter faulted). Contents:
`Plant` (`tick` etc. for the HIL bench; its random numbers are `_rng.py`'s); the charger
(`_write`, `_last_cmd`, `_charger_retarget`, `_charger_move`); the meter (`_meter_tick`,
`_sample_meter`, `_avg_tick`, `_meter_at`); the second (`_second`, `_send`, `_settled`,
`_substeps`) and its grid watch (`_watch`, `_watch_sample`, `_late_on_loss`).
"""

import cython
from cython.cimports.libc.math import exp, fabs, floor, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._rng import Rng, _next, _noise, _rand
from cython.cimports.fast._step import _stop
from cython.cimports.fast._supervisor import _fast_path
from cython.cimports.fast._types import (
    F_CAR, F_CHARGER_ERROR, F_CHARGER_LOST, F_CHARGER_STUCK, F_GRID_DOWN, F_METER_FROZEN,
    F_METER_GARBAGE, F_METER_SILENT, METER_BAD, NAN, R_SUPERVISOR, CtlState, Limits, Measurement,
    Sums, Totals, _clip, _since)
# isort: on

# a charger within this of its target (W) has settled (its own regulation is coarser)
SETTLED_W = cython.declare(cython.double, 0.5)
# tells the dead-time jitter's stream from the noise's of the same seed (the first 64 bits
# of the fraction of sqrt(2): any constant far from the noise's salt would do)
_JITTER_SALT = 0x6A09E667F3BCC909


@cython.cclass
class Plant:
    """The simulated DC charger, car and meter; powers in W, energies in Wh, times in s."""

    def __init__(self, seed=1, soc_pct=50.0, **kw):
        self.n_sub = 4
        self.meter_lat_n = 1
        self.meter_noise_w = 4.0
        self.dead_s = 0.5
        self.tau_s = 0.7
        self.ramp_w_s = 5000.0
        self.min_w = 150.0
        self.max_chg_w = 7400.0
        self.max_dis_w = 7400.0
        self.eff = 0.93
        self.meas_gain = 1.02
        self.anti_islanding = False
        self.watchdog_s = 10.0
        self.cap_wh = 60000.0
        self.car_min_soc = 5.0
        self.soc_zero_idle = False  # a charger that reports SoC 0 while no power flows
        self.dead_jitter_s = 0.0  # each write's dead time: dead_s + uniform [0, jitter)
        self.meter_avg = False  # the meter reports the mean of the second before its sample
        self.pv_share1 = 1.0 / 3.0
        self.pv_share2 = 1.0 / 3.0
        self.pv_share3 = 1.0 / 3.0
        self.ev_share1 = 1.0
        self.ev_share2 = 0.0
        self.ev_share3 = 0.0
        for k, v in kw.items():
            setattr(self, k, v)
        self.soc_wh = self.cap_wh * soc_pct / 100.0
        # the charger's power (W) and the command acting on it; a command in flight (its
        # dead time not yet past) and a second one (a dead time longer than the write
        # period): first in, first acted on
        self.p = self.cmd_act = self.cmd_pend = self.cmd_pend2 = 0.0
        self.pend_t = self.pend_wt = self.pend_t2 = self.pend_wt2 = float("nan")
        # the averaging meter: the phase powers summed over this second's sub-steps up to
        # its sample (W x sub-steps), and the tail of the last second after it
        self.acc1 = self.acc2 = self.acc3 = 0.0
        self.tail1, self.tail2, self.tail3 = float("nan"), 0.0, 0.0
        self.last_comm_t = 0.0
        # the house (load per phase, PV; W) as the last second and the one before it were,
        # for the oracle that knows it only as the meter's sample shows it (_batch._seen)
        self.seen1 = self.seen2 = self.seen3 = self.seen_pv = float("nan")
        self.seen1_b = self.seen2_b = self.seen3_b = self.seen_pv_b = float("nan")
        self.rng = Rng(seed, 12345)  # the meter's and the charger's reading noise
        # the dead-time jitter's own stream: how many noise draws a run takes (a watch, a
        # meter's fault, the HIL bench's reads) moves no charger's dead time
        self.jitter_rng = Rng(seed, _JITTER_SALT)
        # the meter's last sample (what a read returns) and its time
        self.s_t = -1.0e9
        self.s_p1 = self.s_p2 = self.s_p3 = 0.0
        self.s_v, self.s_f = 230.0, 50.0
        self.ev_noise = 0.0
        # tick's phase powers at the meter (W) and energy counters (Wh)
        self.g1 = self.g2 = self.g3 = 0.0
        self.imp_wh = self.exp_wh = self.chg_wh = self.dis_wh = 0.0

    @property
    def soc_pct(self):
        return self.soc_wh / self.cap_wh * 100.0

    def tick(self, t, flags, l1, l2, l3, pv):
        """One sub-step (1 / n_sub s) from time t, in real time on the HIL bench: the
        charger moves, the phase powers at the meter (g1..g3, W) and the meter's and the
        charger's energy counters (Wh) follow. The same physics as the batch runner."""
        _prepare(self)
        _charger_retarget(self, t, flags)
        _charger_move(self)
        self.g1 = l1 + self.p * self.ev_share1 - pv * self.pv_share1
        self.g2 = l2 + self.p * self.ev_share2 - pv * self.pv_share2
        self.g3 = l3 + self.p * self.ev_share3 - pv * self.pv_share3
        g = self.g1 + self.g2 + self.g3
        wh = self.h / 3600.0
        self.imp_wh += max(g, 0.0) * wh
        self.exp_wh += max(-g, 0.0) * wh
        self.chg_wh += max(self.p, 0.0) * wh
        self.dis_wh += max(-self.p, 0.0) * wh

    def write(self, sp, t):
        """A setpoint (W) reaches the charger at time t (s); it acts after the dead time."""
        _write(self, sp, t)

    def heard(self, t):
        """Any traffic reached the charger at time t: its watchdog starts again."""
        self.last_comm_t = t

    def noise(self, a):
        """Uniform noise in [-a, a) from the plant's own generator (seeded)."""
        return _noise(self.rng, a)


@cython.cfunc
@cython.exceptval(check=False)
def _prepare(pl: Plant) -> cython.void:
    pl.h = 1.0 / pl.n_sub
    pl.alpha = 1.0 - exp(-pl.h / pl.tau_s)
    pl.ramp_h = pl.ramp_w_s * pl.h
    pl.k_chg = pl.eff * pl.h / 3600.0
    pl.k_dis = pl.h / (pl.eff * 3600.0)
    pl.min_wh = pl.cap_wh * pl.car_min_soc / 100.0
    pl.pct_per_wh = 100.0 / pl.cap_wh


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _write(pl: Plant, sp: cython.double, t: cython.double) -> cython.void:
    """A setpoint reaches the charger at time t; it acts after the dead time."""
    d: cython.double = pl.dead_s
    if pl.dead_jitter_s > 0.0:
        d += _rand(pl.jitter_rng) * pl.dead_jitter_s
    pl.last_comm_t = t
    # a command written a period or more ago and still in flight (a dead time longer than
    # the period) acts first and this one queues behind it; one written within the period
    # (the grid watch's stop after the cycle's write) is superseded
    if not isnan(pl.pend_t2) or (not isnan(pl.pend_t) and t - pl.pend_wt >= 0.9):
        pl.cmd_pend2 = sp
        pl.pend_t2 = max(t + d, pl.pend_t)
        pl.pend_wt2 = t
        return
    pl.cmd_pend = sp
    pl.pend_t = t + d
    pl.pend_wt = t


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _last_cmd(pl: Plant) -> cython.double:
    """The setpoint most recently written to the charger (W), acting or still pending."""
    if not isnan(pl.pend_t2):
        return pl.cmd_pend2
    return pl.cmd_act if isnan(pl.pend_t) else pl.cmd_pend


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _charger_retarget(pl: Plant, t: cython.double, flags: cython.int) -> cython.void:
    """At time t: act on a command whose dead time has passed, apply the charger's own
    watchdog and the car's and charger's own limits, and set the power it heads for."""
    if pl.pend_t <= t + 1e-9:  # False while nothing is pending (NaN)
        pl.cmd_act = pl.cmd_pend
        pl.pend_t = NAN
        if not isnan(pl.pend_t2):  # the queued one is next
            pl.cmd_pend = pl.cmd_pend2
            pl.pend_t = pl.pend_t2
            pl.pend_wt = pl.pend_wt2
            pl.pend_t2 = NAN
            if pl.pend_t <= t + 1e-9:
                pl.cmd_act = pl.cmd_pend
                pl.pend_t = NAN
    if t - pl.last_comm_t > pl.watchdog_s:  # its own watchdog: no traffic, no power
        pl.cmd_act = 0.0
        pl.pend_t = pl.pend_t2 = NAN
    if not (flags & F_CAR):
        pl.p = pl.cmd_act = pl.tgt = 0.0
        pl.pend_t = pl.pend_t2 = NAN
        return
    tgt: cython.double = _clip(pl.cmd_act, -pl.max_dis_w, pl.max_chg_w)
    if fabs(tgt) < pl.min_w:
        tgt = 0.0
    if (tgt > 0.0 and pl.soc_wh >= pl.cap_wh) or (tgt < 0.0 and pl.soc_wh <= pl.min_wh):
        tgt = 0.0
    if flags & F_CHARGER_ERROR:
        tgt = 0.0
    if (flags & F_GRID_DOWN) and pl.anti_islanding:
        tgt = 0.0
    pl.tgt = tgt


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _charger_move(pl: Plant) -> cython.void:
    """One sub-step (pl.h s) of the charger toward pl.tgt: first-order lag and ramp limit;
    the car's energy follows, with the charger's losses."""
    pl.p += _clip((pl.tgt - pl.p) * pl.alpha, -pl.ramp_h, pl.ramp_h)
    if fabs(pl.tgt - pl.p) < SETTLED_W:
        pl.p = pl.tgt
    if pl.p > 0.0:
        pl.soc_wh += pl.p * pl.k_chg
    else:
        pl.soc_wh += pl.p * pl.k_dis


# --- the batch runner: plant + policy over a stretch of seconds, no Python call per step ----

@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _meter_tick(pl: Plant, tot: Totals, g1: cython.double, g2: cython.double,
                g3: cython.double, ts: cython.double, flags: cython.int) -> cython.void:
    """The meter samples the phase powers (W) at ts; the judge notes when its data went bad."""
    _sample_meter(pl, g1, g2, g3, ts, flags)
    tot.bad_meter_since = _since(tot.bad_meter_since, (flags & METER_BAD) != 0, ts)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _sample_meter(pl: Plant, g1: cython.double, g2: cython.double, g3: cython.double,
                  t: cython.double, flags: cython.int) -> cython.void:
    """The meter takes a sample of the instantaneous phase powers (W) at time t."""
    if flags & F_METER_SILENT or flags & F_METER_FROZEN:
        if flags & F_METER_FROZEN:
            pl.s_t = t
        return
    pl.s_t = t
    if flags & F_METER_GARBAGE:
        pl.s_p1 = NAN if floor(t) % 2.0 == 1.0 else 1.0e9
        pl.s_p2 = pl.s_p3 = pl.s_p1
        return
    a: cython.double = pl.meter_noise_w
    # one draw gives four 16-bit uniforms: three phases now, the charger's reading next
    z: cython.ulonglong = _next(pl.rng)
    k: cython.double = 2.0 * a / 65536.0
    pl.s_p1 = g1 + (cython.cast(cython.double, z & 0xFFFF) * k - a)
    pl.s_p2 = g2 + (cython.cast(cython.double, (z >> 16) & 0xFFFF) * k - a)
    pl.s_p3 = g3 + (cython.cast(cython.double, (z >> 32) & 0xFFFF) * k - a)
    pl.ev_noise = cython.cast(cython.double, (z >> 48) & 0xFFFF) / 32768.0 - 1.0
    if flags & F_GRID_DOWN:
        pl.s_v, pl.s_f = 0.0, 0.0
    else:
        pl.s_v, pl.s_f = 230.0, 50.0


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _avg_tick(pl: Plant, a1: cython.double, a2: cython.double, a3: cython.double,
              n: cython.int, ns: cython.int) -> cython.void:
    """The averaging meter's sample into acc1..3 (W): the second before its instant, from
    n sub-steps of this second (sums a1..a3) and the last second's tail after its sample
    (before the first sample: these n alone)."""
    if isnan(pl.tail1):
        pl.acc1, pl.acc2, pl.acc3 = a1 / n, a2 / n, a3 / n
    else:
        pl.acc1, pl.acc2, pl.acc3 = ((a1 + pl.tail1) / ns, (a2 + pl.tail2) / ns,
                                     (a3 + pl.tail3) / ns)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _watch_sample(mf: Measurement, m: Measurement, pl: Plant, ts: cython.double,
                  flags: cython.int) -> cython.void:
    """What the grid watch reads at sub-step ts: the meter's voltage and frequency now (0 V,
    0 Hz on a loss) unless it is silent (its last sample, with that sample's time), frozen
    (the last values) or garbage; the charger's power as the cycle last read it."""
    mf.ev_t, mf.ev_w, mf.car_present = m.ev_t, m.ev_w, m.car_present
    mf.t = ts
    if flags & F_METER_SILENT:
        mf.t, mf.v1, mf.freq = pl.s_t, pl.s_v, pl.s_f
    elif flags & F_METER_GARBAGE:
        mf.v1, mf.freq = NAN, NAN
    elif flags & F_METER_FROZEN:
        mf.v1, mf.freq = pl.s_v, pl.s_f
    elif flags & F_GRID_DOWN:
        mf.v1, mf.freq = 0.0, 0.0
    else:
        mf.v1, mf.freq = 230.0, 50.0
    mf.v2 = mf.v3 = mf.v1


@cython.cfunc
@cython.exceptval(check=False)
def _second(pl: Plant, tot: Totals, s: Sums, st: CtlState, lim: Limits, m: Measurement,
            mf: Measurement, t: cython.double, fl: cython.int, watch: cython.bint,
            b1: cython.double, b2: cython.double, b3: cython.double,
            reserve_wh: cython.double) -> cython.void:
    """The plant over the second from t (s): the charger acts and moves, the meter samples,
    the sums grow; b1..b3 are the phases' balance without the car (W). With `watch`, the
    grid watch looks at every sub-step from the meter's latency on, as the live loop's
    does between its cycles. The second begins with the batch's write of s.sp (`_send`)."""
    _send(pl, s.sp, t, fl)
    ns: cython.int = pl.n_sub
    s.gsum = 0.0
    s.psum = 0.0
    s.viol_grid = False
    s.viol_res = False
    grid_dn: cython.bint = (fl & F_GRID_DOWN) != 0
    _charger_retarget(pl, t, fl)
    last_ts: cython.double = t + (ns - 1) * pl.h + 1e-9
    if not grid_dn and not watch and pl.p == pl.tgt and isnan(pl.pend_t2) and (
            not (pl.pend_t <= last_ts) or pl.cmd_pend == pl.cmd_act):
        _settled(pl, tot, s, t, fl, b1, b2, b3, last_ts, reserve_wh)
    else:
        _substeps(pl, tot, s, st, lim, m, mf, t, fl, watch, b1, b2, b3, reserve_wh)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _send(pl: Plant, sp: cython.double, t: cython.double, fl: cython.int) -> cython.void:
    """The batch's setpoint (W) to the charger at t: a stuck charger hears it (its watchdog
    is fed) and ignores it; a lost one hears nothing."""
    if fl & F_CHARGER_STUCK:
        pl.last_comm_t = t
    elif not (fl & F_CHARGER_LOST):
        _write(pl, sp, t)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _settled(pl: Plant, tot: Totals, s: Sums, t: cython.double, fl: cython.int,
             b1: cython.double, b2: cython.double, b3: cython.double,
             last_ts: cython.double, reserve_wh: cython.double) -> cython.void:
    """A settled charger and nothing new to act on: every sub-step is the same, so the
    second is summed at once (most of a night, and every deadband hold)."""
    ns: cython.int = pl.n_sub
    lat: cython.int = pl.meter_lat_n
    h: cython.double = pl.h
    if pl.pend_t <= last_ts:
        pl.cmd_act = pl.cmd_pend
        pl.pend_t = NAN
    pp: cython.double = pl.p
    g: cython.double = b1 + b2 + b3 + pp * (pl.ev_share1 + pl.ev_share2 + pl.ev_share3)
    s.gsum = g * ns
    s.imp += max(g, 0.0) * ns
    s.exp_ += max(-g, 0.0) * ns
    s.max_exp = max(s.max_exp, -g)
    s.chg += max(pp, 0.0) * ns
    s.dis += max(-pp, 0.0) * ns
    s.psum = pp * ns
    pl.soc_wh += pp * (pl.k_chg if pp > 0.0 else pl.k_dis) * ns
    if pp < 0.0 and pl.soc_wh < reserve_wh:
        s.viol_res = True
    if pl.meter_avg:
        # the same phase powers on every sub-step: ns - lat of them up to the sample
        _avg_tick(pl, (b1 + pp * pl.ev_share1) * (ns - lat),
                  (b2 + pp * pl.ev_share2) * (ns - lat),
                  (b3 + pp * pl.ev_share3) * (ns - lat), ns - lat, ns)
        _meter_tick(pl, tot, pl.acc1, pl.acc2, pl.acc3, t + (ns - lat) * h, fl)
        pl.tail1 = (b1 + pp * pl.ev_share1) * lat
        pl.tail2 = (b2 + pp * pl.ev_share2) * lat
        pl.tail3 = (b3 + pp * pl.ev_share3) * lat
        pl.acc1 = pl.acc2 = pl.acc3 = 0.0
    else:
        _meter_tick(pl, tot, b1 + pp * pl.ev_share1, b2 + pp * pl.ev_share2,
                    b3 + pp * pl.ev_share3, t + (ns - lat) * h, fl)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _substeps(pl: Plant, tot: Totals, s: Sums, st: CtlState, lim: Limits, m: Measurement,
              mf: Measurement, t: cython.double, fl: cython.int, watch: cython.bint,
              b1: cython.double, b2: cython.double, b3: cython.double,
              reserve_wh: cython.double) -> cython.void:
    """The second sub-step by sub-step (pl.h s each): the grid watch where it may act, the
    charger's dead time and lag, the meter's sample at its latency. The sums run in locals
    (registers) and go back to s at the end."""
    j: cython.int
    ns: cython.int = pl.n_sub
    lat: cython.int = pl.meter_lat_n
    h: cython.double = pl.h
    bt: cython.double = b1 + b2 + b3
    es: cython.double = pl.ev_share1 + pl.ev_share2 + pl.ev_share3
    imp: cython.double = s.imp
    exp_: cython.double = s.exp_
    chg: cython.double = s.chg
    dis: cython.double = s.dis
    max_exp: cython.double = s.max_exp
    gsum: cython.double = 0.0
    psum: cython.double = 0.0
    for j in range(ns):
        ts: cython.double = t + j * h
        if watch and j >= (lat if lat > 0 else 1):
            _watch(pl, s, st, lim, m, mf, ts, fl)
        if fl & F_GRID_DOWN and _late_on_loss(pl, tot, lim, ts, fl):
            s.viol_grid = True
        if j > 0 and pl.pend_t <= ts + 1e-9:
            _charger_retarget(pl, ts, fl)
        _charger_move(pl)
        pp: cython.double = pl.p
        g: cython.double = bt + pp * es
        gsum += g
        # branch-free sums: the grid sign flips at random when tracking is good
        imp += max(g, 0.0)
        exp_ += max(-g, 0.0)
        max_exp = max(max_exp, -g)
        chg += max(pp, 0.0)
        dis += max(-pp, 0.0)
        if pp < 0.0 and pl.soc_wh < reserve_wh:
            s.viol_res = True
        psum += pp
        if j == ns - 1 - lat:
            _meter_at(pl, tot, b1 + pp * pl.ev_share1, b2 + pp * pl.ev_share2,
                      b3 + pp * pl.ev_share3, j, ts + h, fl)
        elif pl.meter_avg:
            pl.acc1 += b1 + pp * pl.ev_share1
            pl.acc2 += b2 + pp * pl.ev_share2
            pl.acc3 += b3 + pp * pl.ev_share3
    s.imp = imp
    s.exp_ = exp_
    s.chg = chg
    s.dis = dis
    s.max_exp = max_exp
    s.gsum = gsum
    s.psum = psum
    if pl.meter_avg:  # what the next sample's window takes from this second
        pl.tail1, pl.tail2, pl.tail3 = pl.acc1, pl.acc2, pl.acc3
        pl.acc1 = pl.acc2 = pl.acc3 = 0.0


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _meter_at(pl: Plant, tot: Totals, g1: cython.double, g2: cython.double,
              g3: cython.double, j: cython.int, ts: cython.double, fl: cython.int
              ) -> cython.void:
    """The meter's sample at ts, after sub-step j: of the phase powers g1..g3 (W) now, or
    (averaging) of the second up to now."""
    if pl.meter_avg:
        pl.acc1 += g1
        pl.acc2 += g2
        pl.acc3 += g3
        _avg_tick(pl, pl.acc1, pl.acc2, pl.acc3, j + 1, pl.n_sub)
        _meter_tick(pl, tot, pl.acc1, pl.acc2, pl.acc3, ts, fl)
        pl.acc1 = pl.acc2 = pl.acc3 = 0.0
    else:
        _meter_tick(pl, tot, g1, g2, g3, ts, fl)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _watch(pl: Plant, s: Sums, st: CtlState, lim: Limits, m: Measurement, mf: Measurement,
           ts: cython.double, fl: cython.int) -> cython.void:
    """The grid watch at sub-step ts: a stop written at once when it calls for one."""
    _watch_sample(mf, m, pl, ts, fl)
    if _fast_path(st, mf, lim, ts, s.cmd) and s.cmd != 0.0:
        s.sp = _stop(st, R_SUPERVISOR)
        s.cmd = 0.0
        if not (fl & (F_CHARGER_LOST | F_CHARGER_STUCK)):
            _write(pl, 0.0, ts)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _late_on_loss(pl: Plant, tot: Totals, lim: Limits, ts: cython.double, fl: cython.int
                  ) -> cython.bint:
    """The grid is down: True when the charger still has a discharge command at ts past
    the stop budget. A meter dark with the grid gives the watch nothing to see: it stops on
    the sample's age, one publication interval later."""
    budget: cython.double = tot.stop_budget_s + (
        lim.meter_interval_s if fl & F_METER_SILENT else 0.0)
    return ts >= tot.down_since + budget and _last_cmd(pl) < 0.0
