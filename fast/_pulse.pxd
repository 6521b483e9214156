# The C face of fast/_pulse.py: what the other modules of fast/ cimport from it.

from fast._types cimport CtlState, Limits

cdef double _track_periodic(CtlState st, Limits lim, double net) noexcept
