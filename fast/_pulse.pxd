# The C face of fast/_pulse.py: what the other modules of fast/ cimport from it.

from fast._types cimport CtlState, Limits

# C constants that Python sees as ints; the .py defines them only as plain Python: keep alike
cpdef enum:
    PULSE_N = 32
    PULSE_MASK = 31
    PULSE_LOOK = 12
    PULSE_PAIRS = 10
    PULSE_P_MAX = 10
    PULSE_CONFIRM = 3

cdef double _track_periodic(CtlState st, Limits lim, double net, double e) noexcept
cdef double _periodic(CtlState st, Limits lim, double e) noexcept
