"""Coarse household data to 1-s profiles: a seeded stochastic method that keeps every
interval's energy exactly and puts back the variability inside it.

House load (firmware_notes/assessment.md, "Downscaling"): within each interval the power
is the interval's mean times w(t) / mean(w), with w(t) = 1 + v * s(t): s is an on/off
switching process (appliances: exponential on-times of mean ON_S, off-times of mean OFF_S,
so switching edges fall anywhere in the interval) and v the interval's activity, drawn
lognormal (median V_MEDIAN, spread V_SIGMA) because most quarter-hours are calm and a few
hold a kettle, an oven or a washing machine's heater. The parameters were fitted to the
spread of 1-min power inside 15-min intervals of the measured Sceaux year (its first 60
days: median CV 0.105, 90th percentile 0.34); tests/assess/test_downscale.py checks the fit
on a month of it.

PV: within an interval the production is its mean times c(t) / mean(c), where c is 1 in
sun and CLOUD_DEPTH under a cloud, with cloud passages of mean CLOUD_S and gaps of mean
GAP_S and edges ramped over EDGE_S seconds (cloud edges). Not fitted: no measured 1-s PV
year with a licence to ship was found (the data README); the figures follow the
simulator's own cloud model (controller/sim scenarios).

Data at 1 s are used as they are.
"""

from __future__ import annotations

import numpy as np

from ._types import Arr

ON_S = 90.0
OFF_S = 300.0
V_MEDIAN = 0.45
V_SIGMA = 1.2
CLOUD_S = 120.0
GAP_S = 300.0
CLOUD_DEPTH = 0.3
EDGE_S = 5


def _switching(n: int, on_s: float, off_s: float, rng: np.random.Generator) -> Arr:
    """A 0/1 series of n seconds: alternating exponential off- and on-times."""
    mean = on_s + off_s
    k = int(n / mean * 2.2) + 16
    durs = np.empty(2 * k)
    durs[0::2] = rng.exponential(off_s, k)
    durs[1::2] = rng.exponential(on_s, k)
    while durs.sum() < n:  # rare: draw more
        durs = np.concatenate([durs, durs])
    edges = np.ceil(np.cumsum(durs)).astype(np.int64)
    edges = edges[edges < n]
    s = np.zeros(n, dtype=np.int8)
    flips = np.zeros(n + 1, dtype=np.int8)
    flips[edges] = 1
    s = np.cumsum(flips[:n]) % 2
    # start anywhere in the cycle
    return np.roll(s, int(rng.integers(0, 600))).astype(np.float64)


def _spread(means: Arr, shape: Arr, interval_s: int) -> Arr:
    """means (W per interval) times shape / the shape's mean over each interval."""
    m = len(means)
    sh = shape[:m * interval_s].reshape(m, interval_s)
    norm = sh.mean(axis=1)
    norm[norm <= 0.0] = 1.0
    out: Arr = (sh * (means / norm)[:, None]).ravel()
    return out


def load_to_seconds(watts: Arr, interval_s: int, seed: int) -> Arr:
    """A house load (W per interval, >= 0) as 1-s values (W) with the same interval means."""
    w = np.maximum(np.asarray(watts, dtype=float), 0.0)
    if interval_s == 1:
        return w.copy()
    rng = np.random.default_rng(seed)
    n = len(w) * interval_s
    s = _switching(n, ON_S, OFF_S, rng)
    v = V_MEDIAN * np.exp(V_SIGMA * rng.standard_normal(len(w)))
    shape = 1.0 + np.repeat(v, interval_s) * s
    return _spread(w, shape, interval_s)


def pv_to_seconds(watts: Arr, interval_s: int, seed: int) -> Arr:
    """PV production (W per interval, >= 0) as 1-s values (W) with the same interval means."""
    w = np.maximum(np.asarray(watts, dtype=float), 0.0)
    if interval_s == 1:
        return w.copy()
    rng = np.random.default_rng(seed + 7919)
    n = len(w) * interval_s
    cloud = _switching(n, CLOUD_S, GAP_S, rng)
    if EDGE_S > 1:
        k = np.ones(EDGE_S) / EDGE_S
        cloud = np.convolve(cloud, k, mode="same")
    shape = 1.0 - (1.0 - CLOUD_DEPTH) * cloud
    return _spread(w, shape, interval_s)


def aggregate(seconds: Arr, interval_s: int) -> Arr:
    """1-s values (W) as means per interval (W); a last partial interval is dropped."""
    m = len(seconds) // interval_s
    out: Arr = np.asarray(seconds[:m * interval_s]).reshape(m, interval_s).mean(axis=1)
    return out
