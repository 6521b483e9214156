"""The core's vocabulary and state: what every other module of fast/ reads and writes.

Signs and units follow firmware_notes/design.md "Signs and units": powers in W (grid
+ import, ev + charging the car), SoC in %, time in s.

Contents: supervisor modes (`MODES`, `M_*`); clamp reasons (`REASONS`, `R_*`,
`reason_names`); grid states (`GRID_*`); scenario flags (`FLAGS`, `F_*`); policies
(`POLICIES`, `P_*`); `Limits` (+ `LIMIT_FIELDS`), `Plan`, `Measurement`, `CtlState`
(+ `_copy_state`); the batch's `Totals` and `Sums`; `_clip`, `_since`, `_note_command`. Their
C face is _types.pxd.
"""

import cython

# --- supervisor modes (firmware_notes/design.md "The supervisor"); the index is the value
MODES = ("STARTUP", "IDLE", "REGULATING", "HOLD", "GRID_LOSS", "METER_STALE", "CHARGER_LOST",
         "FAULT")
if not cython.compiled:  # compiled, C constants: the cpdef enums of _types.pxd
    M_STARTUP = 0
    M_IDLE = 1
    M_REGULATING = 2
    M_HOLD = 3
    M_GRID_LOSS = 4
    M_METER_STALE = 5
    M_CHARGER_LOST = 6
    M_FAULT = 7

# --- reasons: bit i names REASONS[i]; a bit is set when that clamp bit ----------------------
REASONS = ("stale", "supervisor", "grid", "car", "plan", "reserve", "max_soc", "fuse",
           "max_charge", "max_discharge", "min_power", "ramp", "deadband", "forced",
           "soc_probe")
if not cython.compiled:  # compiled, C constants: the cpdef enums of _types.pxd
    R_STALE = 1 << 0
    R_SUPERVISOR = 1 << 1
    R_GRID = 1 << 2
    R_CAR = 1 << 3
    R_PLAN = 1 << 4
    R_RESERVE = 1 << 5
    R_MAX_SOC = 1 << 6
    R_FUSE = 1 << 7
    R_MAX_CHARGE = 1 << 8
    R_MAX_DISCHARGE = 1 << 9
    R_MIN_POWER = 1 << 10
    R_RAMP = 1 << 11
    R_DEADBAND = 1 << 12
    R_FORCED = 1 << 13
    R_SOC_PROBE = 1 << 14

# A meter value beyond this is not physics but garbage (a house connection is < 100 kW).
MAX_ABS_W = cython.declare(cython.double, 1.0e6)
INF = cython.declare(cython.double, float("inf"))
NAN = cython.declare(cython.double, float("nan"))


@cython.cclass
class Limits:
    """Every bound and gain the step and the supervisor use (W, %, A, V, Hz, s, W/s)."""

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
        self.charger_jitter_s = 0.3  # how far a write's dead time may stray either side (s)
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
    "ramp_w_s", "deadband_w", "charger_dead_s", "charger_jitter_s", "charger_tau_s",
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
        # the house's demand on the car (W) over the last 32 regulated cycles, a ring
        # (_pulse._track_periodic): hist_k is the ring's next slot, hist_n the valid ones
        self.hist = [float("nan")] * 32
        self.hist_n = 0
        self.hist_k = 0
        self.per_p = 0  # the period last found (cycles), and how many cycles running
        self.per_n = 0
        self.pulse_dn = 0.0  # the demand's mean change per cycle (W), _pulse.py
        # a pattern of two cycles (_pulse._alternating): the choice tried or kept, the
        # cycles into its trial, the error's swing summed over it and the least so far (W),
        # and the last cycle's error (W)
        self.alt_pick = -1
        self.alt_n = 0
        self.alt_e = 0.0
        self.alt_d = 0.0
        self.alt_pe = 0.0

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
    i: cython.int
    for i in range(32):
        b.hist[i] = a.hist[i]
    b.hist_n = a.hist_n
    b.hist_k = a.hist_k
    b.per_p = a.per_p
    b.per_n = a.per_n
    b.pulse_dn = a.pulse_dn
    b.alt_e = a.alt_e
    b.alt_d = a.alt_d
    b.alt_n = a.alt_n
    b.alt_pe = a.alt_pe
    b.alt_pick = a.alt_pick


# --- shared clamp pieces --------------------------------------------------------------------

if not cython.compiled:  # compiled, these are the inline functions of _types.pxd (twins)

    def _clip(x: cython.double, lo: cython.double, hi: cython.double) -> cython.double:
        """x within [lo, hi]; NaN stays NaN."""
        if x < lo:
            return lo
        if x > hi:
            return hi
        return x

    def _since(since: cython.double, on: cython.bint, t: cython.double) -> cython.double:
        """When a state that holds at t (s) began: `since` if it held already, else t;
        NaN while it does not hold."""
        if not on:
            return NAN
        if since != since:  # NaN: it begins now
            return t
        return since

    def _note_command(st, now: cython.double) -> None:
        """The step's last setpoint into the command history, at the time of the decision
        that made it (the write follows within milliseconds)."""
        if st.dec_t == st.dec_t:  # not NaN: a decision made one
            st.c4_w = st.c3_w
            st.c4_t = st.c3_t
            st.c3_w = st.c2_w
            st.c3_t = st.c2_t
            st.c2_w = st.c1_w
            st.c2_t = st.c1_t
            st.c1_w = st.last_sp
            st.c1_t = st.dec_t
        st.dec_t = now


def reason_names(bits: cython.int):
    """The names of the clamps set in a reasons bit field, in priority order."""
    return tuple(REASONS[i] for i in range(len(REASONS)) if bits & (1 << i))


# --- the supervisor's transitions -----------------------------------------------------------

if not cython.compiled:  # compiled, C constants: the cpdef enums of _types.pxd
    GRID_UNKNOWN = -1
    GRID_DOWN = 0
    GRID_UP = 1


# --- the plant (firmware_notes/design.md "The plant"): charger, car, meter, in sub-steps

# per-second event flags of a scenario (one byte a second)
if not cython.compiled:  # compiled, C constants: the cpdef enums of _types.pxd
    F_CAR = 1            # car plugged in
    F_GRID_DOWN = 2      # grid lost: meter shows 0 V, 0 Hz
    F_METER_SILENT = 4   # meter does not answer
    F_METER_FROZEN = 8   # meter answers the same values
    F_METER_GARBAGE = 16  # meter answers NaN / absurd values
    F_CHARGER_LOST = 32  # charger does not answer (nor hear writes)
    F_CHARGER_ERROR = 64  # charger in its error state
    F_CHARGER_STUCK = 128  # charger hears writes, ignores them
FLAGS = ("car", "grid_down", "meter_silent", "meter_frozen", "meter_garbage", "charger_lost",
         "charger_error", "charger_stuck")
if not cython.compiled:  # compiled, C constants: the cpdef enums of _types.pxd
    METER_BAD = 4 | 8 | 16


@cython.cclass
class Totals:
    """What the plant saw over a run: energies (Wh), peaks (W), safety seconds by kind."""

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



# --- policies run by the batch: the step (v2h), evcc-like, none, and the oracle -------------

if not cython.compiled:  # compiled, C constants: the cpdef enums of _types.pxd
    P_NONE = 0
    P_V2H = 1
    P_EVCC = 2
    P_ORACLE = 3
    P_ORACLE_METER = 4
# the oracle knows this second's load; "oracle-meter" knows it only as the meter's last
# sample showed it, exactly (the limit of any controller fed by that meter)
POLICIES = ("none", "v2h", "evcc-like", "oracle", "oracle-meter")


@cython.cclass
class Sums:
    """The batch's running sums over its sub-steps (W x sub-steps, folded into Totals at its
    end), the fuse judge's memory (A, s), and what the plant's second leaves for the judge
    and the trace: the setpoint (W) and the last command sent (W), which the grid watch may
    turn to 0 within the second."""

    def __init__(self):
        self.imp = 0.0
        self.exp_ = 0.0
        self.chg = 0.0
        self.dis = 0.0
        self.max_exp = 0.0
        self.max_a = 0.0
        self.o1 = 0.0
        self.o2 = 0.0
        self.o3 = 0.0
        self.gsum = 0.0
        self.psum = 0.0
        self.viol_grid = False
        self.viol_res = False
        self.sp = 0.0
        self.cmd = 0.0
