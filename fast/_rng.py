"""Random numbers for the simulator: splitmix64, the same doubles compiled and pure.

One generator serves the plant (its meter's and the charger's reading noise, the charger's
dead-time jitter: `_plant.py`) and the house's load and PV (`_profile.py`): `Rng` holds a
stream's 64-bit state; `_next` (64 bits), `_rand` (uniform in [0, 1)) and `_noise` (uniform
in [-a, a)) draw from it. Compiled, the three are the inline functions of `_rng.pxd`, so a
draw costs no call between modules; pure, their twins below (keep the two alike). Tiny,
fast, and easy to reproduce bit for bit in Python: IEEE doubles from the top 53 bits.
"""

import cython

_M64 = 0xFFFFFFFFFFFFFFFF  # Python's ints do not wrap: the pure twins mask to 64 bits
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


@cython.cclass
class Rng:
    """A splitmix64 stream: its state `s` (64 bits) from a seed and a salt that tells the
    streams of one seed apart."""

    def __init__(self, seed, salt):
        self.s = (seed * 2654435761 + salt) & _M64

    def uniform(self):
        """Uniform in [0, 1)."""
        return _rand(self)


if not cython.compiled:  # compiled, these are the inline functions of _rng.pxd (their twins)

    def _next(r: Rng) -> cython.ulonglong:
        """64 random bits."""
        r.s = (r.s + _GOLDEN) & _M64
        z: cython.ulonglong = r.s
        z = ((z ^ (z >> 30)) * _MIX1) & _M64
        z = ((z ^ (z >> 27)) * _MIX2) & _M64
        return z ^ (z >> 31)

    def _rand(r: Rng) -> cython.double:
        """Uniform in [0, 1)."""
        return (_next(r) >> 11) * (1.0 / 9007199254740992.0)

    def _noise(r: Rng, a: cython.double) -> cython.double:
        """Uniform noise in [-a, a): cheap, bounded, zero mean."""
        return (2.0 * _rand(r) - 1.0) * a
