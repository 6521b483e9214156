# The C face of fast/_step.py: what the other modules of fast/ cimport from it. Classes list
# their attributes here (the .py sets them in __init__ and declares none).

from fast._types cimport CtlState, Limits, Measurement, Plan

cdef void _window(Measurement m, Limits lim, bint allow_chg, bint allow_dis, double ev_w, double out[2]) noexcept
cdef double _stop(CtlState st, int reasons) noexcept
cdef double _step(Measurement m, CtlState st, Limits lim, Plan plan, double now) noexcept
cdef double _track(Measurement m, CtlState st, Limits lim, Plan plan, double now) noexcept
cdef double GAIN_MIN_W
