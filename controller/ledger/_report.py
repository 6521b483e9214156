"""`v2h report`: a month of the ledger summed for people (lease reimbursement, what the car
gave back, what v2h saved), per month and per local day, with every minute that has no data
or no price counted. The definitions are in firmware_notes/ledger.md; the outputs (text, CSV,
HTML statement) are in `_text` and `_statement`."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ._flows import FLOWS
from ._store import connect


def month_bounds(month: str, tz: ZoneInfo) -> tuple[int, int]:
    """The month 'YYYY-MM' in local time as [start, end) in Unix s; ValueError if bad."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1970:
        raise ValueError(f"--month: {month!r} is not a month (YYYY-MM)")
    y, mo = int(m.group(1)), int(m.group(2))
    start = datetime(y, mo, 1, tzinfo=tz)
    end = datetime(y + mo // 12, mo % 12 + 1, 1, tzinfo=tz)
    return int(start.timestamp()), int(end.timestamp())


FULL_S = 59.5  # a row covering less of its minute than this is partly missing

PriceAt = Callable[[float], "tuple[float, float] | None"]  # UTC s -> (import, export) EUR/kWh


@dataclass
class Sums:
    """Energies (Wh) and money (EUR) over a set of minutes."""

    wh: list[float] = field(default_factory=lambda: [0.0] * len(FLOWS))
    minutes: int = 0
    covered_s: float = 0.0
    unpriced_minutes: int = 0
    unpriced_charged_wh: float = 0.0
    unpriced_given_wh: float = 0.0
    charge_cost: float = 0.0  # charged x import price
    given_value: float = 0.0  # car->house x import + car->grid x export
    direct_gain: float = 0.0  # given_value + (import - export) x pv->car
    priced_charged_wh: float = 0.0
    priced_given_wh: float = 0.0
    import_price_sum: float = 0.0  # for the time-mean import price
    priced_minutes: int = 0
    filled_minutes: int = 0  # priced from [tariff] at report time (the row had no price)
    partial_minutes: int = 0  # rows covering less than the whole minute
    uncovered_s: float = 0.0  # the seconds those rows miss

    def flow(self, name: str) -> float:
        return self.wh[FLOWS.index(name)]

    @property
    def charged_wh(self) -> float:
        return self.flow("pv_to_car") + self.flow("grid_to_car")

    @property
    def given_wh(self) -> float:
        return self.flow("car_to_house") + self.flow("car_to_grid")

    def add(self, row: tuple[Any, ...], filled: bool = False) -> None:
        """One ledger row (minute_utc, the flows, import, export, covered_s); `filled`: its
        prices came from the contract at report time."""
        f = dict(zip(FLOWS, row[1:1 + len(FLOWS)]))
        imp, exp, cov = row[1 + len(FLOWS):4 + len(FLOWS)]
        for i, name in enumerate(FLOWS):
            self.wh[i] += f[name]
        self.minutes += 1
        self.covered_s += cov
        if cov < FULL_S:
            self.partial_minutes += 1
            self.uncovered_s += 60.0 - cov
        charged = f["pv_to_car"] + f["grid_to_car"]
        given = f["car_to_house"] + f["car_to_grid"]
        if imp is None or exp is None:
            self.unpriced_minutes += 1
            self.unpriced_charged_wh += charged
            self.unpriced_given_wh += given
            return
        k = 1.0 / 1000.0  # Wh x EUR/kWh
        self.priced_minutes += 1
        self.filled_minutes += filled
        self.import_price_sum += imp
        self.charge_cost += charged * imp * k
        value = (f["car_to_house"] * imp + f["car_to_grid"] * exp) * k
        self.given_value += value
        self.direct_gain += value + f["pv_to_car"] * (imp - exp) * k
        self.priced_charged_wh += charged
        self.priced_given_wh += given


@dataclass
class Report:
    """One month of the ledger: the month's sums and one Sums per local day."""

    month: str
    tz: ZoneInfo
    path: Path
    capacity_kwh: float
    efficiency: float
    total: Sums
    days: dict[date, Sums]
    start_utc: int = 0  # the month, [start, end) in Unix s
    end_utc: int = 0
    until_utc: int = 0  # its minutes are counted to here (the month's end, or now)
    counters: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None)
    contract_mean: float = math.nan  # the contract's time-mean import price (EUR/kWh)

    @property
    def month_minutes(self) -> int:
        """The minutes of the month so far (a DST month has 60 fewer or more)."""
        return max(0, self.until_utc - self.start_utc) // 60

    @property
    def missing_minutes(self) -> int:
        """Minutes of the month so far without a ledger row: energy unknown."""
        return max(0, self.month_minutes - self.total.minutes)

    @property
    def mean_import_price(self) -> float:
        """The contract's average import price over the month (EUR/kWh): its time-mean over
        all the month's minutes where the contract sets prices itself, else over the ledger's
        priced minutes; NaN without any."""
        if math.isfinite(self.contract_mean):
            return self.contract_mean
        t = self.total
        return t.import_price_sum / t.priced_minutes if t.priced_minutes else math.nan

    def day_minutes(self, day: date) -> int:
        """The minutes of a local day (1380 or 1500 on the DST days), within the month so
        far."""
        a = int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp())
        nxt = day + timedelta(days=1)
        b = int(datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz).timestamp())
        return max(0, min(b, self.until_utc) - max(a, self.start_utc)) // 60

    @property
    def charge_price(self) -> float:
        """The import price weighted by the car's charging (EUR/kWh); the time-mean import
        price when the car did not charge in priced minutes; NaN without any price."""
        t = self.total
        if t.priced_charged_wh > 0:
            return t.charge_cost * 1000.0 / t.priced_charged_wh
        return t.import_price_sum / t.priced_minutes if t.priced_minutes else math.nan

    def savings(self, s: Sums) -> float:
        """Savings against no control (EUR) of these minutes (NOTES)."""
        if not s.priced_minutes:
            return 0.0 if not s.priced_given_wh else math.nan
        recharge = s.priced_given_wh / 1000.0 / self.efficiency ** 2 * self.charge_price
        return s.direct_gain - recharge

    @property
    def throughput_kwh(self) -> float:
        return (self.total.charged_wh + self.total.given_wh) / 1000.0

    @property
    def full_cycles(self) -> float:
        return self.throughput_kwh / (2.0 * self.capacity_kwh)


def build(path: str | Path, month: str, tz_name: str = "Europe/Amsterdam",
          capacity_kwh: float = 60.0, efficiency: float = 0.93, *,
          price_at: PriceAt | None = None, now_utc: float | None = None) -> Report:
    """Read the month from the ledger at `path` (read-only). A row without prices takes the
    contract's (`price_at`, when it sets them) and is counted as filled; minutes are counted
    up to `now_utc` (default: the clock) in the month under way. ValueError for a bad month
    or time zone; FileNotFoundError when there is no ledger; LedgerError when it is not one."""
    try:
        tz = ZoneInfo(tz_name)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"timezone: unknown time zone {tz_name!r}") from exc
    start, end = month_bounds(month, tz)
    db = connect(path, readonly=True)
    try:
        rows = db.execute(
            f"SELECT minute_utc, {', '.join(FLOWS)}, import_eur_kwh, export_eur_kwh, covered_s, "
            "charger_charged_wh, charger_discharged_wh "
            "FROM minutes WHERE minute_utc >= ? AND minute_utc < ? ORDER BY minute_utc",
            (start, end)).fetchall()
    finally:
        db.close()
    now = time.time() if now_utc is None else now_utc
    until = max(start, min(end, int(now // 60) * 60))  # the open minute is not yet due
    if rows:
        until = max(until, rows[-1][0] + 60)
    total = Sums()
    days: dict[date, Sums] = {}
    counts = [(float(r[-2]), float(r[-1])) for r in rows if r[-2] is not None
              and r[-1] is not None]
    n = len(FLOWS)
    for r in rows:
        r = r[:-2]
        filled = False
        if (r[1 + n] is None or r[2 + n] is None) and price_at is not None:
            p = price_at(r[0])
            if p is not None:
                r = (*r[:1 + n], p[0], p[1], r[3 + n])
                filled = True
        day = datetime.fromtimestamp(r[0], tz).date()
        total.add(r, filled)
        days.setdefault(day, Sums()).add(r, filled)
    rep = Report(month, tz, Path(path), capacity_kwh, efficiency, total, days, start, end,
                 until, (counts[0], counts[-1]) if counts else (None, None))
    if price_at is not None:
        rep.contract_mean = _time_mean(price_at, start, end)
    return rep


def _time_mean(price_at: PriceAt, start: int, end: int) -> float:
    """The time-mean import price over [start, end), hour by hour (every contract that sets
    its own prices holds them for whole local hours); NaN when any hour has none."""
    total = 0.0
    hours = 0
    for t in range(start, end, 3600):
        p = price_at(t)
        if p is None:
            return math.nan
        total += p[0]
        hours += 1
    return total / hours if hours else math.nan


def local_days(minutes_utc: Iterable[int], tz: ZoneInfo) -> set[date]:
    """The local dates these minute starts fall on."""
    return {datetime.fromtimestamp(m, tz).date() for m in minutes_utc}

