# The C face of fast/_types.py: what the other modules of fast/ cimport from it. Classes list
# their attributes here (the .py sets them in __init__ and declares none).

# the integer constants are C enums (constants the compiler folds, where a cimported variable
# costs a load through a pointer at each use) that Python sees as ints: the .py defines them
# only when it runs as plain Python (`if not cython.compiled`); keep the two alike
cpdef enum:
    M_STARTUP = 0
    M_IDLE = 1
    M_REGULATING = 2
    M_HOLD = 3
    M_GRID_LOSS = 4
    M_METER_STALE = 5
    M_CHARGER_LOST = 6
    M_FAULT = 7
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
cdef double MAX_ABS_W
cdef double INF
cdef double NAN

cdef class Limits:
    cdef public double max_charge_w
    cdef public double max_discharge_w
    cdef public double min_power_w
    cdef public double min_power_hyst_w
    cdef public double reserve_soc
    cdef public double max_soc
    cdef public double soc_hyst
    cdef public double fuse_a
    cdef public double fuse_margin_a
    cdef public double share1
    cdef public double share2
    cdef public double share3
    cdef public double nominal_v
    cdef public double ramp_w_s
    cdef public double deadband_w
    cdef public double charger_dead_s
    cdef public double charger_jitter_s
    cdef public double charger_tau_s
    cdef public double charger_ramp_w_s
    cdef public double meter_delay_s
    cdef public double meter_window_s
    cdef public double model_known
    cdef public double kd
    cdef public double kp
    cdef public double ki
    cdef public double integ_band_w
    cdef public double integ_max_w
    cdef public double period_s
    cdef public double meter_stale_s
    cdef public double meter_frozen_s
    cdef public double charger_lost_s
    cdef public double grid_undervoltage_v
    cdef public double grid_overvoltage_v
    cdef public double grid_freq_min_hz
    cdef public double grid_freq_max_hz
    cdef public double grid_reconnect_s
    cdef public double grid_startup_s
    cdef public double grid_loss_stop_s
    cdef public double meter_interval_s
    cdef public double phases
    cdef public double charger_disobey_s
    cdef public double charger_ignore_s
    cdef public double charger_fault_hold_s
    cdef public double capacity_wh
    cdef public double soc_hold_wh
    cdef public double p_gain

cdef class Plan:
    cdef public double grid_target_w
    cdef public double forced_w
    cdef public bint allow_charge
    cdef public bint allow_discharge
    cdef public bint hold

cdef class Measurement:
    cdef public double t
    cdef public double grid_w
    cdef public double p1
    cdef public double p2
    cdef public double p3
    cdef public double v1
    cdef public double v2
    cdef public double v3
    cdef public double freq
    cdef public double ev_t
    cdef public double ev_w
    cdef public double soc
    cdef public bint car_present
    cdef public bint charger_ready

cdef class CtlState:
    cdef public int mode
    cdef public bint grid_ok
    cdef public double healthy_since
    cdef public bint had_loss
    cdef public double integ
    cdef public double prev_ev
    cdef public double prev_net
    cdef public double prev_dn
    cdef public double last_sp
    cdef public int sp_age
    cdef public double gain
    cdef public bint on
    cdef public bint dis_block
    cdef public bint chg_block
    cdef public int reasons
    cdef public double fz_grid
    cdef public double fz_p1
    cdef public double fz_v1
    cdef public double fz_freq
    cdef public double fz_since
    cdef public double unknown_since
    cdef public double disobey_since
    cdef public double ignore_since
    cdef public double fault_until
    cdef public double chk_ev
    cdef public double soc_held
    cdef public double soc_moved_wh
    cdef public double soc_t
    cdef public bint meter_good
    cdef public bint blind
    cdef public bint grid_dis_ok
    cdef public double probe_t
    cdef public double net_avg
    cdef public double chase
    cdef public double big_dn
    cdef public double big_t
    cdef public double up_t
    cdef public double prev2_dn
    cdef public double prev_ev_t
    cdef public double prev2_ev
    cdef public double prev2_t
    cdef public double dec_t
    cdef public double c1_w
    cdef public double c1_t
    cdef public double c2_w
    cdef public double c2_t
    cdef public double c3_w
    cdef public double c3_t
    cdef public double c4_w
    cdef public double c4_t
    cdef double hist[32]
    cdef public int hist_n
    cdef public int hist_k
    cdef public int per_p
    cdef public int per_n
    cdef public double pulse_dn
    cdef public double alt_e
    cdef public double alt_d
    cdef public int alt_n
    cdef public double alt_pe
    cdef public int alt_pick


# the one helper every hot path shares, inlined in each (Cython inlines nothing across
# modules otherwise); its pure-Python twin is _types.py's _clip: keep the two alike
cdef inline double _clip(double x, double lo, double hi) noexcept nogil:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x

# when a state that holds at t (`on`) began: `since` if it held already, else t; NaN while
# it does not hold (the judge's stamps); its twin is _types.py's _since
cdef inline double _since(double since, bint on, double t) noexcept nogil:
    if not on:
        return NAN
    if since != since:  # NaN: it begins now
        return t
    return since

# the step's last setpoint into the command history, at the time of the decision that made it
# (the step's and the decision's, `_decide`, in another module: inline in both); its twin is
# _types.py's _note_command
cdef inline void _note_command(CtlState st, double now) noexcept:
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
cpdef enum:
    GRID_UNKNOWN = -1
    GRID_DOWN = 0
    GRID_UP = 1
    F_CAR = 1
    F_GRID_DOWN = 2
    F_METER_SILENT = 4
    F_METER_FROZEN = 8
    F_METER_GARBAGE = 16
    F_CHARGER_LOST = 32
    F_CHARGER_ERROR = 64
    F_CHARGER_STUCK = 128
    METER_BAD = F_METER_SILENT | F_METER_FROZEN | F_METER_GARBAGE

cdef class Totals:
    cdef public double pv_wh
    cdef public double load_wh
    cdef public double import_wh
    cdef public double export_wh
    cdef public double ev_charge_wh
    cdef public double ev_discharge_wh
    cdef public double max_export_w
    cdef public double max_phase_a
    cdef public long v_grid
    cdef public long v_reserve
    cdef public long v_fuse
    cdef public long v_limits
    cdef public long v_stale
    cdef public long seconds
    # running memory for the safety judge
    cdef public double down_since
    cdef public double bad_meter_since
    cdef public double over1
    cdef public double over2
    cdef public double over3
    # judge parameters
    cdef public double reserve_soc
    cdef public double fuse_a
    cdef public double fuse_grace_s
    cdef public double stop_budget_s
    cdef public double stale_budget_s
    cdef public double nominal_v

cpdef enum:
    P_NONE = 0
    P_V2H = 1
    P_EVCC = 2
    P_ORACLE = 3
    P_ORACLE_METER = 4

cdef class Sums:
    cdef double imp
    cdef double exp_
    cdef double chg
    cdef double dis
    cdef double max_exp
    cdef double max_a
    cdef double o1
    cdef double o2
    cdef double o3
    cdef double gsum
    cdef double psum
    cdef bint viol_grid
    cdef bint viol_res
    cdef double sp
    cdef double cmd

