"""`v2h report`: a month of the ledger in figures for people (lease reimbursement, what the
car gave back, what v2h saved) and a CSV with one row per local day. The definitions are in
NOTES below and in firmware_notes/ledger.md."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from ._flows import FLOWS
from ._store import connect

NOTES = """\
Definitions (firmware_notes/ledger.md):
- Days and months are local ({tz}); energies are measured at the charger's AC side.
- Flows split the measured grid and car power: when charging, the grid feeds the car first
  (as far as the import goes), the rest is PV; when discharging, the car is the exporter
  first (as far as the export goes), the rest serves the house.
- Money is counted only in minutes with both prices known; minutes without are listed.
- Cost of charging = charged energy x the import price of its minute (PV included: the
  reimbursement basis is the home tariff).
- Value given back = car->house x import price + car->grid x export price.
- Savings vs no control = sum(p_imp*car_to_house + p_exp*car_to_grid
  + (p_imp - p_exp)*pv_to_car) - p_charge * given_back / eff^2. Without v2h the car would
  not discharge (the house imports what it gave), would take its charge from the grid at
  the same minutes' import prices (the PV it took is exported instead), and would charge
  given_back / eff^2 less, priced at p_charge, the import price weighted by the car's
  charging (eff = one-way efficiency {eff:g}).
- Battery throughput = charged + given back (AC side); equivalent full cycles =
  throughput / (2 x capacity {cap:g} kWh)."""


def month_bounds(month: str, tz: ZoneInfo) -> tuple[int, int]:
    """The month 'YYYY-MM' in local time as [start, end) in Unix s; ValueError if bad."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1970:
        raise ValueError(f"--month: {month!r} is not a month (YYYY-MM)")
    y, mo = int(m.group(1)), int(m.group(2))
    start = datetime(y, mo, 1, tzinfo=tz)
    end = datetime(y + mo // 12, mo % 12 + 1, 1, tzinfo=tz)
    return int(start.timestamp()), int(end.timestamp())


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

    def flow(self, name: str) -> float:
        return self.wh[FLOWS.index(name)]

    @property
    def charged_wh(self) -> float:
        return self.flow("pv_to_car") + self.flow("grid_to_car")

    @property
    def given_wh(self) -> float:
        return self.flow("car_to_house") + self.flow("car_to_grid")

    def add(self, row: tuple[Any, ...]) -> None:
        f = dict(zip(FLOWS, row[1:1 + len(FLOWS)]))
        imp, exp, cov = row[1 + len(FLOWS):4 + len(FLOWS)]
        for i, name in enumerate(FLOWS):
            self.wh[i] += f[name]
        self.minutes += 1
        self.covered_s += cov
        charged = f["pv_to_car"] + f["grid_to_car"]
        given = f["car_to_house"] + f["car_to_grid"]
        if imp is None or exp is None:
            self.unpriced_minutes += 1
            self.unpriced_charged_wh += charged
            self.unpriced_given_wh += given
            return
        k = 1.0 / 1000.0  # Wh x EUR/kWh
        self.priced_minutes += 1
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
          capacity_kwh: float = 60.0, efficiency: float = 0.93) -> Report:
    """Read the month from the ledger at `path` (read-only). ValueError for a bad month or
    time zone; FileNotFoundError when there is no ledger; LedgerError when it is not one."""
    try:
        tz = ZoneInfo(tz_name)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"timezone: unknown time zone {tz_name!r}") from exc
    start, end = month_bounds(month, tz)
    db = connect(path, readonly=True)
    try:
        rows = db.execute(
            f"SELECT minute_utc, {', '.join(FLOWS)}, import_eur_kwh, export_eur_kwh, covered_s "
            "FROM minutes WHERE minute_utc >= ? AND minute_utc < ? ORDER BY minute_utc",
            (start, end)).fetchall()
    finally:
        db.close()
    total = Sums()
    days: dict[date, Sums] = {}
    for r in rows:
        day = datetime.fromtimestamp(r[0], tz).date()
        total.add(r)
        days.setdefault(day, Sums()).add(r)
    return Report(month, tz, Path(path), capacity_kwh, efficiency, total, days)


def _eur(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"EUR {x:9.2f}"


def text(rep: Report) -> str:
    """The month's figures for a person."""
    t = rep.total

    def kwh(wh: float) -> str:
        return f"{wh / 1000.0:10.3f} kWh"

    lines = [
        f"v2h report {rep.month} ({rep.tz.key}), ledger {rep.path}",
        f"  {t.minutes} minutes recorded, {t.covered_s / 3600.0:.2f} h covered, "
        f"{len(rep.days)} day(s)",
        "",
        f"charged at home        {kwh(t.charged_wh)}   cost {_eur(t.charge_cost)}",
        f"  from the grid        {kwh(t.flow('grid_to_car'))}",
        f"  from PV              {kwh(t.flow('pv_to_car'))}",
        f"given back by the car  {kwh(t.given_wh)}   value {_eur(t.given_value)}",
        f"  to the house         {kwh(t.flow('car_to_house'))}",
        f"  to the grid          {kwh(t.flow('car_to_grid'))}",
        f"grid to house          {kwh(t.flow('grid_to_house'))}",
        f"PV to grid             {kwh(t.flow('pv_to_grid'))}",
        f"savings vs no control  {'':14}   {_eur(rep.savings(t))}",
        f"battery throughput     {rep.throughput_kwh:10.3f} kWh (AC side)",
        f"equivalent full cycles {rep.full_cycles:10.4f}",
        f"minutes without prices {t.unpriced_minutes:10d}       "
        f"({t.unpriced_charged_wh / 1000.0:.3f} kWh charged, "
        f"{t.unpriced_given_wh / 1000.0:.3f} kWh given back: not in the money figures)",
    ]
    if not t.minutes:
        lines.append("(no ledger rows in this month)")
    notes = NOTES.format(tz=rep.tz.key, eff=rep.efficiency, cap=rep.capacity_kwh)
    return "\n".join(lines) + "\n\n" + notes + "\n"


CSV_FIELDS = ("day", *(f"{f}_kwh" for f in FLOWS), "charged_kwh", "charge_cost_eur",
              "given_back_kwh", "given_back_value_eur", "savings_eur", "minutes",
              "unpriced_minutes")


def write_csv(rep: Report, out: IO[str]) -> None:
    """One row per local day with records, in date order."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for day in sorted(rep.days):
        s = rep.days[day]
        w.writerow([day.isoformat(), *(_r(x / 1000.0, 4) for x in s.wh),
                    _r(s.charged_wh / 1000.0, 4), _r(s.charge_cost, 4),
                    _r(s.given_wh / 1000.0, 4), _r(s.given_value, 4),
                    _r(rep.savings(s), 4), s.minutes, s.unpriced_minutes])


def _r(x: float, n: int) -> str:
    return "" if not math.isfinite(x) else f"{x:.{n}f}"


def local_days(minutes_utc: Iterable[int], tz: ZoneInfo) -> set[date]:
    """The local dates these minute starts fall on."""
    return {datetime.fromtimestamp(m, tz).date() for m in minutes_utc}

