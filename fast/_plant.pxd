# The C face of fast/_plant.py: what the other modules of fast/ cimport from it. Classes list
# their attributes here (the .py sets them in __init__ and declares none).

from fast._rng cimport Rng
from fast._types cimport CtlState, Limits, Measurement, Sums, Totals

cdef class Plant:
    cdef public int n_sub
    cdef public int meter_lat_n
    cdef public double meter_noise_w
    cdef public double dead_s
    cdef public double tau_s
    cdef public double ramp_w_s
    cdef public double min_w
    cdef public double max_chg_w
    cdef public double max_dis_w
    cdef public double eff
    cdef public double meas_gain
    cdef public bint anti_islanding
    cdef public double watchdog_s
    cdef public double cap_wh
    cdef public double car_min_soc
    cdef public bint soc_zero_idle
    cdef public double dead_jitter_s
    cdef public bint meter_avg
    cdef public double pv_share1
    cdef public double pv_share2
    cdef public double pv_share3
    cdef public double ev_share1
    cdef public double ev_share2
    cdef public double ev_share3
    # state (set in Plant.__init__, which says what each is)
    cdef public double soc_wh
    cdef public double p
    cdef public double cmd_act
    cdef public double cmd_pend
    cdef public double pend_t
    cdef public double pend_wt
    cdef public double cmd_pend2
    cdef public double pend_wt2
    cdef public double pend_t2
    cdef public double acc1
    cdef public double acc2
    cdef public double acc3
    cdef public double tail1
    cdef public double tail2
    cdef public double tail3
    cdef public double last_comm_t
    cdef public double seen1
    cdef public double seen2
    cdef public double seen3
    cdef public double seen_pv
    cdef public double seen1_b
    cdef public double seen2_b
    cdef public double seen3_b
    cdef public double seen_pv_b
    cdef Rng rng
    cdef Rng jitter_rng
    cdef public double s_t
    cdef public double s_p1
    cdef public double s_p2
    cdef public double s_p3
    cdef public double s_v
    cdef public double s_f
    cdef public double ev_noise
    cdef public double g1
    cdef public double g2
    cdef public double g3
    cdef public double imp_wh
    cdef public double exp_wh
    cdef public double chg_wh
    cdef public double dis_wh
    # derived in _prepare from the parameters above, per sub-step of h s
    cdef double h
    cdef double alpha
    cdef double ramp_h
    cdef double tgt
    cdef double k_chg
    cdef double k_dis
    cdef double min_wh
    cdef double pct_per_wh

cdef void _prepare(Plant pl) noexcept
cdef void _write(Plant pl, double sp, double t) noexcept
cdef double _last_cmd(Plant pl) noexcept
cdef void _second(Plant pl, Totals tot, Sums s, CtlState st, Limits lim, Measurement m, Measurement mf, double t, int fl, bint watch, double b1, double b2, double b3, double reserve_wh) noexcept
