"""Household files as people have them: a power series at any interval (1 s to 60 min), P1
counters (import/export, tariff 1 and 2) at any interval, or interval energies (a supplier's
15-minute or hourly export); PV alike. Each becomes mean power per interval (W) on a regular
UTC grid, and every repair is reported (`Series.notes`), never made silently.

Columns (one time column and the value columns of one kind; firmware_notes/assessment.md):
- time: `time`, `timestamp`, `start`, `time_utc`, `start_utc` or `time_logger`; ISO 8601
  with an offset or `Z` is UTC, naive times are local in the household's time zone;
- power: `power_w`, `active_power_w` or `power_kw` (grid power, import positive; PV files:
  production),
  optionally `unit` per row (`W` or `kW`), which must not change within a file;
- P1 counters: `import_t1_kwh`, `import_t2_kwh`, `export_t1_kwh`, `export_t2_kwh` (kWh
  read at each time; `_wh` also accepted);
- interval energies: `import_kwh`, `export_kwh` (or `energy_kwh` for PV; `_wh` too), the
  energy of the interval that starts at the row's time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import AssessError
from ._types import Arr

TIME_COLUMNS = ("time", "timestamp", "start", "time_utc", "start_utc", "time_logger")
POWER = {"power_w": 1.0, "power_kw": 1000.0, "active_power_w": 1.0}
COUNTERS = ("import_t1", "import_t2", "export_t1", "export_t2")
ENERGIES = ("import", "export", "energy")
UNITS = {"w": 1.0, "kw": 1000.0}
MAX_MISSING = 0.10  # a year with more missing is refused: what would be assessed is made up
# a counter that falls to below this share of its last reading has been reset (a new meter)
RESET_SHARE = 0.05


@dataclass
class Series:
    """Mean power (W) per interval on a regular grid: `start_utc` (s) of the first,
    `interval_s`, the values; `kind` as read, and the notes on what was repaired."""

    path: str
    kind: str
    start_utc: float
    interval_s: int
    watts: Arr
    notes: list[str] = field(default_factory=list)

    @property
    def days(self) -> float:
        return len(self.watts) * self.interval_s / 86400.0


def _columns(path: str, df: pd.DataFrame, ignore: tuple[str, ...]) -> tuple[str, str, list[str]]:
    """(time column, kind, value columns); AssessError on unknown or missing columns."""
    cols = [c for c in df.columns if c not in ignore]
    times = [c for c in cols if c in TIME_COLUMNS]
    if len(times) != 1:
        raise AssessError(path, 1, f"needs one time column ({', '.join(TIME_COLUMNS)}); "
                          f"found {', '.join(map(str, cols)) or 'none'}")
    rest = [c for c in cols if c != times[0] and c != "unit"]
    known = {*POWER, *(f"{c}_{u}" for c in COUNTERS for u in ("kwh", "wh")),
             *(f"{c}_{u}" for c in ENERGIES for u in ("kwh", "wh"))}
    unknown = [c for c in rest if c not in known]
    if unknown:
        raise AssessError(path, 1, f"unknown column(s) {', '.join(map(repr, unknown))}: "
                          "expected power_w or power_kw; import_t1_kwh, import_t2_kwh, "
                          "export_t1_kwh, export_t2_kwh; or import_kwh, export_kwh, "
                          "energy_kwh (list others under ignore_columns)")
    kinds = {("power" if c in POWER else "p1" if c.rsplit("_", 1)[0] in COUNTERS
              else "energy") for c in rest}
    if len(kinds) != 1:
        raise AssessError(path, 1, "columns of more than one kind (power, counters, "
                          f"energies): {', '.join(rest) or 'no value column'}")
    return times[0], kinds.pop(), rest


def _numbers(path: str, df: pd.DataFrame, col: str) -> pd.Series:
    """The column as floats; a cell that is not a number (a unit in it, text) is an error
    naming its line; an empty cell is missing (NaN)."""
    raw = df[col]
    vals = pd.to_numeric(raw, errors="coerce")
    bad = vals.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise AssessError(path, i + 2, f"{col}: {str(raw.iloc[i])!r} is not a number "
                          "(units belong in the column name or the unit column)")
    return vals.astype(float)


def _times(path: str, df: pd.DataFrame, col: str, tz: str, notes: list[str]) -> pd.Series:
    raw = df[col].astype(str)
    try:
        t = pd.to_datetime(raw, utc=False, format="ISO8601")
    except (ValueError, TypeError):
        bad = pd.to_datetime(raw, errors="coerce", format="ISO8601").isna()
        i = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
        raise AssessError(path, i + 2, f"{col}: {raw.iloc[i]!r} is not a time "
                          "(ISO 8601, e.g. 2025-03-30 02:15 or 2025-03-30T00:15Z)") from None
    if t.dt.tz is None:
        try:
            loc = t.dt.tz_localize(tz, ambiguous="infer", nonexistent="shift_forward")
        except Exception:  # noqa: BLE001 - pandas raises several kinds; fall back and say so
            loc = t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
            n_amb = int(loc.isna().sum())
            notes.append(f"{n_amb} local times in a clock-change hour could not be placed "
                         "(no repeated hour to infer from): dropped")
        shifts = loc.dropna().dt.tz_convert("UTC").diff().dt.total_seconds()
        local_step = t.diff().dt.total_seconds()
        dst = int(((shifts - local_step).abs() > 0).sum())
        if dst:
            notes.append(f"{dst} clock change(s) of {tz} found and applied (local times "
                         "made UTC)")
        t = loc
    return t.dt.tz_convert("UTC")


def _dedupe(path: str, df: pd.DataFrame, tcol: str, notes: list[str]) -> pd.DataFrame:
    same = df.duplicated(keep="first")
    if same.any():
        notes.append(f"{int(same.sum())} duplicate row(s) dropped (first at line "
                     f"{int(np.flatnonzero(same.to_numpy())[0]) + 2})")
        df = df[~same]
    clash = df.duplicated(subset=["_t"], keep="first")
    if clash.any():
        first = int(df.index[clash.to_numpy()][0]) + 2
        notes.append(f"{int(clash.sum())} row(s) repeat an earlier time with other values: "
                     f"the first kept (first at line {first})")
        df = df[~clash]
    if not df["_t"].is_monotonic_increasing:
        notes.append("rows not in time order: sorted")
        df = df.sort_values("_t")
    return df


def _interval(path: str, t: pd.Series) -> int:
    d = t.diff().dt.total_seconds().dropna()
    d = d[d > 0]
    if d.empty:
        raise AssessError(path, 0, "needs at least two rows at different times")
    step = int(round(float(d.median())))
    if step < 1 or step > 3600 or 3600 % step:
        raise AssessError(path, 0, f"interval of {step} s: expected 1 s to 60 min, "
                          "dividing an hour")
    return step


def _counters(path: str, df: pd.DataFrame, cols: list[str], scale: dict[str, float],
              notes: list[str]) -> pd.DataFrame:
    """Counter readings to energy per row (Wh from the row before): a reset (a reading
    far below the last, from near zero) is bridged and reported; any other fall is an
    error naming its line."""
    out = pd.DataFrame(index=df.index)
    for c in cols:
        v = df[c].to_numpy(dtype=float) * scale[c]
        d = np.diff(v, prepend=np.nan)
        back = np.flatnonzero(d < 0)
        for i in back:
            prev = v[i - 1]
            if v[i] <= RESET_SHARE * prev:
                notes.append(f"{c}: counter reset at line {int(df.index[i]) + 2} "
                             f"({prev / 1000:.3f} -> {v[i] / 1000:.3f} kWh): counted from "
                             "zero")
                d[i] = v[i]
            else:
                raise AssessError(path, int(df.index[i]) + 2,
                                  f"{c}: the counter goes backwards ({prev / 1000:.3f} -> "
                                  f"{v[i] / 1000:.3f} kWh) and is no reset")
        out[c] = d
    return out


def read_series(path: str | Path, tz: str = "Europe/Amsterdam",
                ignore: tuple[str, ...] = (), pv: bool = False) -> Series:
    """One household or PV file as mean power per interval (W; grid files: import
    positive, PV files: production positive). AssessError names file, line and problem."""
    p = str(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise AssessError(p, 0, "no such file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise AssessError(p, 0, f"not a CSV file: {exc}") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    tcol, kind, cols = _columns(p, df, ignore)
    notes: list[str] = []
    scale = {c: POWER.get(c, 1000.0 if c.endswith("_kwh") else 1.0) for c in cols}
    if "unit" in df.columns:
        if kind != "power" or len(cols) != 1:
            raise AssessError(p, 1, "a unit column goes with one power column")
        units = df["unit"].astype(str).str.strip().str.lower()
        known = units.isin(list(UNITS))
        if not known.all():
            i = int(np.flatnonzero(~known.to_numpy())[0])
            raise AssessError(p, i + 2, f"unit {df['unit'].iloc[i]!r}: expected W or kW")
        if units.nunique() > 1:
            i = int(np.flatnonzero((units != units.iloc[0]).to_numpy())[0])
            raise AssessError(p, i + 2, f"mixed units: {df['unit'].iloc[i]!r} here, "
                              f"{df['unit'].iloc[0]!r} on line 2; convert the file to one "
                              "unit")
        scale = {cols[0]: UNITS[units.iloc[0]] * (1.0 if cols[0] == "power_w" else 1e-3)}
    vals = {c: _numbers(p, df, c) for c in cols}
    work = pd.DataFrame(vals)
    work["_t"] = _times(p, df, tcol, tz, notes)
    work = work[work["_t"].notna()]
    work = _dedupe(p, work, tcol, notes)
    step = _interval(p, work["_t"])
    rows = work.index.to_numpy() + 2  # each row's line in the file (the header is line 1)
    if kind == "p1":
        energy = _counters(p, work.dropna(), cols, scale, notes)
        w = energy.reindex(work.index)
        imp = sum((w[c] for c in cols if c.startswith("import")), start=pd.Series(0.0, w.index))
        exp_ = sum((w[c] for c in cols if c.startswith("export")), start=pd.Series(0.0, w.index))
        # a counter's difference is the energy of the interval ending at its reading
        watts = (imp - exp_) * 3600.0 / step
        t = work["_t"] - pd.Timedelta(seconds=step)
        # the first reading only starts the count: no interval ends at it
        watts, t = watts.iloc[1:], t.iloc[1:]
        rows = rows[1:]
    elif kind == "energy":
        e = {c: work[c] * scale[c] for c in cols}
        if pv:
            tot = sum(e.values(), start=pd.Series(0.0, work.index))
        else:
            tot = sum((v for c, v in e.items() if c.startswith("import")),
                      start=pd.Series(0.0, work.index)) - \
                sum((v for c, v in e.items() if c.startswith("export")),
                    start=pd.Series(0.0, work.index))
        watts = tot * 3600.0 / step
        t = work["_t"]
    else:
        watts = work[cols[0]] * scale[cols[0]]
        t = work["_t"]
    s = pd.Series(watts.to_numpy(dtype=float), index=pd.DatetimeIndex(t))
    lines = pd.Series(rows, index=s.index)
    secs = ((s.index - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()
    off = secs % step != 0
    if off.any():
        notes.append(f"{int(off.sum())} time(s) off the {step}-s grid: floored to it")
        s.index = lines.index = s.index.floor(f"{step}s")
        keep = ~s.index.duplicated(keep="first")
        s, lines = s[keep], lines[keep]
    grid = pd.date_range(s.index[0], s.index[-1], freq=f"{step}s")
    full = s.reindex(grid)
    # the line of each interval's row, or of the last row before it (a gap follows it)
    at = lines.reindex(grid).ffill().to_numpy(dtype=np.int64)
    return _fill(p, kind, full, step, notes, at)


def _fill(path: str, kind: str, full: pd.Series, step: int, notes: list[str],
          lines: Any) -> Series:
    """Refuse a series with too much missing (naming the line where the first gap is or
    follows); fill short gaps from the day before (or after), then a week, then the
    time-of-day mean; say so."""
    miss = full.isna().to_numpy()
    share = float(miss.mean())
    if share > MAX_MISSING:
        i = int(np.flatnonzero(miss)[0])
        raise AssessError(path, int(lines[i]), f"{share:.0%} of the {len(full)} intervals "
                          f"are missing, the first at {full.index[i].isoformat()} (here or "
                          f"after this line): more than {MAX_MISSING:.0%} missing cannot be "
                          "assessed; send a fuller year")
    if miss.any():
        per_day = 86400 // step
        v = full.to_numpy(dtype=float).copy()
        for lag in (per_day, -per_day, 7 * per_day, -7 * per_day):
            gap = np.isnan(v)
            if not gap.any():
                break
            src = np.roll(v, lag)
            if lag > 0:
                src[:lag] = np.nan
            else:
                src[lag:] = np.nan
            v[gap] = src[gap]
        left = np.isnan(v)
        if left.any():
            tod = (np.arange(len(v)) % per_day)
            means = pd.Series(v).groupby(tod).transform("mean").to_numpy()
            v[left] = means[left]
            v[np.isnan(v)] = 0.0
        notes.append(f"{int(miss.sum())} missing interval(s) ({share:.2%}) filled from the "
                     "same time a day or a week away")
        full = pd.Series(v, index=full.index)
    start = float(full.index[0].timestamp())
    return Series(path, kind, start, step, full.to_numpy(dtype=float), notes)


def as_dict(s: Series) -> dict[str, Any]:
    """What the report says about a file."""
    return {"file": s.path, "kind": s.kind, "interval_s": s.interval_s,
            "days": round(s.days, 2), "notes": list(s.notes)}
