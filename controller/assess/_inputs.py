"""A household's year as the options see it: its house load and PV per interval (W), made
1-s a day at a time (seeded per day), and the car's presence from its away windows."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import fast
from controller.sim import Inputs

from ._downscale import load_to_seconds, pv_to_seconds
from ._errors import AssessError
from ._household import Household, away_windows
from ._read import Series, read_series

DAY_S = 86_400
CAR = 1 << fast.FLAGS.index("car")
LOAD_SHARE = (0.4, 0.3, 0.3)  # the simulator's default split of the house over the phases
PV_SHARE = (1 / 3, 1 / 3, 1 / 3)


@dataclass
class Home:
    """The household ready to simulate: interval load and PV (W), `interval_s`, the UTC
    start, whole days, and the car's presence per minute (local away windows)."""

    h: Household
    tz: str
    start_utc: float
    interval_s: int
    load_i: np.ndarray
    pv_i: np.ndarray
    days: int
    windows: list[tuple[set[int], int, int]]
    home_min: np.ndarray  # 1 where the car is home, per minute of the horizon
    notes: list[str] = field(default_factory=list)
    files: list[Series] = field(default_factory=list)
    one_s: tuple[np.ndarray, np.ndarray] | None = None  # true 1-s load and PV, when known

    @property
    def name(self) -> str:
        return self.h.name

    @property
    def seed(self) -> int:
        return self.h.seed

    def seconds(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """The day's 1-s house load and PV (W): as measured at 1 s, or downscaled (seeded
        by the household's seed and the day)."""
        if self.one_s is not None:
            a = day * DAY_S
            return self.one_s[0][a:a + DAY_S], self.one_s[1][a:a + DAY_S]
        per = DAY_S // self.interval_s
        sl = slice(day * per, (day + 1) * per)
        seed = self.seed * 100_003 + day
        return (load_to_seconds(self.load_i[sl], self.interval_s, seed),
                pv_to_seconds(self.pv_i[sl], self.interval_s, seed))

    def day(self, day: int) -> Inputs:
        """The batch runner's inputs for one day (sim.Inputs): phases, PV, car flag, and
        the seconds at which the car comes home."""
        load, pv = self.seconds(day)
        car = np.repeat(self.home_min[day * 1440:(day + 1) * 1440], 60).astype(np.uint8)
        back = np.flatnonzero(np.diff(car.astype(np.int8)) == 1) + 1
        return Inputs(_doubles(load * LOAD_SHARE[0]), _doubles(load * LOAD_SHARE[1]),
                      _doubles(load * LOAD_SHARE[2]), _doubles(pv),
                      array("B", (car * CAR).tobytes()), [int(b) for b in back])


def _doubles(x: np.ndarray) -> array:
    """A float64 numpy array as array("d") (one copy, no per-element work)."""
    a = array("d")
    a.frombytes(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    return a


def presence(start_utc: float, days: int, tz: str,
             windows: list[tuple[set[int], int, int]]) -> np.ndarray:
    """1 per minute where the car is home (not inside an away window, local time)."""
    idx = pd.date_range(pd.Timestamp(start_utc, unit="s", tz="UTC"), periods=days * 1440,
                        freq="1min").tz_convert(tz)
    tod = (idx.hour * 3600 + idx.minute * 60).to_numpy()
    wd = idx.weekday.to_numpy()
    home = np.ones(len(idx), dtype=np.uint8)
    for wdays, a, b in windows:
        inside = np.isin(wd, list(wdays)) & (tod >= a) & (tod < b)
        home[inside] = 0
    return home


def _common(grid: Series, pv: Series | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """House load and PV per interval of the grid file (W)."""
    notes: list[str] = []
    if pv is None:
        net = grid.watts
        notes.append("no PV file: PV is taken as the export the grid file shows (what the "
                     "house used of its own PV is not known)")
        return np.maximum(net, 0.0), np.maximum(-net, 0.0), notes
    if grid.interval_s % pv.interval_s:
        raise AssessError(pv.path, 0, f"PV at {pv.interval_s} s does not divide the grid "
                          f"file's interval of {grid.interval_s} s")
    f = grid.interval_s // pv.interval_s
    off = int(round((grid.start_utc - pv.start_utc) / pv.interval_s))
    if off < 0:
        raise AssessError(pv.path, 0, "PV starts after the grid file: give both the same span")
    pvv = pv.watts[off:off + len(grid.watts) * f]
    if len(pvv) < len(grid.watts) * f:
        raise AssessError(pv.path, 0, "PV ends before the grid file: give both the same span")
    pvi = pvv.reshape(-1, f).mean(axis=1)
    load = grid.watts + pvi
    neg = load < 0
    if neg.any():
        notes.append(f"{int(neg.sum())} interval(s) where grid + PV < 0 (clocks apart?): "
                     "load set to 0")
    return np.maximum(load, 0.0), np.maximum(pvi, 0.0), notes


def home_of(h: Household, tz: str) -> Home:
    """Read the household's files and make its Home (AssessError on bad input)."""
    folder = Path(h.folder)
    grid = read_series(folder / h.data.file, tz, tuple(h.data.ignore_columns))
    pv = read_series(folder / h.data.pv_file, tz, tuple(h.data.ignore_columns), pv=True) \
        if h.data.pv_file else None
    load, pvi, notes = _common(grid, pv)
    per = DAY_S // grid.interval_s
    days = min(h.data.days, len(load) // per)
    if days < 1:
        raise AssessError(grid.path, 0, "less than one whole day of data")
    if days < h.data.days:
        notes.append(f"{days} whole days of data: the figures per year are scaled up from them")
    windows = away_windows(h)
    files = [grid] + ([pv] if pv is not None else [])
    return Home(h, tz, grid.start_utc, grid.interval_s, load[:days * per], pvi[:days * per],
                days, windows, presence(grid.start_utc, days, tz, windows), notes, files)


def home_from_seconds(h: Household, tz: str, start_utc: float, load: np.ndarray,
                      pv: np.ndarray) -> Home:
    """A Home whose 1-s load and PV are known (a generated household, or 1-s data)."""
    days = len(load) // DAY_S
    windows = away_windows(h)
    load_i = load[:days * DAY_S].reshape(-1, 60).mean(axis=1)
    pv_i = pv[:days * DAY_S].reshape(-1, 60).mean(axis=1)
    return Home(h, tz, start_utc, 60, load_i, pv_i, days, windows,
                presence(start_utc, days, tz, windows), [], [],
                (load[:days * DAY_S], pv[:days * DAY_S]))
