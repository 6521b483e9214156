# The C face of fast/_rng.py: the stream and its draws, inline in every module that
# cimports them (Cython inlines nothing across modules otherwise). Their pure-Python twins
# are _rng.py's `_next`, `_rand`, `_noise`: keep the two alike (C's unsigned arithmetic
# wraps at 64 bits where the twins mask).

cdef class Rng:
    cdef public unsigned long long s

cdef inline unsigned long long _next(Rng r) noexcept:
    cdef unsigned long long z
    r.s = r.s + 0x9E3779B97F4A7C15ULL
    z = r.s
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)

cdef inline double _rand(Rng r) noexcept:
    return (_next(r) >> 11) * (1.0 / 9007199254740992.0)

cdef inline double _noise(Rng r, double a) noexcept:
    return (2.0 * _rand(r) - 1.0) * a
