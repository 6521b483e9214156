"""The v2h control core: one source, compiled by Cython (pure-Python mode), run as is otherwise.

Signs and units follow firmware_notes/design.md "Signs and units": powers in W (grid
+ import, ev + charging the car), SoC in %, time in s. Everything here is a pure function
of its arguments except for the explicit in-place `_...` helpers, which the batch runner
uses to avoid an allocation per second.

Why one file: Cython inlines calls only within a module, and the batch runner needs the step,
the policies and the plant in one C unit to run a year of seconds in a few seconds.
"""

import cython
from cython.cimports.libc.math import exp, fabs, floor, isnan, pow

# --- supervisor modes (firmware_notes/design.md "The supervisor"); the index is the value
MODES = ("STARTUP", "IDLE", "REGULATING", "HOLD", "GRID_LOSS", "METER_STALE", "CHARGER_LOST",
         "FAULT")
M_STARTUP = cython.declare(cython.int, 0)
M_IDLE = cython.declare(cython.int, 1)
M_REGULATING = cython.declare(cython.int, 2)
M_HOLD = cython.declare(cython.int, 3)
M_GRID_LOSS = cython.declare(cython.int, 4)
M_METER_STALE = cython.declare(cython.int, 5)
M_CHARGER_LOST = cython.declare(cython.int, 6)
M_FAULT = cython.declare(cython.int, 7)

# --- reasons: bit i names REASONS[i]; a bit is set when that clamp bit ----------------------
REASONS = ("stale", "supervisor", "grid", "car", "plan", "reserve", "max_soc", "fuse",
           "max_charge", "max_discharge", "min_power", "ramp", "deadband", "forced",
           "soc_probe")
R_STALE = cython.declare(cython.int, 1 << 0)
R_SUPERVISOR = cython.declare(cython.int, 1 << 1)
R_GRID = cython.declare(cython.int, 1 << 2)
R_CAR = cython.declare(cython.int, 1 << 3)
R_PLAN = cython.declare(cython.int, 1 << 4)
R_RESERVE = cython.declare(cython.int, 1 << 5)
R_MAX_SOC = cython.declare(cython.int, 1 << 6)
R_FUSE = cython.declare(cython.int, 1 << 7)
R_MAX_CHARGE = cython.declare(cython.int, 1 << 8)
R_MAX_DISCHARGE = cython.declare(cython.int, 1 << 9)
R_MIN_POWER = cython.declare(cython.int, 1 << 10)
R_RAMP = cython.declare(cython.int, 1 << 11)
R_DEADBAND = cython.declare(cython.int, 1 << 12)
R_FORCED = cython.declare(cython.int, 1 << 13)
R_SOC_PROBE = cython.declare(cython.int, 1 << 14)

# A meter value beyond this is not physics but garbage (a house connection is < 100 kW).
MAX_ABS_W = cython.declare(cython.double, 1.0e6)
INF = cython.declare(cython.double, float("inf"))
NAN = cython.declare(cython.double, float("nan"))


@cython.cclass
class Limits:
    """Every bound and gain the step and the supervisor use (W, %, A, V, Hz, s, W/s)."""

    max_charge_w = cython.declare(cython.double, visibility="public")
    max_discharge_w = cython.declare(cython.double, visibility="public")
    min_power_w = cython.declare(cython.double, visibility="public")
    min_power_hyst_w = cython.declare(cython.double, visibility="public")
    reserve_soc = cython.declare(cython.double, visibility="public")
    max_soc = cython.declare(cython.double, visibility="public")
    soc_hyst = cython.declare(cython.double, visibility="public")
    fuse_a = cython.declare(cython.double, visibility="public")
    fuse_margin_a = cython.declare(cython.double, visibility="public")
    share1 = cython.declare(cython.double, visibility="public")
    share2 = cython.declare(cython.double, visibility="public")
    share3 = cython.declare(cython.double, visibility="public")
    nominal_v = cython.declare(cython.double, visibility="public")
    ramp_w_s = cython.declare(cython.double, visibility="public")
    deadband_w = cython.declare(cython.double, visibility="public")
    # the model the step traces the charger's power back to the meter's sample with (issue
    # #12): dead time (s), time constant (s) and ramp (W/s) of the charger; the meter's
    # delay (s, from its read back to its sample) and averaging window (s, 0: an instant).
    # Starting values from the config; the identification (Ident) replaces them
    charger_dead_s = cython.declare(cython.double, visibility="public")
    charger_tau_s = cython.declare(cython.double, visibility="public")
    charger_ramp_w_s = cython.declare(cython.double, visibility="public")
    meter_delay_s = cython.declare(cython.double, visibility="public")
    meter_window_s = cython.declare(cython.double, visibility="public")
    # 1: the model above is known (measured by `v2h probe`, or identified, or identification
    # is off and the config's word is all there is); 0: a starting guess, not traced back
    # with (the step brackets the charger's power between its readings instead)
    model_known = cython.declare(cython.double, visibility="public")
    kd = cython.declare(cython.double, visibility="public")
    kp = cython.declare(cython.double, visibility="public")
    ki = cython.declare(cython.double, visibility="public")
    integ_band_w = cython.declare(cython.double, visibility="public")
    integ_max_w = cython.declare(cython.double, visibility="public")
    period_s = cython.declare(cython.double, visibility="public")
    meter_stale_s = cython.declare(cython.double, visibility="public")
    meter_frozen_s = cython.declare(cython.double, visibility="public")
    charger_lost_s = cython.declare(cython.double, visibility="public")
    grid_undervoltage_v = cython.declare(cython.double, visibility="public")
    grid_overvoltage_v = cython.declare(cython.double, visibility="public")
    grid_freq_min_hz = cython.declare(cython.double, visibility="public")
    grid_freq_max_hz = cython.declare(cython.double, visibility="public")
    grid_reconnect_s = cython.declare(cython.double, visibility="public")
    grid_startup_s = cython.declare(cython.double, visibility="public")
    grid_loss_stop_s = cython.declare(cython.double, visibility="public")
    meter_interval_s = cython.declare(cython.double, visibility="public")
    phases = cython.declare(cython.double, visibility="public")
    charger_disobey_s = cython.declare(cython.double, visibility="public")
    charger_ignore_s = cython.declare(cython.double, visibility="public")
    charger_fault_hold_s = cython.declare(cython.double, visibility="public")
    capacity_wh = cython.declare(cython.double, visibility="public")
    soc_hold_wh = cython.declare(cython.double, visibility="public")
    p_gain = cython.declare(cython.double, visibility="public")

    def __init__(self, **kw):
        self.max_charge_w = 7400.0
        self.max_discharge_w = 7400.0
        self.min_power_w = 150.0
        self.min_power_hyst_w = 50.0
        self.reserve_soc = 30.0
        self.max_soc = 90.0
        self.soc_hyst = 2.0
        self.fuse_a = 25.0
        self.fuse_margin_a = 1.0
        self.share1 = 1.0
        self.share2 = 0.0
        self.share3 = 0.0
        self.nominal_v = 230.0
        self.ramp_w_s = 5000.0
        self.deadband_w = 10.0
        self.charger_dead_s = 0.0
        self.charger_tau_s = 0.7
        self.charger_ramp_w_s = INF
        self.meter_delay_s = 0.25
        self.meter_window_s = 0.0
        self.model_known = 1.0
        self.kd = 1.0
        self.kp = 0.0
        self.ki = 0.1
        self.integ_band_w = 150.0
        self.integ_max_w = 500.0
        self.period_s = 1.0
        self.meter_stale_s = 2.5
        self.meter_frozen_s = 1.5
        self.charger_lost_s = 5.0
        self.grid_undervoltage_v = 195.5
        self.grid_overvoltage_v = 253.0
        self.grid_freq_min_hz = 47.5
        self.grid_freq_max_hz = 51.5
        self.grid_reconnect_s = 60.0
        self.grid_startup_s = 5.0
        self.grid_loss_stop_s = 0.5
        self.meter_interval_s = 0.0  # how often the meter publishes (s): 0 polled, 1 P1
        self.phases = 3.0  # the site's phases: 1 judges the grid on L1 alone
        self.charger_disobey_s = 3.0
        self.charger_ignore_s = 60.0
        self.charger_fault_hold_s = 60.0
        self.capacity_wh = 60000.0
        self.soc_hold_wh = 1200.0  # 2 % of 60 kWh moved since the last SoC read: unknown
        self.p_gain = 0.0  # > 0: the plain proportional loop (the baseline), not the step's
        for k, v in kw.items():
            setattr(self, k, float(v))

    def as_dict(self):
        return {k: getattr(self, k) for k in LIMIT_FIELDS}


LIMIT_FIELDS = (
    "max_charge_w", "max_discharge_w", "min_power_w", "min_power_hyst_w", "reserve_soc",
    "max_soc", "soc_hyst", "fuse_a", "fuse_margin_a", "share1", "share2", "share3", "nominal_v",
    "ramp_w_s", "deadband_w", "charger_dead_s", "charger_tau_s",
    "charger_ramp_w_s", "meter_delay_s", "meter_window_s", "model_known", "kd", "kp", "ki",
    "integ_band_w", "integ_max_w", "period_s",
    "meter_stale_s", "meter_frozen_s", "charger_lost_s", "grid_undervoltage_v",
    "grid_overvoltage_v", "grid_freq_min_hz", "grid_freq_max_hz", "grid_reconnect_s",
    "grid_startup_s", "grid_loss_stop_s", "meter_interval_s", "phases", "charger_disobey_s",
    "charger_ignore_s", "charger_fault_hold_s", "capacity_wh", "soc_hold_wh", "p_gain",
)


@cython.cclass
class Plan:
    """What the plan (or the owner) asks of this slot: target (W), forced power (W or NaN)."""

    grid_target_w = cython.declare(cython.double, visibility="public")
    forced_w = cython.declare(cython.double, visibility="public")
    allow_charge = cython.declare(cython.bint, visibility="public")
    allow_discharge = cython.declare(cython.bint, visibility="public")
    hold = cython.declare(cython.bint, visibility="public")

    def __init__(self, grid_target_w=0.0, forced_w=float("nan"), allow_charge=True,
                 allow_discharge=True, hold=False):
        self.grid_target_w = grid_target_w
        self.forced_w = forced_w
        self.allow_charge = allow_charge
        self.allow_discharge = allow_discharge
        self.hold = hold


@cython.cclass
class Measurement:
    """One reading of meter and charger: times (s, monotonic), powers (W), V, Hz, SoC (%)."""

    t = cython.declare(cython.double, visibility="public")
    grid_w = cython.declare(cython.double, visibility="public")
    p1 = cython.declare(cython.double, visibility="public")
    p2 = cython.declare(cython.double, visibility="public")
    p3 = cython.declare(cython.double, visibility="public")
    v1 = cython.declare(cython.double, visibility="public")
    v2 = cython.declare(cython.double, visibility="public")
    v3 = cython.declare(cython.double, visibility="public")
    freq = cython.declare(cython.double, visibility="public")
    ev_t = cython.declare(cython.double, visibility="public")
    ev_w = cython.declare(cython.double, visibility="public")
    soc = cython.declare(cython.double, visibility="public")
    car_present = cython.declare(cython.bint, visibility="public")
    charger_ready = cython.declare(cython.bint, visibility="public")

    def __init__(self, t=0.0, grid_w=0.0, p1=0.0, p2=0.0, p3=0.0, v1=230.0, v2=230.0,
                 v3=230.0, freq=50.0, ev_t=0.0, ev_w=0.0, soc=50.0, car_present=True,
                 charger_ready=True):
        self.t = t
        self.grid_w = grid_w
        self.p1 = p1
        self.p2 = p2
        self.p3 = p3
        self.v1 = v1
        self.v2 = v2
        self.v3 = v3
        self.freq = freq
        self.ev_t = ev_t
        self.ev_w = ev_w
        self.soc = soc
        self.car_present = car_present
        self.charger_ready = charger_ready


@cython.cclass
class CtlState:
    """The controller's memory between steps: mode, integral (W), last setpoint (W), latches."""

    mode = cython.declare(cython.int, visibility="public")
    grid_ok = cython.declare(cython.bint, visibility="public")
    healthy_since = cython.declare(cython.double, visibility="public")
    had_loss = cython.declare(cython.bint, visibility="public")
    integ = cython.declare(cython.double, visibility="public")
    prev_ev = cython.declare(cython.double, visibility="public")
    prev_net = cython.declare(cython.double, visibility="public")
    prev_dn = cython.declare(cython.double, visibility="public")
    last_sp = cython.declare(cython.double, visibility="public")
    sp_age = cython.declare(cython.int, visibility="public")
    gain = cython.declare(cython.double, visibility="public")
    on = cython.declare(cython.bint, visibility="public")
    dis_block = cython.declare(cython.bint, visibility="public")
    chg_block = cython.declare(cython.bint, visibility="public")
    reasons = cython.declare(cython.int, visibility="public")
    fz_grid = cython.declare(cython.double, visibility="public")
    fz_p1 = cython.declare(cython.double, visibility="public")
    fz_v1 = cython.declare(cython.double, visibility="public")
    fz_freq = cython.declare(cython.double, visibility="public")
    fz_since = cython.declare(cython.double, visibility="public")
    unknown_since = cython.declare(cython.double, visibility="public")
    disobey_since = cython.declare(cython.double, visibility="public")
    ignore_since = cython.declare(cython.double, visibility="public")
    fault_until = cython.declare(cython.double, visibility="public")
    chk_ev = cython.declare(cython.double, visibility="public")
    soc_held = cython.declare(cython.double, visibility="public")
    soc_moved_wh = cython.declare(cython.double, visibility="public")
    soc_t = cython.declare(cython.double, visibility="public")
    meter_good = cython.declare(cython.bint, visibility="public")
    blind = cython.declare(cython.bint, visibility="public")
    grid_dis_ok = cython.declare(cython.bint, visibility="public")
    probe_t = cython.declare(cython.double, visibility="public")
    net_avg = cython.declare(cython.double, visibility="public")
    chase = cython.declare(cython.double, visibility="public")
    big_dn = cython.declare(cython.double, visibility="public")
    big_t = cython.declare(cython.double, visibility="public")
    up_t = cython.declare(cython.double, visibility="public")  # the last healthy sample's t
    # what the model traces back from: the last two readings of the charger (W) and when
    # (s), and the last four commands sent (W) with the time of the decision each followed
    prev2_dn = cython.declare(cython.double, visibility="public")  # the change before prev_dn
    prev_ev_t = cython.declare(cython.double, visibility="public")
    prev2_ev = cython.declare(cython.double, visibility="public")
    prev2_t = cython.declare(cython.double, visibility="public")
    dec_t = cython.declare(cython.double, visibility="public")
    c1_w = cython.declare(cython.double, visibility="public")
    c1_t = cython.declare(cython.double, visibility="public")
    c2_w = cython.declare(cython.double, visibility="public")
    c2_t = cython.declare(cython.double, visibility="public")
    c3_w = cython.declare(cython.double, visibility="public")
    c3_t = cython.declare(cython.double, visibility="public")
    c4_w = cython.declare(cython.double, visibility="public")
    c4_t = cython.declare(cython.double, visibility="public")

    def __init__(self, mode=0, grid_ok=False):
        self.mode = mode
        self.grid_ok = grid_ok
        self.healthy_since = float("nan")
        self.had_loss = False
        self.integ = 0.0
        self.prev_ev = float("nan")
        self.prev_net = float("nan")
        self.prev_dn = 0.0
        self.last_sp = 0.0
        self.sp_age = 0
        self.gain = 1.0
        self.on = False
        self.dis_block = False
        self.chg_block = False
        self.reasons = 0
        self.fz_grid = float("nan")
        self.fz_p1 = float("nan")
        self.fz_v1 = float("nan")
        self.fz_freq = float("nan")
        self.fz_since = 0.0
        self.unknown_since = float("nan")
        self.disobey_since = float("nan")
        self.ignore_since = float("nan")
        self.fault_until = -1.0e18
        self.chk_ev = float("nan")
        self.soc_held = float("nan")
        self.soc_moved_wh = 0.0
        self.soc_t = float("nan")
        self.meter_good = False
        self.blind = False  # the grid went unseen for longer than the loss budget
        self.grid_dis_ok = grid_ok  # the grid allows discharging (reconnect wait over)
        self.probe_t = float("nan")  # when the last SoC probe began
        self.net_avg = float("nan")  # the house's demand on the car, running mean (W)
        self.chase = 1.0  # how far the feed-forward follows the last sample (0..1)
        self.big_dn = 0.0  # the demand's last large change (W), and when
        self.big_t = -1.0e18
        self.up_t = float("nan")
        self.prev2_dn = 0.0
        self.prev_ev_t = float("nan")
        self.prev2_ev = float("nan")
        self.prev2_t = float("nan")
        self.dec_t = float("nan")
        self.c1_w = float("nan")
        self.c1_t = float("nan")
        self.c2_w = float("nan")
        self.c2_t = float("nan")
        self.c3_w = float("nan")
        self.c3_t = float("nan")
        self.c4_w = float("nan")
        self.c4_t = float("nan")

    def copy(self):
        c = CtlState(self.mode, self.grid_ok)
        _copy_state(self, c)
        return c


@cython.cfunc
@cython.exceptval(check=False)
def _copy_state(a: CtlState, b: CtlState) -> cython.void:
    b.mode = a.mode
    b.grid_ok = a.grid_ok
    b.healthy_since = a.healthy_since
    b.had_loss = a.had_loss
    b.integ = a.integ
    b.prev_ev = a.prev_ev
    b.prev_net = a.prev_net
    b.prev_dn = a.prev_dn
    b.last_sp = a.last_sp
    b.sp_age = a.sp_age
    b.gain = a.gain
    b.on = a.on
    b.dis_block = a.dis_block
    b.chg_block = a.chg_block
    b.reasons = a.reasons
    b.fz_grid = a.fz_grid
    b.fz_p1 = a.fz_p1
    b.fz_v1 = a.fz_v1
    b.fz_freq = a.fz_freq
    b.fz_since = a.fz_since
    b.unknown_since = a.unknown_since
    b.disobey_since = a.disobey_since
    b.ignore_since = a.ignore_since
    b.fault_until = a.fault_until
    b.chk_ev = a.chk_ev
    b.soc_held = a.soc_held
    b.soc_moved_wh = a.soc_moved_wh
    b.soc_t = a.soc_t
    b.meter_good = a.meter_good
    b.blind = a.blind
    b.grid_dis_ok = a.grid_dis_ok
    b.probe_t = a.probe_t
    b.net_avg = a.net_avg
    b.chase = a.chase
    b.big_dn = a.big_dn
    b.big_t = a.big_t
    b.up_t = a.up_t
    b.prev2_dn = a.prev2_dn
    b.prev_ev_t = a.prev_ev_t
    b.prev2_ev = a.prev2_ev
    b.prev2_t = a.prev2_t
    b.dec_t = a.dec_t
    b.c1_w = a.c1_w
    b.c1_t = a.c1_t
    b.c2_w = a.c2_w
    b.c2_t = a.c2_t
    b.c3_w = a.c3_w
    b.c3_t = a.c3_t
    b.c4_w = a.c4_w
    b.c4_t = a.c4_t


# --- shared clamp pieces --------------------------------------------------------------------

@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _clip(x: cython.double, lo: cython.double, hi: cython.double) -> cython.double:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _fuse_phase(p: cython.double, v: cython.double, share: cython.double, ev_lo: cython.double,
                ev_hi: cython.double, fuse: cython.double, lim: Limits, out: cython.double[2]
                ) -> cython.void:
    """Narrow the charger window out (W) so that one phase stays within `fuse` A.

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
    if hi < ev_lo:
        hi = max(hi + (hi - ev_lo), min(hi, lim.min_power_w))
    lo: cython.double = ev_hi - (fuse * v + p) / share
    if lo > ev_hi:
        lo = min(lo + (lo - ev_hi), max(lo, -lim.min_power_w))
    if hi < out[1]:
        out[1] = hi
    if lo > out[0]:
        out[0] = lo


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _fuse_window(m: Measurement, lim: Limits, ev_a: cython.double, ev_b: cython.double,
                 out: cython.double[2]) -> cython.void:
    """Charger power window [out0, out1] (W) that keeps every phase within the fuse, for a
    charger that ran between ev_a and ev_b W while the meter sampled."""
    fuse: cython.double = lim.fuse_a - lim.fuse_margin_a
    lo: cython.double = min(ev_a, ev_b)
    hi: cython.double = max(ev_a, ev_b)
    out[0] = -INF
    out[1] = INF
    _fuse_phase(m.p1, m.v1, lim.share1, lo, hi, fuse, lim, out)
    _fuse_phase(m.p2, m.v2, lim.share2, lo, hi, fuse, lim, out)
    _fuse_phase(m.p3, m.v3, lim.share3, lo, hi, fuse, lim, out)


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
    if (was_on and a >= mn - lim.min_power_hyst_w) or not zero_ok:
        if lo <= sgn * mn <= hi:
            return sgn * mn
    if zero_ok:
        return 0.0
    # neither 0 nor the minimum fit the window (only when it is narrower than min_power)
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
    if not (now - m.t <= lim.meter_stale_s) or not (now - m.ev_t <= lim.charger_lost_s):
        return False
    return True


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
    win: cython.double[2] = [0.0, 0.0]
    fw: cython.double[2] = [0.0, 0.0]
    if st.mode != M_REGULATING:
        return _stop(st, R_SUPERVISOR)
    if not (m.car_present and m.charger_ready):
        return _stop(st, R_CAR)
    reasons: cython.int = 0
    allow_chg: cython.bint = plan.allow_charge
    allow_dis: cython.bint = plan.allow_discharge and st.grid_dis_ok
    # state of charge, with a hysteresis band; an unknown SoC never allows discharge
    soc: cython.double = m.soc
    if isnan(soc):
        st.dis_block = True
    else:
        if soc <= lim.reserve_soc:
            st.dis_block = True
        elif soc >= lim.reserve_soc + lim.soc_hyst:
            st.dis_block = False
        if soc >= lim.max_soc:
            st.chg_block = True
        elif soc <= lim.max_soc - lim.soc_hyst:
            st.chg_block = False

    # tracking: feed-forward from the balance at the meter plus PI on what remains
    e: cython.double = m.grid_w - plan.grid_target_w
    dt: cython.double = lim.period_s
    forced: cython.bint = not isnan(plan.forced_w)
    want: cython.double
    if forced:
        want = plan.forced_w
        reasons |= R_FORCED
    elif lim.p_gain > 0.0:
        # the baseline every regulation figure is compared with: measured charger power
        # less a share of the error, nothing else (the same clamps follow)
        want = m.ev_w - lim.p_gain * e
    else:
        # the meter's sample is older than the charger's reading by lag_frac of a period:
        # take the charger's power at that instant, between its last two readings
        known: cython.bint = lim.model_known != 0.0
        ev_s: cython.double = m.ev_w
        if not isnan(st.prev_ev):
            ev_s = _ev_at_sample(m.ev_w, st, lim, now)
            _learn_gain(st, m.ev_w, lim)
        # the charger's own meter reads its power a few % off (the plant's default: +2 %);
        # what it reports is scaled back by the gain learnt from settled stretches, so a
        # step's feed-forward lands on the true power, not 2 % of the step beside it
        net: cython.double = ev_s / st.gain - e  # what the house asks of the car now (W)
        if not known and not isnan(st.prev_ev):
            net = _bracketed(net, m.ev_w, st, e, now, lim.period_s)
        # a load that switches faster than the loop can follow (a hob pulsing every few
        # seconds) shows as the house's demand reversing period after period: chasing the
        # last sample then lands each correction on the next half-period, out of phase. The
        # feed-forward then moves from the last sample toward the demand's running mean,
        # as far as the reversals say (st.chase: 1 follow the sample, 0 hold the mean)
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
        want = st.net_avg + st.chase * (net - st.net_avg) - lim.kp * e - st.integ
        # a ramp in progress (two changes of the same sign: clouds, not a switched load) is
        # carried on, since what is written now shows at the meter a loop's lag later
        dn: cython.double = net - st.prev_net
        if known and not isnan(dn) and _like(dn, st.prev_dn) and (
                lim.meter_window_s <= 0.0 or _like(st.prev_dn, st.prev2_dn)):
            # only a ramp (changes of a like size): a step's echo, the smaller change the
            # next period as the charger's reading catches up, is not carried on; behind an
            # averaging meter a step shows as two changes (the sample that straddles it,
            # then the rest), so a ramp there takes three. It is carried on over the loop's
            # whole lag by the model (the charger's dead time and time constant, the meter's
            # delay and half its window), in periods, x kd
            lag: cython.double = (lim.charger_dead_s + lim.charger_tau_s + lim.meter_delay_s
                                  + 0.5 * lim.meter_window_s) / lim.period_s
            want += lim.kd * lag * (dn if fabs(dn) < fabs(st.prev_dn) else st.prev_dn)
        st.prev2_dn = st.prev_dn
        st.prev_dn = dn if not isnan(dn) else 0.0
        st.prev_net = net
    # which clamp bites, in the clamp order of firmware_notes/design.md "The control step":
    # report each one that the wish runs into
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
    allow_dis = allow_dis and not st.dis_block
    allow_chg = allow_chg and not st.chg_block

    # deadband: small corrections are not worth a write (and would chatter on meter noise)
    sp: cython.double = want
    if not forced and st.on and fabs(want - st.last_sp) < lim.deadband_w:
        sp = st.last_sp
        reasons |= R_DEADBAND
    # ramp limit (lowest priority: every clamp below may override it)
    step_max: cython.double = lim.ramp_w_s * dt
    if sp > st.last_sp + step_max:
        sp = st.last_sp + step_max
        reasons |= R_RAMP
    elif sp < st.last_sp - step_max:
        sp = st.last_sp - step_max
        reasons |= R_RAMP
    prev: cython.double = m.ev_w if isnan(st.prev_ev) else st.prev_ev
    st.prev2_ev = st.prev_ev
    st.prev2_t = st.prev_ev_t
    st.prev_ev = m.ev_w
    st.prev_ev_t = now
    _fuse_window(m, lim, m.ev_w, prev, fw)
    if sp < fw[0] or sp > fw[1]:
        reasons |= R_FUSE
    _combine(-lim.max_discharge_w if allow_dis else 0.0, lim.max_charge_w if allow_chg else 0.0,
             fw, win)
    sp = _clip(sp, win[0], win[1])
    out: cython.double = _min_power(sp, win[0], win[1], st.on, lim)
    if out != sp:
        reasons |= R_MIN_POWER
    # anti-windup: integrate only small errors while no clamp holds the output (a deadband
    # hold is not saturation; the feed-forward owns the transients)
    if not forced and (reasons & ~R_DEADBAND) == 0 and fabs(e) < lim.integ_band_w:
        st.integ = _clip(st.integ + lim.ki * e * dt, -lim.integ_max_w, lim.integ_max_w)
    elif forced or out == 0.0:
        st.integ = 0.0
    if fabs(out - st.last_sp) < 0.5:
        st.sp_age += 1
    else:
        st.sp_age = 0
    st.last_sp = out
    st.on = out != 0.0
    st.reasons = reasons
    return out


BRACKET_MIN_W = cython.declare(cython.double, 100.0)  # below, a wrong model errs by tens of W


@cython.cfunc
@cython.exceptval(check=False)
def _bracketed(net: cython.double, ev_w: cython.double, st: CtlState, e: cython.double,
               now: cython.double, period: cython.double) -> cython.double:
    """What the house asks of the car (W) while the charger's model is only a guess (a cold
    start, before the first fit): the meter's sample fell somewhere between the charger's
    last readings (this one, the last, and the one before for a meter that averages or
    publishes late), so the demand lies between what each of them implies. The setpoint in
    force is kept while it lies in that bracket; else the nearest end is taken, which moves
    toward the demand and never past it, whatever the charger's dead time and time constant
    (a wrong model's trace-back corrects twice and overshoots). Readings older than the
    last two periods (control resumed after a stop) bound nothing: the reading alone."""
    if not (now - st.prev_ev_t <= 1.5 * period):
        return net
    lo: cython.double = min(ev_w, st.prev_ev)
    hi: cython.double = max(ev_w, st.prev_ev)
    if not isnan(st.prev2_ev) and now - st.prev2_t <= 2.5 * period:
        lo = min(lo, st.prev2_ev)
        hi = max(hi, st.prev2_ev)
    if hi - lo < BRACKET_MIN_W:
        return net
    held: cython.double = st.last_sp + st.integ
    if isnan(held):
        return net
    return _clip(held, lo / st.gain - e, hi / st.gain - e)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _like(a: cython.double, b: cython.double) -> cython.bint:
    """Two changes of one sign and a like size (within a factor of two)."""
    return a * b > 0.0 and 0.5 * fabs(b) <= fabs(a) <= 2.0 * fabs(b)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _note_command(st: CtlState, now: cython.double) -> cython.void:
    """The step's last setpoint into the command history, at the time of the decision that
    made it (the write follows within milliseconds)."""
    if not isnan(st.dec_t):
        st.c4_w = st.c3_w
        st.c4_t = st.c3_t
        st.c3_w = st.c2_w
        st.c3_t = st.c2_t
        st.c2_w = st.c1_w
        st.c2_t = st.c1_t
        st.c1_w = st.last_sp
        st.c1_t = st.dec_t
    st.dec_t = now


@cython.cfunc
@cython.exceptval(check=False)
def _ev_at_sample(ev_w: cython.double, st: CtlState, lim: Limits, now: cython.double
                  ) -> cython.double:
    """The charger's power (W, as it reports it) at the meter's sample: `meter_delay_s`
    before now, or its mean over the `meter_window_s` before that. The model (dead time,
    tau, ramp) runs forward from the last reading through the commands in force; what it
    missed at this reading is spread over the period in proportion to the time elapsed."""
    if isnan(st.prev_ev_t) or not (now - st.prev_ev_t > 0.0):
        return ev_w
    g: cython.double = st.gain
    miss: cython.double = ev_w / g - _model_power(st, lim, now)
    if isnan(miss):
        return ev_w
    s: cython.double = now - lim.meter_delay_s
    if lim.meter_window_s <= 0.0:
        return g * _corrected(st, lim, s, miss, now)
    acc: cython.double = 0.0
    j: cython.int
    for j in range(ID_AVG_POINTS):
        acc += _corrected(st, lim, s - lim.meter_window_s * (j + 0.5) / ID_AVG_POINTS, miss,
                          now)
    return g * acc / ID_AVG_POINTS


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _corrected(st: CtlState, lim: Limits, t: cython.double, miss: cython.double,
               now: cython.double) -> cython.double:
    """The model's power at t (W), with the share of this reading's miss due by then."""
    w: cython.double = _clip((t - st.prev_ev_t) / (now - st.prev_ev_t), 0.0, 1.0)
    return _model_power(st, lim, t) + w * miss


@cython.cfunc
@cython.exceptval(check=False)
def _model_power(st: CtlState, lim: Limits, t: cython.double) -> cython.double:
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
    return _trajectory(p / st.gain, t0, t, cw, ct, 4, lim.charger_dead_s, lim.charger_tau_s,
                       lim.charger_ramp_w_s)


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def _trajectory(p: cython.double, t0: cython.double, t1: cython.double,
                cmd_w: cython.p_double, cmd_t: cython.p_double, n: cython.int,
                dead: cython.double, tau: cython.double, ramp: cython.double
                ) -> cython.double:
    """The charger's power at t1 (W) from p at t0, driven by commands cmd_w sent at cmd_t
    (oldest first, n of them, NaN times skipped), each acting dead s after it was sent: the
    model the identification fits and the step traces back with. NaN when no command is
    known to be in force at t0."""
    target: cython.double = NAN
    i: cython.int
    for i in range(n):
        if not isnan(cmd_t[i]) and cmd_t[i] + dead <= t0:
            target = cmd_w[i]
    if isnan(target):
        return NAN
    t: cython.double = t0
    for i in range(n):
        if isnan(cmd_t[i]):
            continue
        s: cython.double = cmd_t[i] + dead
        if s <= t0:
            continue
        if s >= t1:
            break
        p = _advance(p, target, s - t, tau, ramp)
        t = s
        target = cmd_w[i]
    return _advance(p, target, t1 - t, tau, ramp)


GAIN_SETTLED_STEPS = cython.declare(cython.int, 2)  # held 2 periods, and reading steadily
GAIN_MIN_W = cython.declare(cython.double, 1000.0)  # below, noise and offsets dominate
GAIN_RATE = cython.declare(cython.double, 0.5)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _learn_gain(st: CtlState, ev_w: cython.double, lim: Limits) -> cython.void:
    """Reported / commanded power of a charger that has held one setpoint long enough to
    settle and reads steadily: the charger's meter gain (with its tracking error), 0.9-1.1."""
    if st.sp_age < GAIN_SETTLED_STEPS or fabs(st.last_sp) < GAIN_MIN_W:
        return
    if fabs(ev_w - st.prev_ev) > 0.005 * fabs(ev_w) + 5.0:
        return
    r: cython.double = _clip(ev_w / st.last_sp, 0.9, 1.1)
    old: cython.double = st.gain
    st.gain += GAIN_RATE * (r - old)
    # what the integral had taken up of the same error moves into the gain: the output
    # stays where it is now, and the next step's feed-forward is right
    st.integ = _clip(st.integ + ev_w * (1.0 / st.gain - 1.0 / old), -lim.integ_max_w,
                     lim.integ_max_w)


def reason_names(bits: cython.int):
    """The names of the clamps set in a reasons bit field, in priority order."""
    return tuple(REASONS[i] for i in range(len(REASONS)) if bits & (1 << i))


def step(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: cython.double):
    """The control step as a pure function: (setpoint W, new state, reason names)."""
    new = st.copy()
    sp = _step(m, new, lim, plan, now)
    return sp, new, reason_names(new.reasons)


# --- the supervisor's transitions -----------------------------------------------------------

GRID_UNKNOWN = cython.declare(cython.int, -1)
GRID_DOWN = cython.declare(cython.int, 0)
GRID_UP = cython.declare(cython.int, 1)
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


# --- the plant (firmware_notes/design.md "The plant"): charger, car, meter, in sub-steps

# per-second event flags of a scenario (one byte a second)
F_CAR = cython.declare(cython.int, 1)            # car plugged in
F_GRID_DOWN = cython.declare(cython.int, 2)      # grid lost: meter shows 0 V, 0 Hz
F_METER_SILENT = cython.declare(cython.int, 4)   # meter does not answer
F_METER_FROZEN = cython.declare(cython.int, 8)   # meter answers the same values
F_METER_GARBAGE = cython.declare(cython.int, 16)  # meter answers NaN / absurd values
F_CHARGER_LOST = cython.declare(cython.int, 32)  # charger does not answer (nor hear writes)
F_CHARGER_ERROR = cython.declare(cython.int, 64)  # charger in its error state
F_CHARGER_STUCK = cython.declare(cython.int, 128)  # charger hears writes, ignores them
FLAGS = ("car", "grid_down", "meter_silent", "meter_frozen", "meter_garbage", "charger_lost",
         "charger_error", "charger_stuck")
METER_BAD = cython.declare(cython.int, 4 | 8 | 16)

# a charger within this of its target (W) has settled (its own regulation is coarser)
SETTLED_W = cython.declare(cython.double, 0.5)

M64 = cython.declare(cython.ulonglong, 0xFFFFFFFFFFFFFFFF)
GOLDEN = cython.declare(cython.ulonglong, 0x9E3779B97F4A7C15)
MIX1 = cython.declare(cython.ulonglong, 0xBF58476D1CE4E5B9)
MIX2 = cython.declare(cython.ulonglong, 0x94D049BB133111EB)


@cython.cclass
class Plant:
    """The simulated DC charger, car and meter; powers in W, energies in Wh, times in s."""

    n_sub = cython.declare(cython.int, visibility="public")
    meter_lat_n = cython.declare(cython.int, visibility="public")
    meter_noise_w = cython.declare(cython.double, visibility="public")
    dead_s = cython.declare(cython.double, visibility="public")
    tau_s = cython.declare(cython.double, visibility="public")
    ramp_w_s = cython.declare(cython.double, visibility="public")
    min_w = cython.declare(cython.double, visibility="public")
    max_chg_w = cython.declare(cython.double, visibility="public")
    max_dis_w = cython.declare(cython.double, visibility="public")
    eff = cython.declare(cython.double, visibility="public")
    meas_gain = cython.declare(cython.double, visibility="public")
    anti_islanding = cython.declare(cython.bint, visibility="public")
    watchdog_s = cython.declare(cython.double, visibility="public")
    cap_wh = cython.declare(cython.double, visibility="public")
    car_min_soc = cython.declare(cython.double, visibility="public")
    soc_zero_idle = cython.declare(cython.bint, visibility="public")
    dead_jitter_s = cython.declare(cython.double, visibility="public")
    meter_avg = cython.declare(cython.bint, visibility="public")
    pv_share1 = cython.declare(cython.double, visibility="public")
    pv_share2 = cython.declare(cython.double, visibility="public")
    pv_share3 = cython.declare(cython.double, visibility="public")
    ev_share1 = cython.declare(cython.double, visibility="public")
    ev_share2 = cython.declare(cython.double, visibility="public")
    ev_share3 = cython.declare(cython.double, visibility="public")
    # state
    soc_wh = cython.declare(cython.double, visibility="public")
    p = cython.declare(cython.double, visibility="public")
    cmd_act = cython.declare(cython.double, visibility="public")
    cmd_pend = cython.declare(cython.double, visibility="public")
    pend_t = cython.declare(cython.double, visibility="public")
    # a second command in flight (a dead time longer than the write period): first in,
    # first acted on
    pend_wt = cython.declare(cython.double, visibility="public")
    cmd_pend2 = cython.declare(cython.double, visibility="public")
    pend_wt2 = cython.declare(cython.double, visibility="public")
    pend_t2 = cython.declare(cython.double, visibility="public")
    # the averaging meter: the phase powers summed over this second's sub-steps up to its
    # sample (W x sub-steps), and the tail of the last second after it
    acc1 = cython.declare(cython.double, visibility="public")
    acc2 = cython.declare(cython.double, visibility="public")
    acc3 = cython.declare(cython.double, visibility="public")
    tail1 = cython.declare(cython.double, visibility="public")
    tail2 = cython.declare(cython.double, visibility="public")
    tail3 = cython.declare(cython.double, visibility="public")
    last_comm_t = cython.declare(cython.double, visibility="public")
    rng = cython.declare(cython.ulonglong, visibility="public")
    # the meter's last sample (what a read returns) and its time
    s_t = cython.declare(cython.double, visibility="public")
    s_p1 = cython.declare(cython.double, visibility="public")
    s_p2 = cython.declare(cython.double, visibility="public")
    s_p3 = cython.declare(cython.double, visibility="public")
    s_v = cython.declare(cython.double, visibility="public")
    s_f = cython.declare(cython.double, visibility="public")
    ev_noise = cython.declare(cython.double, visibility="public")
    # the real-time bench's view (tick): phase powers at the meter (W), energy counters (Wh)
    g1 = cython.declare(cython.double, visibility="public")
    g2 = cython.declare(cython.double, visibility="public")
    g3 = cython.declare(cython.double, visibility="public")
    imp_wh = cython.declare(cython.double, visibility="public")
    exp_wh = cython.declare(cython.double, visibility="public")
    chg_wh = cython.declare(cython.double, visibility="public")
    dis_wh = cython.declare(cython.double, visibility="public")
    # derived once per run by _prepare (divisions kept off the per-sub-step path)
    h = cython.declare(cython.double)
    alpha = cython.declare(cython.double)
    ramp_h = cython.declare(cython.double)
    tgt = cython.declare(cython.double)
    k_chg = cython.declare(cython.double)
    k_dis = cython.declare(cython.double)
    min_wh = cython.declare(cython.double)
    pct_per_wh = cython.declare(cython.double)

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
        self.p = 0.0
        self.cmd_act = 0.0
        self.cmd_pend = 0.0
        self.pend_t = float("nan")
        self.pend_wt = float("nan")
        self.cmd_pend2 = 0.0
        self.pend_wt2 = float("nan")
        self.pend_t2 = float("nan")
        self.acc1 = 0.0
        self.acc2 = 0.0
        self.acc3 = 0.0
        self.tail1 = float("nan")
        self.tail2 = 0.0
        self.tail3 = 0.0
        self.last_comm_t = 0.0
        self.rng = (seed * 2654435761 + 12345) & 0xFFFFFFFFFFFFFFFF
        self.s_t = -1.0e9
        self.s_p1 = 0.0
        self.s_p2 = 0.0
        self.s_p3 = 0.0
        self.s_v = 230.0
        self.s_f = 50.0
        self.ev_noise = 0.0
        self.g1 = 0.0
        self.g2 = 0.0
        self.g3 = 0.0
        self.imp_wh = 0.0
        self.exp_wh = 0.0
        self.chg_wh = 0.0
        self.dis_wh = 0.0

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
        return _noise(self, a)


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
def _next(pl: Plant) -> cython.ulonglong:
    """64 random bits from splitmix64: the same bits compiled and pure."""
    z: cython.ulonglong
    pl.rng = (pl.rng + GOLDEN) & M64
    z = pl.rng
    z = ((z ^ (z >> 30)) * MIX1) & M64
    z = ((z ^ (z >> 27)) * MIX2) & M64
    return z ^ (z >> 31)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _rand(pl: Plant) -> cython.double:
    """Uniform in [0, 1): the same doubles compiled and pure."""
    return (_next(pl) >> 11) * (1.0 / 9007199254740992.0)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _noise(pl: Plant, a: cython.double) -> cython.double:
    """Uniform noise in [-a, a): cheap, bounded, zero mean."""
    return (2.0 * _rand(pl) - 1.0) * a


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _write(pl: Plant, sp: cython.double, t: cython.double) -> cython.void:
    """A setpoint reaches the charger at time t; it acts after the dead time."""
    d: cython.double = pl.dead_s
    if pl.dead_jitter_s > 0.0:
        d += _rand(pl) * pl.dead_jitter_s
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
        pl.pend_t = NAN
        pl.pend_t2 = NAN
    if not (flags & F_CAR):
        pl.p = 0.0
        pl.cmd_act = 0.0
        pl.pend_t = NAN
        pl.pend_t2 = NAN
        pl.tgt = 0.0
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


@cython.cclass
class Totals:
    """What the plant saw over a run: energies (Wh), peaks (W), safety seconds by kind."""

    pv_wh = cython.declare(cython.double, visibility="public")
    load_wh = cython.declare(cython.double, visibility="public")
    import_wh = cython.declare(cython.double, visibility="public")
    export_wh = cython.declare(cython.double, visibility="public")
    ev_charge_wh = cython.declare(cython.double, visibility="public")
    ev_discharge_wh = cython.declare(cython.double, visibility="public")
    max_export_w = cython.declare(cython.double, visibility="public")
    max_phase_a = cython.declare(cython.double, visibility="public")
    v_grid = cython.declare(cython.long, visibility="public")
    v_reserve = cython.declare(cython.long, visibility="public")
    v_fuse = cython.declare(cython.long, visibility="public")
    v_limits = cython.declare(cython.long, visibility="public")
    v_stale = cython.declare(cython.long, visibility="public")
    seconds = cython.declare(cython.long, visibility="public")
    # running memory for the safety judge
    down_since = cython.declare(cython.double, visibility="public")
    bad_meter_since = cython.declare(cython.double, visibility="public")
    over1 = cython.declare(cython.double, visibility="public")
    over2 = cython.declare(cython.double, visibility="public")
    over3 = cython.declare(cython.double, visibility="public")
    # judge parameters
    reserve_soc = cython.declare(cython.double, visibility="public")
    fuse_a = cython.declare(cython.double, visibility="public")
    fuse_grace_s = cython.declare(cython.double, visibility="public")
    stop_budget_s = cython.declare(cython.double, visibility="public")
    stale_budget_s = cython.declare(cython.double, visibility="public")
    nominal_v = cython.declare(cython.double, visibility="public")

    def __init__(self, reserve_soc=30.0, fuse_a=25.0, fuse_grace_s=3.0, stop_budget_s=0.5,
                 stale_budget_s=3.5, nominal_v=230.0):
        self.pv_wh = 0.0
        self.load_wh = 0.0
        self.import_wh = 0.0
        self.export_wh = 0.0
        self.ev_charge_wh = 0.0
        self.ev_discharge_wh = 0.0
        self.max_export_w = 0.0
        self.max_phase_a = 0.0
        self.v_grid = 0
        self.v_reserve = 0
        self.v_fuse = 0
        self.v_limits = 0
        self.v_stale = 0
        self.seconds = 0
        self.down_since = float("nan")
        self.bad_meter_since = float("nan")
        self.over1 = 0.0
        self.over2 = 0.0
        self.over3 = 0.0
        self.reserve_soc = reserve_soc
        self.fuse_a = fuse_a
        self.fuse_grace_s = fuse_grace_s
        self.stop_budget_s = stop_budget_s
        self.stale_budget_s = stale_budget_s
        self.nominal_v = nominal_v

    @property
    def safety_violations(self):
        return self.v_grid + self.v_reserve + self.v_fuse + self.v_limits + self.v_stale


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _over(over: cython.double, i: cython.double, ev_i: cython.double, fuse: cython.double,
          h: cython.double) -> cython.double:
    """Seconds a phase has been over the fuse with the charger adding to it (else 0)."""
    if fabs(i) > fuse and i * ev_i > 0.0:
        return over + h
    return 0.0


# --- policies run by the batch: the step (v2h), evcc-like, none, and the oracle -------------

P_NONE = cython.declare(cython.int, 0)
P_V2H = cython.declare(cython.int, 1)
P_EVCC = cython.declare(cython.int, 2)
P_ORACLE = cython.declare(cython.int, 3)
POLICIES = ("none", "v2h", "evcc-like", "oracle")


@cython.cclass
class EvccState:
    """evcc's PV mode as documented: 30 s interval, 6 A minimum, 1 A steps, enable 60 s at
    >= 1.4 kW surplus, disable after 180 s below it; holds its setpoint when the meter fails."""

    enabled = cython.declare(cython.bint, visibility="public")
    timer = cython.declare(cython.double, visibility="public")
    sp = cython.declare(cython.double, visibility="public")
    interval_s = cython.declare(cython.double, visibility="public")
    next_t = cython.declare(cython.double, visibility="public")

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


# --- the batch runner: plant + policy over a stretch of seconds, no Python call per step ----

@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _meter_tick(pl: Plant, tot: Totals, g1: cython.double, g2: cython.double,
                g3: cython.double, ts: cython.double, flags: cython.int) -> cython.void:
    """The meter samples the phase powers (W) at ts; the judge notes when its data went bad."""
    _sample_meter(pl, g1, g2, g3, ts, flags)
    if flags & (F_METER_SILENT | F_METER_FROZEN | F_METER_GARBAGE):
        if isnan(tot.bad_meter_since):
            tot.bad_meter_since = ts
    else:
        tot.bad_meter_since = NAN


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
        pl.s_p2 = pl.s_p1
        pl.s_p3 = pl.s_p1
        return
    a: cython.double = pl.meter_noise_w
    # one draw gives four 16-bit uniforms: three phases now, the charger's reading next
    z: cython.ulonglong = _next(pl)
    k: cython.double = 2.0 * a / 65536.0
    pl.s_p1 = g1 + (cython.cast(cython.double, z & 0xFFFF) * k - a)
    pl.s_p2 = g2 + (cython.cast(cython.double, (z >> 16) & 0xFFFF) * k - a)
    pl.s_p3 = g3 + (cython.cast(cython.double, (z >> 32) & 0xFFFF) * k - a)
    pl.ev_noise = cython.cast(cython.double, (z >> 48) & 0xFFFF) / 32768.0 - 1.0
    if flags & F_GRID_DOWN:
        pl.s_v = 0.0
        pl.s_f = 0.0
    else:
        pl.s_v = 230.0
        pl.s_f = 50.0


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


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _avg_tick(pl: Plant, a1: cython.double, a2: cython.double, a3: cython.double,
              n: cython.int, ns: cython.int) -> cython.void:
    """The averaging meter's sample into acc1..3 (W): the second before its instant, from
    n sub-steps of this second (sums a1..a3) and the last second's tail after its sample
    (before the first sample: these n alone)."""
    if isnan(pl.tail1):
        pl.acc1 = a1 / n
        pl.acc2 = a2 / n
        pl.acc3 = a3 / n
    else:
        pl.acc1 = (a1 + pl.tail1) / ns
        pl.acc2 = (a2 + pl.tail2) / ns
        pl.acc3 = (a3 + pl.tail3) / ns


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _watch_sample(mf: Measurement, m: Measurement, pl: Plant, ts: cython.double,
                  flags: cython.int) -> cython.void:
    """What the grid watch reads at sub-step ts: the meter's voltage and frequency now (0 V,
    0 Hz on a loss) unless it is silent (its last sample, with that sample's time), frozen
    (the last values) or garbage; the charger's power as the cycle last read it."""
    mf.ev_t = m.ev_t
    mf.ev_w = m.ev_w
    mf.car_present = m.car_present
    if flags & F_METER_SILENT:
        mf.t = pl.s_t
        mf.v1 = pl.s_v
        mf.freq = pl.s_f
    elif flags & F_METER_GARBAGE:
        mf.t = ts
        mf.v1 = NAN
        mf.freq = NAN
    elif flags & F_METER_FROZEN:
        mf.t = ts
        mf.v1 = pl.s_v
        mf.freq = pl.s_f
    elif flags & F_GRID_DOWN:
        mf.t = ts
        mf.v1 = 0.0
        mf.freq = 0.0
    else:
        mf.t = ts
        mf.v1 = 230.0
        mf.freq = 50.0
    mf.v2 = mf.v1
    mf.v3 = mf.v1


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
    j: cython.int
    ns: cython.int = pl.n_sub
    _prepare(pl)
    h: cython.double = pl.h
    wh: cython.double = h / 3600.0  # Wh per W over one sub-step
    lat: cython.int = pl.meter_lat_n
    fast_j: cython.int = lat if lat > 0 else 1
    m: Measurement = Measurement()
    mf: Measurement = Measurement()  # what the grid watch sees at a sub-step
    cmd: cython.double = _last_cmd(pl)  # the last command sent (W)
    avg: cython.bint = pl.meter_avg
    do_trace: cython.bint = len(trace) >= 6 * n
    do_facts: cython.bint = facts is not None and len(facts) >= 5 * n
    # the plant's meter publishes once a second, and the batch looks at it once a second
    # where nothing is amiss (the live loop's watch looks ten times a second): a 1-s gap in
    # the grid's record is its pace, not a spell unseen (restored at the end)
    interval: cython.double = lim.meter_interval_s
    lim.meter_interval_s = max(interval, 1.0)
    fuse: cython.double = tot.fuse_a
    v: cython.double = tot.nominal_v
    inv_v: cython.double = 1.0 / v
    inv_ns: cython.double = 1.0 / ns
    reserve_wh: cython.double = tot.reserve_soc * pl.cap_wh / 100.0
    # running sums in locals (W x sub-steps), folded into tot at the end
    imp: cython.double = 0.0
    exp_: cython.double = 0.0
    chg: cython.double = 0.0
    dis: cython.double = 0.0
    max_exp: cython.double = tot.max_export_w
    max_a: cython.double = tot.max_phase_a * v
    es: cython.double = pl.ev_share1 + pl.ev_share2 + pl.ev_share3
    e1: cython.bint = pl.ev_share1 > 0.0
    e2: cython.bint = pl.ev_share2 > 0.0
    e3: cython.bint = pl.ev_share3 > 0.0
    o1: cython.double = tot.over1
    o2: cython.double = tot.over2
    o3: cython.double = tot.over3
    grace: cython.double = tot.fuse_grace_s
    for k in range(n):
        t: cython.double = t0 + k
        fl: cython.int = flags[k]
        ld1: cython.double = l1[k]
        ld2: cython.double = l2[k]
        ld3: cython.double = l3[k]
        pvk: cython.double = pv[k]
        _fill_measurement(m, pl, t, fl)
        sp: cython.double = 0.0
        if policy == P_V2H:
            sp = _decide(m, st, lim, plan, t, cmd, True)
        elif policy == P_EVCC:
            sp = _evcc(ev, m, lim, t)
        elif policy == P_NONE:
            sp = _none(m, lim)
        else:
            # the oracle: true load, PV and SoC, no delay, no measurement error
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
            sp = _oracle(m, st, lim, plan, pl.soc_wh / pl.cap_wh * 100.0, ld1 + ld2 + ld3, pvk)
        wrote: cython.bint = False
        if fl & F_CHARGER_STUCK:
            pl.last_comm_t = t  # it hears us (its watchdog is fed) and ignores the command
        elif not (fl & F_CHARGER_LOST):
            _write(pl, sp, t)
            wrote = True
        cmd = sp
        if do_facts:
            facts[5 * k] = t
            facts[5 * k + 1] = NAN if fl & F_CHARGER_LOST else m.ev_w
            facts[5 * k + 2] = sp if wrote else NAN
            facts[5 * k + 3] = 1.0 if st.mode == M_REGULATING and m.car_present else 0.0
            facts[5 * k + 4] = m.grid_w
        # the judge, per second: setpoint within the charger's limits, and never a non-zero
        # setpoint on meter data older than the stale budget or plainly invalid
        if (sp > lim.max_charge_w + 0.5 or sp < -lim.max_discharge_w - 0.5
                or (sp != 0.0 and fabs(sp) < lim.min_power_w - 0.5)):
            tot.v_limits += 1
        if sp != 0.0 and (not (fabs(m.grid_w) <= MAX_ABS_W)
                          or t - tot.bad_meter_since > tot.stale_budget_s):
            tot.v_stale += 1
        if fl & F_GRID_DOWN:
            if isnan(tot.down_since):
                tot.down_since = t
        else:
            tot.down_since = NAN
        b1: cython.double = ld1 - pvk * pl.pv_share1
        b2: cython.double = ld2 - pvk * pl.pv_share2
        b3: cython.double = ld3 - pvk * pl.pv_share3
        bt: cython.double = b1 + b2 + b3
        viol_grid: cython.bint = False
        grid_dn: cython.bint = (fl & F_GRID_DOWN) != 0
        viol_res: cython.bint = False
        gsum: cython.double = 0.0
        psum: cython.double = 0.0
        _charger_retarget(pl, t, fl)
        last_ts: cython.double = t + (ns - 1) * h + 1e-9
        # the grid watch runs on the sub-steps of a second where it may act (grid down, meter
        # faulted), as the live loop's watch does between its cycles
        watch: cython.bint = policy == P_V2H and (grid_dn or (fl & METER_BAD) != 0)
        if not grid_dn and not watch and pl.p == pl.tgt and isnan(pl.pend_t2) and (
                not (pl.pend_t <= last_ts) or pl.cmd_pend == pl.cmd_act):
            # a settled charger and nothing new to act on: every sub-step is the same, so the
            # second is summed at once (most of a night, and every deadband hold)
            if pl.pend_t <= last_ts:
                pl.cmd_act = pl.cmd_pend
                pl.pend_t = NAN
            pp: cython.double = pl.p
            g: cython.double = bt + pp * es
            gsum = g * ns
            imp += max(g, 0.0) * ns
            exp_ += max(-g, 0.0) * ns
            max_exp = max(max_exp, -g)
            chg += max(pp, 0.0) * ns
            dis += max(-pp, 0.0) * ns
            psum = pp * ns
            pl.soc_wh += pp * (pl.k_chg if pp > 0.0 else pl.k_dis) * ns
            if pp < 0.0 and pl.soc_wh < reserve_wh:
                viol_res = True
            if avg:
                # the same phase powers on every sub-step: ns - lat of them up to the sample
                _avg_tick(pl, (b1 + pp * pl.ev_share1) * (ns - lat),
                          (b2 + pp * pl.ev_share2) * (ns - lat),
                          (b3 + pp * pl.ev_share3) * (ns - lat), ns - lat, ns)
                _meter_tick(pl, tot, pl.acc1, pl.acc2, pl.acc3, t + (ns - lat) * h, fl)
                pl.tail1 = (b1 + pp * pl.ev_share1) * lat
                pl.tail2 = (b2 + pp * pl.ev_share2) * lat
                pl.tail3 = (b3 + pp * pl.ev_share3) * lat
                pl.acc1 = 0.0
                pl.acc2 = 0.0
                pl.acc3 = 0.0
            else:
                _meter_tick(pl, tot, b1 + pp * pl.ev_share1, b2 + pp * pl.ev_share2,
                            b3 + pp * pl.ev_share3, t + (ns - lat) * h, fl)
        else:
            for j in range(ns):
                ts: cython.double = t + j * h
                if watch and j >= fast_j:
                    _watch_sample(mf, m, pl, ts, fl)
                    if _fast_path(st, mf, lim, ts, cmd) and cmd != 0.0:
                        sp = _stop(st, R_SUPERVISOR)
                        cmd = 0.0
                        if not (fl & (F_CHARGER_LOST | F_CHARGER_STUCK)):
                            _write(pl, 0.0, ts)
                if grid_dn:
                    # a meter dark with the grid gives the watch nothing to see: it stops on
                    # the sample's age, one publication interval later
                    budget: cython.double = tot.stop_budget_s + (
                        lim.meter_interval_s if fl & F_METER_SILENT else 0.0)
                    if ts >= tot.down_since + budget and _last_cmd(pl) < 0.0:
                        viol_grid = True
                if j > 0 and pl.pend_t <= ts + 1e-9:
                    _charger_retarget(pl, ts, fl)
                _charger_move(pl)
                pp = pl.p
                g = bt + pp * es
                gsum += g
                # branch-free sums: the grid sign flips at random when tracking is good
                imp += max(g, 0.0)
                exp_ += max(-g, 0.0)
                max_exp = max(max_exp, -g)
                chg += max(pp, 0.0)
                dis += max(-pp, 0.0)
                if pp < 0.0 and pl.soc_wh < reserve_wh:
                    viol_res = True
                psum += pp
                if avg:
                    pl.acc1 += b1 + pp * pl.ev_share1
                    pl.acc2 += b2 + pp * pl.ev_share2
                    pl.acc3 += b3 + pp * pl.ev_share3
                    if j == ns - 1 - lat:
                        _avg_tick(pl, pl.acc1, pl.acc2, pl.acc3, j + 1, ns)
                        _meter_tick(pl, tot, pl.acc1, pl.acc2, pl.acc3, ts + h, fl)
                        pl.acc1 = 0.0
                        pl.acc2 = 0.0
                        pl.acc3 = 0.0
                elif j == ns - 1 - lat:
                    _meter_tick(pl, tot, b1 + pp * pl.ev_share1, b2 + pp * pl.ev_share2,
                                b3 + pp * pl.ev_share3, ts + h, fl)
            if avg:  # what the next sample's window takes from this second
                pl.tail1 = pl.acc1
                pl.tail2 = pl.acc2
                pl.tail3 = pl.acc3
                pl.acc1 = 0.0
                pl.acc2 = 0.0
                pl.acc3 = 0.0
        # the fuse judge: mean phase current over the second (a fuse is thermal), and only on
        # phases the charger is on (elsewhere it adds nothing)
        pm: cython.double = psum * inv_ns
        if e1:
            o1 = _over(o1, (b1 + pm * pl.ev_share1) * inv_v, pm, fuse, 1.0)
            max_a = max(max_a, fabs(b1 + pm * pl.ev_share1))
        if e2:
            o2 = _over(o2, (b2 + pm * pl.ev_share2) * inv_v, pm, fuse, 1.0)
            max_a = max(max_a, fabs(b2 + pm * pl.ev_share2))
        if e3:
            o3 = _over(o3, (b3 + pm * pl.ev_share3) * inv_v, pm, fuse, 1.0)
            max_a = max(max_a, fabs(b3 + pm * pl.ev_share3))
        if o1 > grace or o2 > grace or o3 > grace:
            tot.v_fuse += 1
        tot.load_wh += (ld1 + ld2 + ld3) * (1.0 / 3600.0)
        tot.pv_wh += pvk * (1.0 / 3600.0)
        tot.seconds += 1
        if viol_grid:
            tot.v_grid += 1
        if viol_res:
            tot.v_reserve += 1
        if do_trace:
            trace[6 * k] = gsum * inv_ns
            trace[6 * k + 1] = sp
            trace[6 * k + 2] = pl.p
            trace[6 * k + 3] = pl.soc_wh / pl.cap_wh * 100.0
            trace[6 * k + 4] = st.mode
            trace[6 * k + 5] = st.reasons
    tot.import_wh += imp * wh
    tot.export_wh += exp_ * wh
    tot.ev_charge_wh += chg * wh
    tot.ev_discharge_wh += dis * wh
    tot.max_export_w = max_exp
    tot.max_phase_a = max_a * inv_v
    tot.over1 = o1
    tot.over2 = o2
    tot.over3 = o3
    lim.meter_interval_s = interval


# --- identification (issue #12): the charger's response and the meter's lag, from what each
# cycle read and wrote. The live loop and the simulator feed it the same facts; `fit()` finds
# the model that best predicts each charger reading from the one before and the commands in
# force between them, then the meter's delay and window that best explain how the grid
# moved with the charger, then both together (firmware_notes/regulation.md "Identification")

ID_CAPACITY = 600  # cycles kept (10 minutes at 1 s)
ID_D_STEP = cython.declare(cython.double, 0.1)  # the coarse grid's dead-time step (s), from 0
ID_D_N = cython.declare(cython.int, 21)  # 0 .. 2 s
ID_TAU_N = cython.declare(cython.int, 14)  # tau: 0.1 .. 4 s, geometric
ID_RAMP_N = cython.declare(cython.int, 9)  # ramp: none, then 20 .. 1 kW/s, geometric
ID_WINDOW_N = cython.declare(cython.int, 2)  # the meter: a sample of the instant, or the
# mean of the second before it
ID_DELAY_STEP = cython.declare(cython.double, 0.05)  # the meter's delay grid (s), from 0
ID_DELAY_N = cython.declare(cython.int, 21)  # 0 .. 1 s
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
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _advance(p: cython.double, target: cython.double, dt: cython.double, tau: cython.double,
             ramp: cython.double) -> cython.double:
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
    return target - (target - p) * exp(-dt / tau)


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
        from array import array

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
            for k in range(h):
                self.t_read[k] = self.t_read[k + h]
                self.ev_w[k] = self.ev_w[k + h]
                self.t_write[k] = self.t_write[k + h]
                self.sp_w[k] = self.sp_w[k + h]
                self.use[k] = self.use[k + h]
                self.t_meter[k] = self.t_meter[k + h]
                self.grid_w[k] = self.grid_w[k + h]
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
        self.fresh = 0
        self.fit_t = self.t_read[self.n - 1]
        self.settled_g = self._settled_gain()
        rnd: cython.int
        if not self.ok:
            # the coarse grid twice: with a gain of 1, then with the gain that model
            # implies (a reading 2 % off shifts the valley along its floor)
            self.w_g = 1.0
            for _ in range(2):
                self._coarse(m)
                self._fit_gain(m)
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
        """The whole grid: dead time x tau x ramp, at the working gain."""
        best: cython.double = INF
        ri: cython.int
        di: cython.int
        ti: cython.int
        for ri in range(ID_RAMP_N):
            for di in range(ID_D_N):
                for ti in range(ID_TAU_N):
                    c: cython.double = self._cost(di * ID_D_STEP, _id_tau(ti), _id_ramp(ri),
                                                  self.w_g, m)
                    if c < best - 1e-9:
                        best = c
                        self.w_d = di * ID_D_STEP
                        self.w_tau = _id_tau(ti)
                        self.w_ramp = _id_ramp(ri)

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
        bm: cython.double = INF
        bw: cython.double = 0.0
        bl: cython.double = 0.0
        wi: cython.int
        li: cython.int
        c: cython.double
        for wi in range(ID_WINDOW_N):
            for li in range(ID_DELAY_N):
                c = self._meter_cost(d, tau, ramp, g, m, li * ID_DELAY_STEP, 1.0 * wi)
                if c < bm - 1e-9:
                    bm, bw, bl = c, 1.0 * wi, li * ID_DELAY_STEP
        l0: cython.double = bl
        for li in range(-4, 5):
            if l0 + 0.01 * li >= 0.0:
                c = self._meter_cost(d, tau, ramp, g, m, l0 + 0.01 * li, bw)
                if c < bm - 1e-9:
                    bm, bl = c, l0 + 0.01 * li
        # the starting model stands unless another explains the grid clearly better
        c = self._meter_cost(d, tau, ramp, g, m, self.start_delay_s, self.start_window_s)
        if not (bm < ID_METER_GAIN * c):
            bm, bw, bl = c, self.start_window_s, self.start_delay_s
        self.w_mcost = bm
        self.w_window = bw
        self.w_delay = bl

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
    def _settled_gain(self) -> cython.double:
        """The reading's gain where the charger says it most plainly: reported / commanded
        power over stretches where one command of 1 kW or more has held ID_GAIN_HOLD cycles
        and the reading stands still; the median of the last ID_GAIN_SAMPLES of them, NaN
        with fewer than ID_GAIN_MIN (then the gain is fitted with the model, from the moves)."""
        r: cython.double[16] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                                0.0, 0.0, 0.0, 0.0]
        m: cython.int = 0
        k: cython.int = self.n - 1
        j: cython.int
        while k >= ID_GAIN_HOLD and m < ID_GAIN_SAMPLES:
            sp: cython.double = self.sp_w[k]
            ok: cython.bint = (self.use[k] > 0.0 and self.use[k - 1] > 0.0
                               and fabs(sp) >= GAIN_MIN_W
                               and fabs(self.ev_w[k] - self.ev_w[k - 1])
                               <= 0.005 * fabs(self.ev_w[k]) + 5.0)
            j = k - ID_GAIN_HOLD
            while ok and j < k:
                if not (fabs(self.sp_w[j] - sp) < 0.5):  # NaN (no write) holds nothing
                    ok = False
                j += 1
            if ok:
                q: cython.double = self.ev_w[k] / sp
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
        return _trajectory(self.ev_w[i] / g, self.t_read[i], t, cw, ct, n, d, tau, ramp)

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
            return self._power_at(self._reading_before(k, s), s, d, tau, ramp, g)
        acc: cython.double = 0.0
        j: cython.int
        for j in range(ID_AVG_POINTS):
            t: cython.double = s - window * (j + 0.5) / ID_AVG_POINTS
            acc += self._power_at(self._reading_before(k, t), t, d, tau, ramp, g)
        return acc / ID_AVG_POINTS

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
        net += _noise(pl, 300.0)
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
