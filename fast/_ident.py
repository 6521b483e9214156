"""Identification (issue #12): the charger's response and the meter's lag, from what each
cycle read and wrote. The live loop and the simulator feed it the same facts (`Ident.record`);
`fit()` finds the model that best predicts each charger reading from the one before and the
commands in force between them, then the meter's delay and window that best explain how the
grid moved with the charger, then both together (firmware_notes/regulation.md
"Identification"). The model and the fit's grid are in _model.py."""

import cython
from cython.cimports.libc.math import exp, fabs, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._model import (
    ID_AVG_POINTS, ID_D_N, ID_D_STEP, ID_DELAY_N, ID_DELAY_STEP, ID_HUBER_W, ID_LOOKBACK_S,
    ID_MAX_INTERVALS, ID_METER_GAIN, ID_METER_MOVE_W, ID_METER_TRUST, ID_MIN_INTERVALS,
    ID_MOVING_W, ID_RAMP_N, ID_REFIT, ID_REFIT_S, ID_TAU_N, ID_WINDOW_N, _huber, _id_ramp,
    _id_tau, _settled_gain, _trajectory)
from cython.cimports.fast._step import GAIN_MIN_W
from cython.cimports.fast._types import INF, MAX_ABS_W, NAN, Limits
# isort: on

from array import array

from fast._model import ID_CAPACITY


@cython.cclass
class Ident:
    """The facts of the last ID_CAPACITY cycles and the model fitted to them (`ok` once
    fitted): dead_s, tau_s (s), ramp_w_s (W/s) and gain of the charger; the meter's
    delay (s) and averaging window (s)."""

    n = cython.declare(cython.int, visibility="public")
    t_read = cython.declare(cython.double[:])
    ev_w = cython.declare(cython.double[:])
    t_write = cython.declare(cython.double[:])
    sp_w = cython.declare(cython.double[:])
    use = cython.declare(cython.double[:])
    t_meter = cython.declare(cython.double[:])
    grid_w = cython.declare(cython.double[:])
    idx = cython.declare(cython.int[:])
    # each reading's miss by the model in `_meter_cost` (memo: the model of `mkey`, mgen)
    miss = cython.declare(cython.double[:])
    miss_gen = cython.declare(cython.int[:])
    mgen = cython.declare(cython.int)
    mkey = cython.declare(cython.double[4])
    by_d = cython.declare(cython.double[:])  # per coarse dead time: best cost, tau, ramp
    ok = cython.declare(cython.bint, visibility="public")
    dead_s = cython.declare(cython.double, visibility="public")
    tau_s = cython.declare(cython.double, visibility="public")
    ramp_w_s = cython.declare(cython.double, visibility="public")
    gain = cython.declare(cython.double, visibility="public")
    meter_delay_s = cython.declare(cython.double, visibility="public")
    meter_window_s = cython.declare(cython.double, visibility="public")
    cost_w = cython.declare(cython.double, visibility="public")
    meter_cost_w = cython.declare(cython.double, visibility="public")
    intervals = cython.declare(cython.int, visibility="public")
    fresh = cython.declare(cython.int, visibility="public")  # telling cycles since the fit
    fit_t = cython.declare(cython.double, visibility="public")  # the last reading's t then
    start_delay_s = cython.declare(cython.double, visibility="public")  # the meter's, as
    start_window_s = cython.declare(cython.double, visibility="public")  # configured
    # the fit's working model: dead time, tau, ramp, gain; the meter's cost, window, delay
    w_d = cython.declare(cython.double)
    w_tau = cython.declare(cython.double)
    w_ramp = cython.declare(cython.double)
    w_g = cython.declare(cython.double)
    settled_g = cython.declare(cython.double)
    w_mcost = cython.declare(cython.double)
    w_window = cython.declare(cython.double)
    w_delay = cython.declare(cython.double)

    def __init__(self, start_delay_s=0.25, start_window_s=0.0):
        self.start_delay_s = start_delay_s
        self.start_window_s = start_window_s
        self.n = 0
        self.t_read = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.ev_w = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.t_write = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.sp_w = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.use = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.t_meter = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.grid_w = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.idx = memoryview(array("i", bytes(4 * ID_CAPACITY)))
        self.miss = memoryview(array("d", bytes(8 * ID_CAPACITY)))
        self.miss_gen = memoryview(array("i", bytes(4 * ID_CAPACITY)))
        self.mgen = 0
        self.mkey = [NAN, NAN, NAN, NAN]
        self.by_d = memoryview(array("d", bytes(8 * 3 * ID_D_N)))
        self.ok = False
        self.dead_s = NAN
        self.tau_s = NAN
        self.ramp_w_s = NAN
        self.gain = 1.0
        self.settled_g = NAN
        self.meter_delay_s = NAN
        self.meter_window_s = NAN
        self.cost_w = NAN
        self.meter_cost_w = NAN
        self.intervals = 0
        self.fresh = 0
        self.fit_t = NAN

    def record(self, t_read: cython.double, ev_w: cython.double, t_write: cython.double,
               sp_w: cython.double, regulating: cython.bint, t_meter: cython.double,
               grid_w: cython.double) -> None:
        """One cycle: the charger read at t_read (s) as ev_w (W, NaN unread); the command
        sp_w (W) written at t_write (s; NaN when none was); whether the step regulated
        (a car, the charger under our command); the meter read at t_meter (s) as grid_w
        (W, NaN unread)."""
        k: cython.int
        if self.n == ID_CAPACITY:  # keep the newer half
            h: cython.int = ID_CAPACITY // 2
            self.t_read[:h] = self.t_read[h:]
            self.ev_w[:h] = self.ev_w[h:]
            self.t_write[:h] = self.t_write[h:]
            self.sp_w[:h] = self.sp_w[h:]
            self.use[:h] = self.use[h:]
            self.t_meter[:h] = self.t_meter[h:]
            self.grid_w[:h] = self.grid_w[h:]
            self.n = h
        k = self.n
        self.t_read[k] = t_read
        self.ev_w[k] = ev_w
        self.t_write[k] = t_write
        self.sp_w[k] = sp_w
        self.use[k] = 1.0 if regulating and fabs(ev_w) < MAX_ABS_W else 0.0
        self.t_meter[k] = t_meter
        self.grid_w[k] = grid_w
        self.n = k + 1
        if k > 0 and self.use[k] > 0.0 and (fabs(ev_w - self.ev_w[k - 1]) > ID_MOVING_W or (
                not isnan(t_write) and fabs(sp_w - ev_w) > ID_MOVING_W)):
            self.fresh += 1

    def due(self, now: cython.double) -> bool:
        """Worth a fit at now (s): a first as soon as there are ID_MIN_INTERVALS telling
        cycles; later ones on ID_REFIT new ones, at most every ID_REFIT_S (a charger and a
        meter do not change by the minute; a refit only follows slow drift)."""
        if not self.ok:
            return self.fresh >= ID_MIN_INTERVALS
        return self.fresh >= ID_REFIT and not (now - self.fit_t < ID_REFIT_S)

    def apply(self, lim: Limits) -> None:
        """The fitted model into the step's limits (nothing before a fit; nothing here
        bounds a setpoint: the model only says where the charger was)."""
        if self.ok:
            lim.charger_dead_s = self.dead_s
            lim.charger_tau_s = self.tau_s
            lim.charger_ramp_w_s = self.ramp_w_s
            lim.meter_delay_s = self.meter_delay_s
            lim.meter_window_s = self.meter_window_s
            lim.model_known = 1.0

    def fit(self) -> bool:
        """Fit the model to what is recorded; True (and the fields set) when there were
        enough readings that say something. Some 10-150 ms compiled, with the GIL released
        (the live loop runs it in a thread); seconds pure."""
        with cython.nogil:
            done: cython.bint = self._fit()
        return done

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _fit(self) -> cython.bint:
        m: cython.int = self._intervals(1.0 if not self.ok else self.gain)
        self.intervals = m
        if m < ID_MIN_INTERVALS:
            return False
        self.mkey[0] = NAN  # what was memoised may have moved with the records
        self.fresh = 0
        self.fit_t = self.t_read[self.n - 1]
        self.settled_g = _settled_gain(self.n, self.sp_w, self.use, self.ev_w, GAIN_MIN_W)
        rnd: cython.int
        if not self.ok:
            # the coarse grid twice: with a gain of 1, then with the gain that model
            # implies (a reading 2 % off shifts the valley along its floor)
            self.w_g = 1.0
            for _ in range(2):
                self._coarse(m)
                self._fit_gain(m)
            self._coarse_meter(m)
            self._refine(m, -1.0, 0.0, 0.2)
        else:  # a refit starts from the model in use, and looks around it
            self.w_d = self.dead_s
            self.w_tau = self.tau_s
            self.w_ramp = self.ramp_w_s
            self.w_g = self.gain
        self._refine(m, -1.0, 0.0, 0.05)
        # the meter: its delay and window, given that charger; then the charger and the
        # meter in turn (a quick charger read once a second shows only (1 - dead) / tau;
        # the meter's sample, between two readings, tells them apart). Taken only where the
        # meter's word is clear: a house whose load changes every few seconds drowns it,
        # hundreds of W a sample left unexplained
        for rnd in range(3 if not self.ok else 2):
            self._fit_meter(m)
            if rnd == (2 if not self.ok else 1) or not (
                    self.w_mcost < ID_METER_TRUST * ID_HUBER_W * m):
                break
            if not self.ok:  # the valley's floor, widely, then finely
                self._refine(m, self.w_delay, self.w_window, 0.4)
                self._refine(m, self.w_delay, self.w_window, 0.1)
            self._refine(m, self.w_delay, self.w_window, 0.03)
            self._fit_gain(m)
        # the gain last, for the model as it stands (a slow charger's readings settle
        # seldom in five minutes: the gain the coarse model implied can be 1 % off)
        self._fit_gain(m)
        self.dead_s = self.w_d
        self.tau_s = self.w_tau
        self.ramp_w_s = self.w_ramp
        self.gain = self.w_g
        self.meter_delay_s = self.w_delay
        self.meter_window_s = self.w_window
        self.cost_w = self._cost(self.w_d, self.w_tau, self.w_ramp, self.w_g, m) / m
        self.meter_cost_w = self.w_mcost / m
        self.ok = True
        return True

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _coarse(self, m: cython.int) -> cython.void:
        """The whole grid: dead time x tau x ramp, at the working gain (and each dead
        time's best in by_d)."""
        best: cython.double = INF
        ri: cython.int
        di: cython.int
        ti: cython.int
        for di in range(ID_D_N):
            self.by_d[3 * di] = INF
        for ri in range(ID_RAMP_N):
            for di in range(ID_D_N):
                for ti in range(ID_TAU_N):
                    c: cython.double = self._cost(di * ID_D_STEP, _id_tau(ti), _id_ramp(ri),
                                                  self.w_g, m)
                    if c < self.by_d[3 * di] - 1e-9:
                        self.by_d[3 * di] = c
                        self.by_d[3 * di + 1] = _id_tau(ti)
                        self.by_d[3 * di + 2] = _id_ramp(ri)
                    if c < best - 1e-9:
                        best = c
                        self.w_d = di * ID_D_STEP
                        self.w_tau = _id_tau(ti)
                        self.w_ramp = _id_ramp(ri)

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _coarse_meter(self, m: cython.int) -> cython.void:
        """The cold start's dead time, the meter heard too. A charger that moves in steps of
        its own cycle, read once a second, shows a short dead time and a slow ramp as well
        as the true ones; the meter sees each command after the dead time and its own delay,
        and that sum it pins. Each coarse dead time with the readings' best tau and ramp,
        and the meter's best window and delay: the pair that explains both best replaces
        the readings' own pick where the meter's word is clear and clearly better, by
        ID_HUBER_W a reading (a quick charger's readings and a meter's window and delay
        leave a valley as flat as the noise; the meter has no clear word there)."""
        di: cython.int
        own: cython.int = cython.cast(cython.int, self.w_d / ID_D_STEP + 0.5)
        own_m: cython.double = self._meter_best(m, own)
        own_j: cython.double = self.by_d[3 * own] + own_m
        best: cython.double = own_j
        pick: cython.int = own
        pick_m: cython.double = own_m
        for di in range(ID_D_N):
            # the meter's cost is never negative: a dead time whose readings alone cost
            # more than the best pair cannot win (most of them: the pure core's first fits
            # of three households took 6.4 s with this look in full, 5.5 s without it or
            # with it so)
            c: cython.double = self.by_d[3 * di]
            if di == own or not (c < best):
                continue
            cm: cython.double = self._meter_best(m, di)
            if c + cm < best:
                best, pick, pick_m = c + cm, di, cm
        if pick != own and pick_m < ID_METER_TRUST * ID_HUBER_W * m and (
                best < ID_METER_GAIN * own_j) and best < own_j - ID_HUBER_W * m:
            self.w_d = pick * ID_D_STEP
            self.w_tau = self.by_d[3 * pick + 1]
            self.w_ramp = self.by_d[3 * pick + 2]

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _meter_best(self, m: cython.int, di: cython.int) -> cython.double:
        """The meter's cost at its best window and delay, for coarse dead time di with the
        readings' best tau and ramp there."""
        cm: cython.double = INF
        wi: cython.int
        li: cython.int
        for wi in range(ID_WINDOW_N):
            for li in range(ID_DELAY_N):
                cm = min(cm, self._meter_cost(di * ID_D_STEP, self.by_d[3 * di + 1],
                                              self.by_d[3 * di + 2], self.w_g, m,
                                              li * ID_DELAY_STEP, 1.0 * wi))
        return cm

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _fit_meter(self, m: cython.int) -> cython.void:
        """The meter's window and delay that best explain the grid's moves for the working
        charger model: each window, delays on a 0.05-s grid, then 0.01 s around the best."""
        d: cython.double = self.w_d
        tau: cython.double = self.w_tau
        ramp: cython.double = self.w_ramp
        g: cython.double = self.w_g
        cost: cython.double[2] = [INF, INF]  # each window's best (ID_WINDOW_N), and its delay
        bl: cython.double[2] = [0.0, 0.0]
        wi: cython.int
        li: cython.int
        c: cython.double
        for wi in range(ID_WINDOW_N):
            for li in range(ID_DELAY_N):
                c = self._meter_cost(d, tau, ramp, g, m, li * ID_DELAY_STEP, 1.0 * wi)
                if c < cost[wi] - 1e-9:
                    cost[wi], bl[wi] = c, li * ID_DELAY_STEP
        wi = 1 if cost[1] < cost[0] - 1e-9 else 0
        # a refit keeps its window unless the other is clearly better: behind a slow charger
        # a late sample and a window's mean look alike, and jittered moves tip it either way
        if self.ok and wi != self.meter_window_s and not (cost[wi] < ID_METER_GAIN * cost[1 - wi]):
            wi = 1 - wi
        bm: cython.double = cost[wi]
        bw: cython.double = 1.0 * wi
        l0: cython.double = bl[wi]
        for li in range(-4, 5):
            if l0 + 0.01 * li >= 0.0:
                c = self._meter_cost(d, tau, ramp, g, m, l0 + 0.01 * li, bw)
                if c < bm - 1e-9:
                    bm, bl[wi] = c, l0 + 0.01 * li
        # the starting model stands unless another explains the grid clearly better
        c = self._meter_cost(d, tau, ramp, g, m, self.start_delay_s, self.start_window_s)
        if not (bm < ID_METER_GAIN * c):
            bm, bw, bl[wi] = c, self.start_window_s, self.start_delay_s
        self.w_mcost = bm
        self.w_window = bw
        self.w_delay = bl[wi]

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _fit_gain(self, m: cython.int) -> cython.void:
        """The reading's gain (reported / true power) for the working model, in 0.25 %
        steps over +-10 %: a charger that never holds a command long shows it nowhere
        else."""
        if not isnan(self.settled_g):
            self.w_g = self.settled_g
            return
        best: cython.double = INF
        g: cython.double = 1.0
        i: cython.int
        for i in range(-40, 41):
            c: cython.double = self._cost(self.w_d, self.w_tau, self.w_ramp, 1.0 + 0.0025 * i,
                                          m)
            if c < best - 1e-9:
                best, g = c, 1.0 + 0.0025 * i
        self.w_g = g

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _refine(self, m: cython.int, delay: cython.double, window: cython.double,
                span: cython.double) -> cython.void:
        """Around the working model: dead time and tau together (dead +-span s, tau within
        a factor exp(+-2 span), 9 x 9), then the ramp alone (within the same factor, or
        none), each at the meter's delay within +-0.1 s that suits it best when delay >= 0
        (the meter's cost is added then)."""
        d0: cython.double = self.w_d
        t0: cython.double = self.w_tau
        best: cython.double = INF
        i: cython.int
        j: cython.int
        for i in range(-4, 5):
            d: cython.double = d0 + span * 0.25 * i
            if d < 0.0:
                continue
            for j in range(-4, 5):
                tau: cython.double = t0 * exp(span * 0.5 * j)
                c: cython.double = self._joint(d, tau, self.w_ramp, m, delay, window)
                if c < best - 1e-9:
                    best = c
                    self.w_d = d
                    self.w_tau = tau
        r0: cython.double = self.w_ramp
        for j in range(-4, 6):
            ramp: cython.double = INF if j == 5 else r0 * exp(span * 0.5 * j)
            if j == 0 or (j == 5 and r0 == INF) or ramp != ramp:
                continue
            c2: cython.double = self._joint(self.w_d, self.w_tau, ramp, m, delay, window)
            if c2 < best - 1e-9:
                best = c2
                self.w_ramp = ramp

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _joint(self, d: cython.double, tau: cython.double, ramp: cython.double,
               m: cython.int, delay: cython.double, window: cython.double) -> cython.double:
        """The readings' cost, plus the meter's at its best delay near `delay` (>= 0)."""
        c: cython.double = self._cost(d, tau, ramp, self.w_g, m)
        if delay < 0.0:
            return c
        cm: cython.double = INF
        li: cython.int
        for li in range(-2, 3):
            if delay + 0.05 * li >= 0.0:
                cm = min(cm, self._meter_cost(d, tau, ramp, self.w_g, m, delay + 0.05 * li,
                                              window))
        return c + cm

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _intervals(self, g: cython.double) -> cython.int:
        """The reading pairs that say something (the charger moved, or was told to), the
        most recent ID_MAX_INTERVALS of them, into idx; returns how many."""
        m: cython.int = 0
        k: cython.int = self.n - 1
        j: cython.int
        while k >= 4 and m < ID_MAX_INTERVALS:
            dt: cython.double = self.t_read[k] - self.t_read[k - 1]
            if self.use[k] > 0.0 and self.use[k - 1] > 0.0 and 0.05 < dt < 2.5:
                p0: cython.double = self.ev_w[k - 1] / g
                say: cython.bint = fabs(self.ev_w[k] - self.ev_w[k - 1]) > ID_MOVING_W
                for j in range(k - 4, k):
                    if not isnan(self.t_write[j]) and fabs(self.sp_w[j] - p0) > ID_MOVING_W:
                        say = True
                if say:
                    self.idx[m] = k
                    m += 1
            k -= 1
        return m

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _power_at(self, i: cython.int, t: cython.double, d: cython.double,
                  tau: cython.double, ramp: cython.double, g: cython.double) -> cython.double:
        """The charger's true power (W) at time t, from reading i (at or before t) on
        through the commands sent around it (`_trajectory`); NaN when none is known to be
        in force."""
        cw: cython.double[8] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ct: cython.double[8] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        n: cython.int = 0
        q: cython.int
        j: cython.int
        # the commands written from ID_LOOKBACK_S before the reading (what may be in force
        # then, after the longest dead time) to t, each once (a probe records ten times a
        # second the command in force, with the time it was written)
        q0: cython.int = i
        while q0 > 0 and i - q0 < 64 and self.t_read[q0 - 1] >= self.t_read[i] - ID_LOOKBACK_S:
            q0 -= 1
        q1: cython.int = i + 1
        while q1 < self.n and q1 - i < 64 and self.t_read[q1] <= t:
            q1 += 1
        for q in range(q0, q1):
            if isnan(self.t_write[q]) or (n > 0 and self.t_write[q] == ct[n - 1]):
                continue
            if n == 8:  # keep the latest eight
                for j in range(7):
                    cw[j] = cw[j + 1]
                    ct[j] = ct[j + 1]
                n = 7
            cw[n] = self.sp_w[q]
            ct[n] = self.t_write[q]
            n += 1
        return _trajectory(self.ev_w[i] / g, self.t_read[i], t, cw, ct, n, d, tau, ramp,
                           False)

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _cost(self, d: cython.double, tau: cython.double, ramp: cython.double,
              g: cython.double, m: cython.int) -> cython.double:
        """Huber cost (W) of predicting each used reading from the one before."""
        tot: cython.double = 0.0
        i: cython.int
        for i in range(m):
            k: cython.int = self.idx[i]
            p: cython.double = self._power_at(k - 1, self.t_read[k], d, tau, ramp, g)
            if not isnan(p):
                tot += _huber(self.ev_w[k] / g - p)
        return tot

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _sample(self, k: cython.int, d: cython.double, tau: cython.double,
                ramp: cython.double, g: cython.double, delay: cython.double,
                window: cython.double) -> cython.double:
        """What the meter's sample read at cycle k holds of the charger (W): its power
        `delay` s before the read, or its mean over the `window` s before that."""
        s: cython.double = self.t_meter[k] - delay
        if window <= 0.0:
            return self._corrected(k, s, d, tau, ramp, g)
        acc: cython.double = 0.0
        j: cython.int
        for j in range(ID_AVG_POINTS):
            acc += self._corrected(k, s - window * (j + 0.5) / ID_AVG_POINTS, d, tau, ramp, g)
        return acc / ID_AVG_POINTS

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _corrected(self, k: cython.int, t: cython.double, d: cython.double,
                   tau: cython.double, ramp: cython.double, g: cython.double
                   ) -> cython.double:
        """The charger's power at t (W) as the step takes it at cycle k (`_ev_at_sample`):
        the model from the reading at or before t, with the share of the next reading's
        miss due by then (a dead time that varies per write shows there)."""
        i: cython.int = self._reading_before(k, t)
        p: cython.double = self._power_at(i, t, d, tau, ramp, g)
        if i < k and self.use[i + 1] > 0.0 and t > self.t_read[i]:
            if self.miss_gen[i + 1] != self.mgen:  # the model's miss at the next reading
                self.miss[i + 1] = self.ev_w[i + 1] / g - self._power_at(
                    i, self.t_read[i + 1], d, tau, ramp, g)
                self.miss_gen[i + 1] = self.mgen
            if not isnan(self.miss[i + 1]):
                p += self.miss[i + 1] * min(
                    1.0, (t - self.t_read[i]) / (self.t_read[i + 1] - self.t_read[i]))
        return p

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _reading_before(self, k: cython.int, t: cython.double) -> cython.int:
        i: cython.int = k
        while i > 0 and self.t_read[i] > t:
            i -= 1
        return i

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _meter_cost(self, d: cython.double, tau: cython.double, ramp: cython.double,
                    g: cython.double, m: cython.int, delay: cython.double,
                    window: cython.double) -> cython.double:
        """Huber cost (W) of explaining how the grid moved between two cycles by how the
        charger moved at the meter's samples (the house's own steps are the outliers)."""
        if not (d == self.mkey[0] and tau == self.mkey[1] and ramp == self.mkey[2]
                and g == self.mkey[3]):  # another model: the readings' misses anew
            self.mkey[0], self.mkey[1], self.mkey[2], self.mkey[3] = d, tau, ramp, g
            self.mgen += 1
        tot: cython.double = 0.0
        i: cython.int
        for i in range(m):
            k: cython.int = self.idx[i]
            dg: cython.double = self.grid_w[k] - self.grid_w[k - 1]
            if not (fabs(dg) < MAX_ABS_W) or k < 6:
                continue
            # only where the charger itself moved a lot around the samples: in closed loop
            # it follows the house, so small moves correlate with the house's own drift
            # (a PV ramp) and would bias the meter's model toward explaining that
            if not (fabs(self.ev_w[k] - self.ev_w[k - 1]) >= ID_METER_MOVE_W or
                    fabs(self.ev_w[k - 1] - self.ev_w[k - 2]) >= ID_METER_MOVE_W):
                continue
            a: cython.double = self._sample(k, d, tau, ramp, g, delay, window)
            b: cython.double = self._sample(k - 1, d, tau, ramp, g, delay, window)
            if not (isnan(a) or isnan(b)):
                tot += _huber(dg - (a - b))
        return tot
