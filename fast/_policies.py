"""The policies the batch runner scores against v2h's step: evcc-like, none, the oracle.

Contents: `EvccState`, `_evcc` (evcc's PV mode as documented), `_none` (an uncontrolled
car), `_oracle` and `_oracle_second` (the physical limit: this second known exactly).
"""

import cython
from cython.cimports.libc.math import fabs, floor, isnan

# isort: off
# (the siblings' C names, wrapped compactly: one a line would double a module's head)
from cython.cimports.fast._plant import Plant
from cython.cimports.fast._step import _window
from cython.cimports.fast._supervisor import _supervise
from cython.cimports.fast._types import (
    F_CAR, F_GRID_DOWN, GRID_DOWN, GRID_UP, M_REGULATING, NAN, CtlState, Limits, Measurement, Plan,
    _clip)
# isort: on


@cython.cclass
class EvccState:
    """evcc's PV mode as documented: 30 s interval, 6 A minimum, 1 A steps, enable 60 s at
    >= 1.4 kW surplus, disable after 180 s below it; holds its setpoint when the meter fails."""

    def __init__(self, interval_s=30.0):
        self.enabled = False
        self.timer = float("nan")
        self.sp = 0.0
        self.interval_s = interval_s
        self.next_t = -1.0e18


EVCC_V = cython.declare(cython.double, 230.0)
EVCC_MIN_A = cython.declare(cython.double, 6.0)
EVCC_ENABLE_S = cython.declare(cython.double, 60.0)
EVCC_DISABLE_S = cython.declare(cython.double, 180.0)


@cython.cfunc
@cython.exceptval(check=False)
def _evcc(ev: EvccState, m: Measurement, lim: Limits, now: cython.double) -> cython.double:
    win: cython.double[2] = [0.0, 0.0]
    if now < ev.next_t:
        return ev.sp
    ev.next_t = now + ev.interval_s
    if isnan(m.grid_w) or now - m.t > lim.meter_stale_s:
        return ev.sp  # evcc keeps the last setpoint when the meter fails
    if not m.car_present or (not isnan(m.soc) and m.soc >= lim.max_soc):
        ev.enabled = False
        ev.timer = NAN
        ev.sp = 0.0
        return 0.0
    surplus: cython.double = m.ev_w - m.grid_w
    min_w: cython.double = EVCC_MIN_A * EVCC_V
    if surplus >= min_w:
        if ev.enabled:
            ev.timer = NAN
        elif isnan(ev.timer):
            ev.timer = now
        if not ev.enabled and now - ev.timer >= EVCC_ENABLE_S:
            ev.enabled = True
            ev.timer = NAN
    else:
        if not ev.enabled:
            ev.timer = NAN
        elif isnan(ev.timer):
            ev.timer = now
        if ev.enabled and now - ev.timer >= EVCC_DISABLE_S:
            ev.enabled = False
            ev.timer = NAN
    if not ev.enabled:
        ev.sp = 0.0
        return 0.0
    amps: cython.double = floor(surplus / EVCC_V) if surplus > 0.0 else 0.0
    amps = _clip(amps, EVCC_MIN_A, floor(lim.max_charge_w / EVCC_V))
    # evcc's load management (circuits) also holds the fuse, at its own interval
    _window(m, lim, True, False, m.ev_w, win)
    while amps > EVCC_MIN_A and amps * EVCC_V > win[1]:
        amps -= 1.0
    ev.sp = amps * EVCC_V if amps * EVCC_V <= win[1] else 0.0
    return ev.sp


@cython.cfunc
@cython.exceptval(check=False)
def _none(m: Measurement, lim: Limits) -> cython.double:
    """An uncontrolled car: full power from plug-in until the car is full, with only the
    charger's own load balancing keeping the fuse (every second, from the meter)."""
    win: cython.double[2] = [0.0, 0.0]
    if not m.car_present:
        return 0.0
    if isnan(m.grid_w):
        return lim.max_charge_w
    _window(m, lim, True, False, m.ev_w, win)
    return win[1] if win[1] >= lim.min_power_w else 0.0


@cython.cfunc
@cython.exceptval(check=False)
def _oracle(m: Measurement, ost: CtlState, lim: Limits, plan: Plan, soc_true: cython.double,
            load: cython.double, pv: cython.double) -> cython.double:
    """The physical limit: this second's load and PV known exactly, the same limits."""
    win: cython.double[2] = [0.0, 0.0]
    if ost.mode != M_REGULATING or not m.car_present:
        return 0.0
    want: cython.double = pv - load + plan.grid_target_w
    if not isnan(plan.forced_w):
        want = plan.forced_w
    allow_dis: cython.bint = (ost.grid_ok and plan.allow_discharge
                              and soc_true > lim.reserve_soc)
    allow_chg: cython.bint = plan.allow_charge and soc_true < lim.max_soc
    _window(m, lim, allow_chg, allow_dis, m.ev_w, win)
    sp: cython.double = _clip(want, win[0], win[1])
    mn: cython.double = lim.min_power_w
    if fabs(sp) < mn:
        sgn: cython.double = 1.0 if sp >= 0.0 else -1.0
        if (fabs(sp) >= 0.5 * mn or not (win[0] <= 0.0 <= win[1])) and \
                win[0] <= sgn * mn <= win[1]:
            sp = sgn * mn
        else:
            sp = 0.0
    return sp


@cython.cfunc
@cython.exceptval(check=False)
def _oracle_second(m: Measurement, st: CtlState, lim: Limits, plan: Plan, pl: Plant,
                   t: cython.double, fl: cython.int, ld1: cython.double, ld2: cython.double,
                   ld3: cython.double, pvk: cython.double, v: cython.double) -> cython.double:
    """The oracle's second: it reads the true phase powers (W) of the load ld1..ld3, PV pvk
    and the charger, the nominal voltage v (V), the true SoC; the supervisor on that."""
    pvp1: cython.double = pvk * pl.pv_share1
    pvp2: cython.double = pvk * pl.pv_share2
    pvp3: cython.double = pvk * pl.pv_share3
    m.p1 = ld1 + pl.p * pl.ev_share1 - pvp1
    m.p2 = ld2 + pl.p * pl.ev_share2 - pvp2
    m.p3 = ld3 + pl.p * pl.ev_share3 - pvp3
    m.v1 = v
    m.v2 = v
    m.v3 = v
    m.freq = 50.0
    m.ev_w = pl.p
    m.car_present = (fl & F_CAR) != 0
    _supervise(st, lim, True, GRID_DOWN if fl & F_GRID_DOWN else GRID_UP, True,
               m.car_present, plan.hold, False, t, NAN)
    return _oracle(m, st, lim, plan, pl.soc_wh / pl.cap_wh * 100.0, ld1 + ld2 + ld3, pvk)
