"""`v2h report`'s text and CSV: the month's figures, the lease settlement and the minutes
without data for a person, and one CSV row per local day (firmware_notes/ledger.md)."""

from __future__ import annotations

import csv
import math
from typing import IO

from ._flows import FLOWS
from ._report import Report, Sums
from ._settle import Rule, settle

NOTES = """\
Definitions (firmware_notes/ledger.md):
- Days and months are local ({tz}); energies are measured at the charger's AC side.
- Flows split the measured grid and car power: when charging, the grid feeds the car first
  (as far as the import goes), the rest is PV; when discharging, the car is the exporter
  first (as far as the export goes), the rest serves the house.
- Money is counted only in minutes with both prices known; minutes without are listed.
  A minute the ledger has no price for takes the contract's ([tariff]) where it sets one.
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
  throughput / (2 x capacity {cap:g} kWh).
- Settlement ([lease]): the employer owes the driver the reimbursement for charging, less
  what the energy given back is worth by the lease's rule. Minutes without a record are
  energy unknown and settle nothing; the charger's own counters are shown to check against."""


def _eur(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"EUR {x:9.2f}"


def _kwh(wh: float) -> str:
    return f"{wh / 1000.0:10.3f} kWh"


def counters_text(rep: Report) -> str:
    """The charger's own counters at the first and last minute of the month that has them."""
    first, last = rep.counters
    if first is None or last is None:
        return "none (the charger keeps no energy counters, or none were read)"
    return (f"charged {first[0] / 1000.0:.3f} -> {last[0] / 1000.0:.3f} kWh "
            f"(+{(last[0] - first[0]) / 1000.0:.3f}), discharged {first[1] / 1000.0:.3f} -> "
            f"{last[1] / 1000.0:.3f} kWh (+{(last[1] - first[1]) / 1000.0:.3f})")


def settlement_lines(rep: Report, rule: Rule | None) -> list[str]:
    """The settlement block of the text report."""
    if rule is None:
        return ["settlement             none: no [lease] section in the config (--config)"]
    s = settle(rep.total, rule, rep.mean_import_price)
    how_r, how_g = rule.describe(rep.mean_import_price)
    who = ", ".join(x for x in (rule.car, rule.plate, rule.driver) if x) or "the lease car"
    lines = [
        f"settlement ({who})",
        f"  reimbursed at          {how_r}",
        f"  given back settled at  {how_g}",
        f"  charged at home        {_kwh(s.charged_kwh * 1000)}   reimbursement "
        f"{_eur(s.reimbursement_eur)}",
    ]
    if s.charged_open_kwh > 1e-9:
        lines.append(f"    not reimbursed       {_kwh(s.charged_open_kwh * 1000)}   (minutes "
                     "without a price)")
    if rule.given_back == "none":
        lines.append(f"  given back             {_kwh(s.given_kwh * 1000)}   not settled")
    else:
        lines.append(f"  given back             {_kwh(s.given_kwh * 1000)}   worth to the "
                     f"employer {_eur(s.given_worth_eur)}")
        if s.given_open_kwh > 1e-9:
            lines.append(f"    not settled          {_kwh(s.given_open_kwh * 1000)}   (minutes "
                         "without a price)")
    side = "the employer owes the driver" if s.net_eur >= 0 else "the driver owes the employer"
    lines += [f"  net: {side:<35} {_eur(abs(s.net_eur))}",
              f"  charger counters       {counters_text(rep)}"]
    return lines


def missing_lines(rep: Report) -> list[str]:
    """The minutes without (full) data, counted: never priced by guess."""
    t = rep.total
    return [
        "missing data (counted, never priced by guess)",
        f"  minutes in the month so far  {rep.month_minutes:8d}",
        f"  minutes without a record     {rep.missing_minutes:8d}   (energy unknown: nothing "
        "recorded, nothing settled)",
        f"  minutes partly recorded      {t.partial_minutes:8d}   ({t.uncovered_s:.0f} s of "
        "them without data)",
        f"  minutes without a price      {t.unpriced_minutes:8d}   "
        f"({t.unpriced_charged_wh / 1000.0:.3f} kWh charged, "
        f"{t.unpriced_given_wh / 1000.0:.3f} kWh given back: not in the money figures)",
        f"  priced from [tariff]         {t.filled_minutes:8d}   (the ledger had no price; the "
        "contract's of that minute)",
    ]


def text(rep: Report, rule: Rule | None = None) -> str:
    """The month's figures, the settlement and the missing data for a person."""
    t = rep.total
    lines = [
        f"v2h report {rep.month} ({rep.tz.key}), ledger {rep.path}",
        f"  {t.minutes} minutes recorded, {t.covered_s / 3600.0:.2f} h covered, "
        f"{len(rep.days)} day(s)",
        "",
        f"charged at home        {_kwh(t.charged_wh)}   cost {_eur(t.charge_cost)}",
        f"  from the grid        {_kwh(t.flow('grid_to_car'))}",
        f"  from PV              {_kwh(t.flow('pv_to_car'))}",
        f"given back by the car  {_kwh(t.given_wh)}   value {_eur(t.given_value)}",
        f"  to the house         {_kwh(t.flow('car_to_house'))}",
        f"  to the grid          {_kwh(t.flow('car_to_grid'))}",
        f"grid to house          {_kwh(t.flow('grid_to_house'))}",
        f"PV to grid             {_kwh(t.flow('pv_to_grid'))}",
        f"savings vs no control  {'':14}   {_eur(rep.savings(t))}",
        f"battery throughput     {rep.throughput_kwh:10.3f} kWh (AC side)",
        f"equivalent full cycles {rep.full_cycles:10.4f}",
        f"minutes without prices {t.unpriced_minutes:10d}       "
        f"({t.unpriced_charged_wh / 1000.0:.3f} kWh charged, "
        f"{t.unpriced_given_wh / 1000.0:.3f} kWh given back: not in the money figures)",
    ]
    if not t.minutes:
        lines.append("(no ledger rows in this month)")
    lines += ["", *settlement_lines(rep, rule), "", *missing_lines(rep)]
    notes = NOTES.format(tz=rep.tz.key, eff=rep.efficiency, cap=rep.capacity_kwh)
    return "\n".join(lines) + "\n\n" + notes + "\n"


CSV_FIELDS = ("day", *(f"{f}_kwh" for f in FLOWS), "charged_kwh", "charge_cost_eur",
              "given_back_kwh", "given_back_value_eur", "savings_eur", "minutes",
              "unpriced_minutes", "missing_minutes", "partial_minutes", "reimbursement_eur",
              "given_back_settled_eur", "net_eur")


def _day_row(rep: Report, day_minutes: int, s: Sums, rule: Rule | None) -> list[object]:
    cells: list[object] = [
        *(_r(x / 1000.0, 4) for x in s.wh), _r(s.charged_wh / 1000.0, 4), _r(s.charge_cost, 4),
        _r(s.given_wh / 1000.0, 4), _r(s.given_value, 4), _r(rep.savings(s), 4), s.minutes,
        s.unpriced_minutes, max(0, day_minutes - s.minutes), s.partial_minutes]
    if rule is None:
        return [*cells, "", "", ""]
    st = settle(s, rule, rep.mean_import_price)
    return [*cells, _r(st.reimbursement_eur, 4), _r(st.given_worth_eur, 4), _r(st.net_eur, 4)]


def write_csv(rep: Report, out: IO[str], rule: Rule | None = None) -> None:
    """One row per local day with records, in date order; the settlement columns are empty
    without a [lease] rule (the month's average price for an "average" rule, so days add up
    to the month)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for day in sorted(rep.days):
        w.writerow([day.isoformat(), *_day_row(rep, rep.day_minutes(day), rep.days[day], rule)])


def _r(x: float, n: int) -> str:
    return "" if not math.isfinite(x) else f"{x:.{n}f}"
