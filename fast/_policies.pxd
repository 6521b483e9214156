# The C face of fast/_policies.py: what the other modules of fast/ cimport from it. Classes list
# their attributes here (the .py sets them in __init__ and declares none).

from fast._plant cimport Plant
from fast._types cimport CtlState, Limits, Measurement, Plan

cdef class EvccState:
    cdef public bint enabled
    cdef public double timer
    cdef public double sp
    cdef public double interval_s
    cdef public double next_t

cdef double _evcc(EvccState ev, Measurement m, Limits lim, double now) noexcept
cdef double _none(Measurement m, Limits lim) noexcept
cdef double _oracle_second(Measurement m, CtlState st, Limits lim, Plan plan, Plant pl, double t, int fl, double ld1, double ld2, double ld3, double pvk, double v) noexcept
