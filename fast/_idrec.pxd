# The C face of fast/_idrec.py: what _ident.py cimports from it. Classes list their attributes
# here (the .py sets them in __init__ and declares none).

cdef class Records:
    cdef public int n
    cdef double[:] t_read
    cdef double[:] ev_w
    cdef double[:] t_write
    cdef double[:] sp_w
    cdef double[:] use
    cdef double[:] t_meter
    cdef double[:] grid_w
    cdef int[:] idx
    # each reading's miss by the model in `_meter_cost` (memo: the model of `mkey`, mgen)
    cdef double[:] miss
    cdef int[:] miss_gen
    cdef int mgen
    cdef double mkey[4]
    cdef public int fresh  # telling cycles since the fit

    cdef int _intervals(self, double g) noexcept nogil
    cdef bint _unknown_before(self, int i) noexcept nogil
    cdef bint _short(self, int k, double g) noexcept nogil
    cdef bint _short_by(self, int k, double g) noexcept nogil
    cdef double _power_at(self, int i, double t, double d, double tau, double ramp, double g) noexcept nogil
    cdef double _cost(self, double d, double tau, double ramp, double g, int m) noexcept nogil
    cdef double _sample(self, int k, double d, double tau, double ramp, double g, double delay, double window) noexcept nogil
    cdef double _corrected(self, int k, double t, double d, double tau, double ramp, double g) noexcept nogil
    cdef int _reading_before(self, int k, double t) noexcept nogil
    cdef double _meter_cost(self, double d, double tau, double ramp, double g, int m, double delay, double window) noexcept nogil
