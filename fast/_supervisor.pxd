# The C face of fast/_supervisor.py: what the other modules of fast/ cimport from it. Classes list
# their attributes here (the .py sets them in __init__ and declares none).

from fast._types cimport CtlState, Limits, Measurement, Plan

cdef int _supervise(CtlState st, Limits lim, bint meter_ok, int grid, bint charger_ok, bint car_present, bint hold, bint fault, double now, double t_s) noexcept
cdef double _decide(Measurement m, CtlState st, Limits lim, Plan plan, double now, double cmd_w, bint charger_ctl) noexcept
cdef bint _fast_path(CtlState st, Measurement m, Limits lim, double now, double cmd_w) noexcept
