"""Downscaling coarse data to 1 s: every interval's energy kept exactly, seeded, and the
variability inside the intervals as in measured data (a month of the Sceaux minutes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from controller.assess import _downscale as ds

DATA = Path(__file__).parent / "data" / "sceaux_2008_03_1min.csv.gz"


def _stats(minutes: np.ndarray) -> dict[str, float]:
    """Within each 15-min interval: the spread of its 1-min values (CV), and the 1st and
    99th percentile of a minute over its interval's mean."""
    b = minutes[:len(minutes) // 15 * 15].reshape(-1, 15)
    m = b.mean(axis=1)
    cv = b.std(axis=1) / m
    r = (b / m[:, None]).ravel()
    return {"cv_median": float(np.median(cv)), "cv_p90": float(np.percentile(cv, 90)),
            "r_p1": float(np.percentile(r, 1)), "r_p99": float(np.percentile(r, 99))}


def test_downscaled_minutes_match_measured_statistics():
    """The measured March at 1 min, taken to 15 min and downscaled to 1 s, has minutes whose
    spread inside their quarter-hour matches the measured one within 20 %."""
    p = pd.read_csv(DATA)["active_power_w"].to_numpy(dtype=float)
    p = np.where(np.isnan(p), np.nanmean(p), p)
    real = _stats(p)
    quarters = p.reshape(-1, 15).mean(axis=1)
    made = _stats(ds.aggregate(ds.load_to_seconds(quarters, 900, seed=3), 60))
    print({k: (round(real[k], 3), round(made[k], 3)) for k in real})
    for k in real:
        assert made[k] == pytest.approx(real[k], rel=0.20), k


@pytest.mark.parametrize("interval_s", [60, 900, 3600])
def test_interval_energy_kept(interval_s):
    """Each interval's mean is its 1-s values' mean (load and PV)."""
    rng = np.random.default_rng(1)
    w = rng.uniform(0, 3000, 48)
    for f in (ds.load_to_seconds, ds.pv_to_seconds):
        s = f(w, interval_s, seed=5)
        assert len(s) == 48 * interval_s and (s >= 0).all()
        assert ds.aggregate(s, interval_s) == pytest.approx(w, rel=1e-12, abs=1e-9)


def test_seeded():
    """The same seed gives the same seconds; another seed other seconds."""
    w = np.full(8, 500.0)
    a, b = ds.load_to_seconds(w, 900, 7), ds.load_to_seconds(w, 900, 7)
    assert (a == b).all() and not (a == ds.load_to_seconds(w, 900, 8)).all()
