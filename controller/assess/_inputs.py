"""A household's year as the options see it: its house load and PV per interval (W), made
1-s a day at a time (seeded per day), and the car's presence from its away windows."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import fast
from controller.sim import Inputs

from ._downscale import load_to_seconds, pv_to_seconds
from ._errors import AssessError
from ._household import Household, away_windows
from ._read import Series, read_series
from ._types import Arr

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
    load_i: Arr
    pv_i: Arr
    days: int
    windows: list[tuple[set[int], int, int]]
    home_min: Arr  # 1 where the car is home, per minute of the horizon
    notes: list[str] = field(default_factory=list)
    files: list[Series] = field(default_factory=list)
    one_s: tuple[Arr, Arr] | None = None  # true 1-s load and PV, when known
    trips_min: Arr | None = None  # Wh used by the trip ending at each minute (sessions)

    def trip_wh(self, day: int, second: int) -> float:
        """The energy (Wh) the car comes home without at this second of the day."""
        if self.trips_min is None:
            return self.h.car.trip_kwh * 1000.0
        return float(self.trips_min[day * 1440 + second // 60])

    @property
    def name(self) -> str:
        return self.h.name

    @property
    def seed(self) -> int:
        return self.h.seed

    def seconds(self, day: int) -> tuple[Arr, Arr]:
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
        back = list(np.flatnonzero(np.diff(car.astype(np.int8)) == 1) + 1)
        if day > 0 and car[0] and not self.home_min[day * 1440 - 1]:
            back.insert(0, 0)  # home at midnight after being away: a return too
        return Inputs(_doubles(load * LOAD_SHARE[0]), _doubles(load * LOAD_SHARE[1]),
                      _doubles(load * LOAD_SHARE[2]), _doubles(pv),
                      array("B", (car * CAR).tobytes()), [int(b) for b in back])


def _doubles(x: Arr) -> array[float]:
    """A float64 numpy array as array("d") (one copy, no per-element work)."""
    a: array[float] = array("d")
    a.frombytes(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    return a


def presence(start_utc: float, days: int, tz: str,
             windows: list[tuple[set[int], int, int]]) -> Arr:
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


def _common(grid: Series, pv: Series | None) -> tuple[Arr, Arr, list[str]]:
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
    clock = h.data.timezone or tz
    grid = read_series(folder / h.data.file, clock, tuple(h.data.ignore_columns))
    pv = read_series(folder / h.data.pv_file, clock, tuple(h.data.ignore_columns), pv=True) \
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
    home = Home(h, tz, grid.start_utc, grid.interval_s, load[:days * per], pvi[:days * per],
                days, windows, presence(grid.start_utc, days, tz, windows), notes, files)
    if h.car.sessions:
        home.windows = []
        home.home_min, home.trips_min, note = sessions(folder / h.car.sessions,
                                                       h.car.sessions_user, grid.start_utc,
                                                       days, tz)
        notes.append(note)
    return home


def sessions(path: Path, user: str | None, start_utc: float, days: int, tz: str
             ) -> tuple[Arr, Arr, str]:
    """The car's presence per minute and the trip energy (Wh) at each plug-in, from home
    charging sessions: the user's sessions (the one with most when none is named) moved by
    whole weeks so that its first full week falls on the household's first (weekdays kept),
    repeated when the sessions span less than the data. Presence is "plugged in": a car at
    home but not plugged in is away here (what the sessions cannot show)."""
    p = str(path)
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise AssessError(p, 0, f"cannot read the sessions: {exc}") from None
    need = {"plugin_local", "plugout_local", "energy_kwh"}
    if not need <= set(df.columns):
        raise AssessError(p, 1, f"sessions need columns {', '.join(sorted(need))}")
    if user is None and "user_id" in df.columns:
        user = str(df["user_id"].value_counts().index[0])
    if user is not None:
        if "user_id" not in df.columns or user not in set(df["user_id"]):
            raise AssessError(p, 0, f"no sessions of user {user!r}")
        df = df[df["user_id"] == user]
    df = df.dropna(subset=["plugin_local", "plugout_local"])
    t_in = pd.to_datetime(df["plugin_local"])
    t_out = pd.to_datetime(df["plugout_local"])
    if len(df) == 0:
        raise AssessError(p, 0, "no complete session")
    local0 = pd.Timestamp(start_utc, unit="s", tz="UTC").tz_convert(tz).tz_localize(None)
    first = t_in.min().normalize()
    first -= pd.Timedelta(days=first.weekday())  # its Monday
    start_monday = local0.normalize() - pd.Timedelta(days=local0.weekday())
    span_weeks = max(1, int((t_out.max() - first).days // 7) + 1)
    n = days * 1440
    home = np.zeros(n, dtype=np.uint8)
    trips = np.zeros(n)
    def minute(t: Any) -> Arr:
        return np.asarray((t - local0) // pd.Timedelta(minutes=1), dtype=np.int64)

    reps = 0
    shift = start_monday - first
    while True:
        a = minute(t_in + shift)
        b = minute(t_out + shift)
        e = df["energy_kwh"].to_numpy(dtype=float) * 1000.0
        if a.min() >= n:
            break
        for i, j, wh in zip(a, b, e):
            lo, hi = max(0, int(i)), min(n, int(j))
            if hi > lo:
                home[lo:hi] = 1
                if i >= 0:
                    trips[lo] += wh
        shift += pd.Timedelta(weeks=span_weeks)
        reps += 1
    note = (f"car days: {len(df)} charging sessions of {user or 'the file'} "
            f"({t_in.min():%Y-%m-%d} to {t_out.max():%Y-%m-%d}) moved onto the data's weeks"
            + (f", repeated {reps} times" if reps > 1 else "")
            + f"; home {home.mean():.0%} of the time (plugged in)")
    return home, trips, note


def home_from_seconds(h: Household, tz: str, start_utc: float, load: Arr,
                      pv: Arr) -> Home:
    """A Home whose 1-s load and PV are known (a generated household, or 1-s data)."""
    days = len(load) // DAY_S
    windows = away_windows(h)
    load_i = load[:days * DAY_S].reshape(-1, 60).mean(axis=1)
    pv_i = pv[:days * DAY_S].reshape(-1, 60).mean(axis=1)
    return Home(h, tz, start_utc, 60, load_i, pv_i, days, windows,
                presence(start_utc, days, tz, windows), [], [],
                (load[:days * DAY_S], pv[:days * DAY_S]))
