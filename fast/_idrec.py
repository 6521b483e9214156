"""The identifier's records (issue #12): the facts of each cycle, as the live loop and the
simulator give them (`Records.record`), and what a model of the charger and the meter costs
against them: how well it predicts each charger reading from the one before (`_cost`), and
how the grid moved between two meter samples (`_meter_cost`). The search over models is
`Ident` in _ident.py; the model and its grid are in _model.py."""

import cython
from cython.cimports.libc.math import fabs, isnan

# isort: off
from cython.cimports.fast._model import (
    ID_AVG_POINTS, ID_LOOKBACK_S, ID_MAX_INTERVALS, ID_METER_MOVE_W, ID_MOVING_W, _huber,
    _trajectory)
from cython.cimports.fast._types import MAX_ABS_W, NAN
# isort: on

from array import array

from fast._model import ID_CAPACITY

# `use` of a cycle that regulated and whose write's reply was lost (1: used; 0: not)
USE_UNKNOWN = cython.declare(cython.double, -1.0)
# how far a meter's sample reaches back before the reading it is judged with (s): its
# delay and its window, a second each at most
ID_METER_REACH_S = cython.declare(cython.double, 2.0)
# a charger whose readings stay this close (W) stands still (`_short`)
ID_STILL_W = cython.declare(cython.double, 50.0)
# and short of its command by more than this share of it (and ID_MOVING_W) is not a gain
ID_SHORT = cython.declare(cython.double, 0.1)


@cython.cclass
class Records:
    """The facts of the last ID_CAPACITY cycles (attributes in _idrec.pxd): when the charger
    was read and what it read, what was written and when, whether the step regulated, when
    the meter was read and what it read; `fresh` counts the telling cycles (those where the
    charger moved or was told to) since the last fit."""

    def __init__(self):
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
        self.fresh = 0

    def record(self, t_read: cython.double, ev_w: cython.double, t_write: cython.double,
               sp_w: cython.double, regulating: cython.bint, t_meter: cython.double,
               grid_w: cython.double) -> None:
        """One cycle: the charger read at t_read (s) as ev_w (W, NaN unread); the command
        sp_w (W) written at t_write (s; NaN when none went out, or its reply was lost);
        whether the step regulated (a car, the charger under our command); the meter read
        at t_meter (s) as grid_w (W, NaN unread)."""
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
        # a cycle that regulated without a write known to have gone out (its reply lost:
        # the charger may have acted on it all the same) leaves a command of unknown fate,
        # which no interval it may act on is judged by (`_intervals`; review R13)
        if regulating and isnan(t_write):
            self.use[k] = USE_UNKNOWN
        else:
            self.use[k] = 1.0 if regulating and fabs(ev_w) < MAX_ABS_W else 0.0
        self.t_meter[k] = t_meter
        self.grid_w[k] = grid_w
        self.n = k + 1
        if k > 0 and self.use[k] > 0.0 and (fabs(ev_w - self.ev_w[k - 1]) > ID_MOVING_W or (
                not isnan(t_write) and fabs(sp_w - ev_w) > ID_MOVING_W)):
            self.fresh += 1

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _intervals(self, g: cython.double) -> cython.int:
        """The reading pairs that say something (the charger moved, or was told to), the
        most recent ID_MAX_INTERVALS of them, into idx; returns how many. Not a pair that a
        command of unknown fate may act on (written from ID_LOOKBACK_S before the first
        reading on, as `_power_at` looks back), nor one of a charger short of its command
        (`_short_by`)."""
        m: cython.int = 0
        k: cython.int = self.n - 1
        j: cython.int
        while k >= 4 and m < ID_MAX_INTERVALS:
            dt: cython.double = self.t_read[k] - self.t_read[k - 1]
            if self.use[k] > 0.0 and self.use[k - 1] > 0.0 and 0.05 < dt < 2.5 and (
                    not self._unknown_before(k - 1)) and not self._short_by(k, g):
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
    def _short(self, k: cython.int, g: cython.double) -> cython.bint:
        """The charger stood still (within ID_STILL_W) over readings k-2 to k while every
        command written from three cycles before lay beyond it on one side, further than
        its reading's gain could explain (ID_SHORT: 10 %, the fit's range of gains, and
        ID_MOVING_W; commands on both sides are a charger following a demand that
        alternates faster than it moves, read at one phase): it is short of its command
        (a car's own limit, a charger back from a reboot that does not take ours yet),
        which no model of its response explains (review R13: a car taking 1.8 kW of the
        2.3-4.3 asked fitted tau 3-4 s, the truth 0.7). A charger that acts within the
        longest dead time (2 s) has moved by then, but for the tail of a slow one."""
        j: cython.int
        e: cython.double = self.ev_w[k]
        if k < 3 or not (self.use[k - 2] > 0.0):
            return False
        for j in range(k - 2, k):
            if not (fabs(self.ev_w[j] - e) <= ID_STILL_W):
                return False
        side: cython.double = self.sp_w[k - 1] - e / g
        for j in range(k - 3, k):
            if isnan(self.t_write[j]) or not (
                    fabs(self.sp_w[j] - e / g) > ID_MOVING_W + ID_SHORT * fabs(self.sp_w[j])
            ) or (self.sp_w[j] - e / g) * side < 0.0:
                return False
        return True

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _short_by(self, k: cython.int, g: cython.double) -> cython.bint:
        """Reading pair k lies in a stretch short of its command (`_short`), leads into
        one (the move that stopped short at the car's limit, and the two readings still
        before the stretch is plain) or out of one (a prediction from a reading held short
        has the charger heading for the command it did not reach)."""
        j: cython.int = k - 1
        hit: cython.bint = False
        while not hit and j < min(k + 4, self.n):
            hit = self._short(j, g)
            j += 1
        return hit

    @cython.cfunc
    @cython.nogil
    @cython.exceptval(check=False)
    def _unknown_before(self, i: cython.int) -> cython.bint:
        """A command of unknown fate among those a prediction from reading i may take as
        in force: `_power_at`'s from ID_LOOKBACK_S before it, and the meter's samples', up
        to ID_METER_REACH_S earlier still."""
        q: cython.int = i
        while q >= 0 and i - q < 64 and (
                self.t_read[q] >= self.t_read[i] - ID_LOOKBACK_S - ID_METER_REACH_S):
            if self.use[q] < 0.0:
                return True
            q -= 1
        return False

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

