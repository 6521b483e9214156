"""Per-second house load and PV for the simulator: compiled by Cython, run as is otherwise.

Seeded and deterministic: the same seed gives the same doubles on both paths (`_rng.py`'s
splitmix64 and IEEE double arithmetic in the same order). Powers in W, time in s from the
start of the array.
"""

import cython
from cython.cimports.fast._rng import Rng, _rand
from cython.cimports.libc.math import exp, sin, sqrt

PI = cython.declare(cython.double, 3.141592653589793)


@cython.boundscheck(False)
@cython.wraparound(False)
def base_load(out1: cython.double[:], out2: cython.double[:], out3: cython.double[:],
              hourly: cython.double[:], share1: cython.double, share2: cython.double,
              share3: cython.double, noise_w: cython.double, noise_tau_s: cython.double,
              t0_of_day: cython.double, seed):
    """House base load: the hourly shape (W, 24 values) interpolated, plus slow AR(1) noise
    of standard deviation about noise_w (W) and time constant noise_tau_s (s), split over the
    phases by share1..3. Fills out1..out3 (W)."""
    r: Rng = Rng(seed, 98765)
    n: cython.Py_ssize_t = len(out1)
    k: cython.Py_ssize_t
    a: cython.double = exp(-1.0 / noise_tau_s)
    # uniform(-1, 1) has variance 1/3: scale so the stationary deviation is noise_w
    b: cython.double = noise_w * sqrt((1.0 - a * a) * 3.0)
    x: cython.double = 0.0
    for k in range(n):
        tod: cython.double = (t0_of_day + k) % 86400.0
        hr: cython.double = tod / 3600.0
        i: cython.int = int(hr)
        f: cython.double = hr - i
        base: cython.double = hourly[i] * (1.0 - f) + hourly[(i + 1) % 24] * f
        x = a * x + b * (2.0 * _rand(r) - 1.0)
        w: cython.double = base + x
        if w < 30.0:
            w = 30.0
        out1[k] = w * share1
        out2[k] = w * share2
        out3[k] = w * share3


@cython.boundscheck(False)
@cython.wraparound(False)
def add_events(out1: cython.double[:], out2: cython.double[:], out3: cython.double[:],
               start: cython.long[:], dur: cython.long[:], power: cython.double[:],
               phase: cython.int[:], cycle_s: cython.long[:], on_s: cython.long[:]):
    """Add appliance runs: from start (s) for dur (s), power (W) on phase 1..3 or 0 (spread
    over all three); when cycle_s > 0 the appliance is on for on_s of every cycle_s."""
    n: cython.Py_ssize_t = len(out1)
    e: cython.Py_ssize_t
    k: cython.long
    for e in range(len(start)):
        p: cython.double = power[e]
        ph: cython.int = phase[e]
        for k in range(max(start[e], 0), min(start[e] + dur[e], n)):
            if cycle_s[e] > 0 and (k - start[e]) % cycle_s[e] >= on_s[e]:
                continue
            if ph == 1:
                out1[k] += p
            elif ph == 2:
                out2[k] += p
            elif ph == 3:
                out3[k] += p
            else:
                out1[k] += p / 3.0
                out2[k] += p / 3.0
                out3[k] += p / 3.0


@cython.boundscheck(False)
@cython.wraparound(False)
def pv(out: cython.double[:], peak_w: cython.double, sunrise_s: cython.double,
       sunset_s: cython.double, cloudiness: cython.double, cloud_s: cython.double,
       cloud_depth: cython.double, edge_s: cython.double, t0_of_day: cython.double, seed):
    """PV output (W): a clear-sky arc from sunrise to sunset (s of day) scaled to peak_w, under
    clouds that come and go (mean cloud length cloud_s, fraction of time cloudiness) and cut
    the output to cloud_depth of clear sky, with edges of time constant edge_s."""
    r: Rng = Rng(seed, 98765)
    n: cython.Py_ssize_t = len(out)
    k: cython.Py_ssize_t
    p_off: cython.double = 1.0 / cloud_s if cloud_s > 0.0 else 0.0
    p_on: cython.double = 0.0
    if cloudiness > 0.0 and cloudiness < 1.0:
        p_on = p_off * cloudiness / (1.0 - cloudiness)
    elif cloudiness >= 1.0:
        p_on = 1.0
    edge: cython.double = 1.0 - exp(-1.0 / edge_s) if edge_s > 0.0 else 1.0
    cloudy: cython.bint = _rand(r) < cloudiness
    att: cython.double = cloud_depth if cloudy else 1.0
    span: cython.double = sunset_s - sunrise_s
    for k in range(n):
        u: cython.double = _rand(r)
        if cloudy:
            if u < p_off:
                cloudy = False
        elif u < p_on:
            cloudy = True
        tgt: cython.double = cloud_depth if cloudy else 1.0
        att += (tgt - att) * edge
        tod: cython.double = (t0_of_day + k) % 86400.0
        if tod <= sunrise_s or tod >= sunset_s or span <= 0.0:
            out[k] = 0.0
            continue
        s: cython.double = sin(PI * (tod - sunrise_s) / span)
        out[k] = peak_w * s * (0.35 + 0.65 * s) * att
