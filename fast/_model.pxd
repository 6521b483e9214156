# The C face of fast/_model.py: what the other modules of fast/ cimport from it. Classes list
# their attributes here (the .py sets them in __init__ and declares none).

from fast._types cimport CtlState, Limits

cdef double _ev_at_sample(double ev_w, CtlState st, Limits lim, double now, double dead) noexcept
cdef double _retimed_dead(double ev_w, CtlState st, Limits lim, double now) noexcept
cdef bint _retime_due(double ev_w, CtlState st, Limits lim, double now) noexcept
cdef double RETIME_EARLY_W
cdef double _bracketed(double net, double ev_w, CtlState st, double e, double now, double period) noexcept
cdef double _window_sum(CtlState st, Limits lim, double s, double miss, double now, double dead, double target, double *cw, double *ct) noexcept
cdef double _trajectory(double p, double t0, double t1, double * cmd_w, double * cmd_t, int n, double dead, double tau, double ramp, bint memo) noexcept nogil
cdef double ID_D_STEP
cdef int ID_D_N
cdef int ID_TAU_N
cdef int ID_RAMP_N
cdef int ID_WINDOW_N
cdef double ID_DELAY_STEP
cdef int ID_DELAY_N
cdef double ID_D_MAX
cdef double ID_TAU_MIN
cdef double ID_TAU_MAX
cdef double ID_DELAY_MAX
cdef double ID_HUBER_W
cdef double ID_MOVING_W
cdef int ID_MIN_INTERVALS
cdef int ID_GAIN_HOLD
cdef int ID_GAIN_SAMPLES
cdef int ID_GAIN_MIN
cdef int ID_MAX_INTERVALS
cdef int ID_AVG_POINTS
cdef double ID_LOOKBACK_S
cdef double ID_METER_TRUST
cdef int ID_REFIT
cdef double ID_REFIT_S
cdef double ID_METER_MOVE_W
cdef double ID_METER_GAIN
cdef double _id_tau(int i) noexcept nogil
cdef double _id_ramp(int i) noexcept nogil
cdef double _huber(double r) noexcept nogil
cdef double _settled_gain(int n, double[:] sp_w, double[:] use, double[:] ev_w, double min_w) noexcept nogil
