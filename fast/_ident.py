"""Identification (issue #12): the charger's response and the meter's lag, from what each
cycle read and wrote. The live loop and the simulator feed it the same facts (`record`, with
what a model costs against them, in _idrec.py); `fit()` finds the model that best predicts
each charger reading from the one before and the commands in force between them, then the
meter's delay and window that best explain how the grid moved with the charger, then both
together (firmware_notes/regulation.md "Identification"). The model and the fit's grid are
in _model.py."""

import cython
from cython.cimports.libc.math import exp, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._idrec import Records
from cython.cimports.fast._model import (
    ID_D_MAX, ID_D_N, ID_D_STEP, ID_DELAY_MAX, ID_DELAY_N, ID_DELAY_STEP, ID_HUBER_W,
    ID_METER_GAIN, ID_METER_TRUST, ID_MIN_INTERVALS, ID_RAMP_N, ID_REFIT, ID_REFIT_S,
    ID_TAU_MAX, ID_TAU_MIN, ID_TAU_N, ID_WINDOW_N, _id_ramp, _id_tau, _settled_gain)
from cython.cimports.fast._step import GAIN_MIN_W
from cython.cimports.fast._types import INF, NAN, Limits
# isort: on

from array import array


@cython.cclass
class Ident(Records):
    """The facts of the last cycles (`Records`) and the model fitted to them (`ok` once
    fitted): dead_s, tau_s (s), ramp_w_s (W/s) and gain of the charger; the meter's
    delay (s) and averaging window (s)."""

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
        Records.__init__(self)
        self.start_delay_s = start_delay_s
        self.start_window_s = start_window_s
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
        self.fit_t = NAN

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
            if 0.0 <= l0 + 0.01 * li <= ID_DELAY_MAX:
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
            if d < 0.0 or d > ID_D_MAX:
                continue
            for j in range(-4, 5):
                tau: cython.double = t0 * exp(span * 0.5 * j)
                if not (ID_TAU_MIN <= tau <= ID_TAU_MAX):
                    continue
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
            if 0.0 <= delay + 0.05 * li <= ID_DELAY_MAX:
                cm = min(cm, self._meter_cost(d, tau, ramp, self.w_g, m, delay + 0.05 * li,
                                              window))
        return c + cm
