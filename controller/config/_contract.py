"""The energy contract's and the lease's checks between keys: the double tariff's week of
hours, what each contract needs, and whether a lease rule gets the prices it needs."""

from __future__ import annotations

import re

from ._schema import Config

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Monday = 0, as datetime.weekday()
_SPEC = re.compile(r"^\s*(?P<days>[a-z,-]+)\s+(?P<hours>[0-9,-]+)\s*$")
_RANGE = re.compile(r"^(\d{2})-(\d{2})$")

WeekHour = tuple[int, int]  # (weekday, hour): Monday = 0, hour 0..23 local


def _days(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        if a not in DAYS or (b and b not in DAYS):
            raise ValueError(f"{part!r} is not a day or a range of days (mon..sun)")
        i, j = DAYS.index(a), DAYS.index(b or a)
        if j < i:
            raise ValueError(f"{part!r}: days run mon..sun, {b} comes before {a}")
        out.extend(range(i, j + 1))
    return out


def _hours(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m or not int(m.group(1)) < int(m.group(2)) <= 24:
            raise ValueError(f"{part!r} is not an hour range HH-HH within a day (00-24, "
                             "from before to)")
        out.extend(range(int(m.group(1)), int(m.group(2))))
    return out


def week_hours(spec: str) -> set[WeekHour]:
    """The (weekday, hour) pairs of one "DAYS HH-HH[,HH-HH]" entry, e.g. "mon-fri 07-23" or
    "sat,sun 00-24"; ValueError saying what is wrong."""
    m = _SPEC.match(spec.lower())
    if not m:
        raise ValueError(f"{spec!r} is not 'DAYS HH-HH' (e.g. 'mon-fri 07-23')")
    return {(d, h) for d in _days(m.group("days")) for h in _hours(m.group("hours"))}


def _when(wh: WeekHour) -> str:
    return f"{DAYS[wh[0]]} {wh[1]:02d}-{wh[1] + 1:02d}"


def low_hours(normal: list[str], low: list[str]) -> tuple[set[WeekHour] | None,
                                                            list[tuple[str, str]]]:
    """The week's low-tariff hours from the two lists, or None with the problems (key, text):
    a bad entry, an hour in both lists, an hour in neither."""
    problems: list[tuple[str, str]] = []
    sets: dict[str, set[WeekHour]] = {}
    for key, specs in (("tariff.normal_hours", normal), ("tariff.low_hours", low)):
        sets[key] = set()
        for spec in specs:
            try:
                hours = week_hours(spec)
            except ValueError as exc:
                problems.append((key, str(exc)))
                continue
            twice = sorted(hours & sets[key])
            if twice:
                problems.append((key, f"{spec!r} repeats {_when(twice[0])} "
                                      f"({len(twice)} hour(s) listed twice)"))
            sets[key] |= hours
    if problems:
        return None, problems
    both = sorted(sets["tariff.normal_hours"] & sets["tariff.low_hours"])
    if both:
        problems.append(("tariff.low_hours",
                         f"overlaps tariff.normal_hours: {len(both)} hour(s) in both, the "
                         f"first {_when(both[0])}"))
    week = {(d, h) for d in range(7) for h in range(24)}
    neither = sorted(week - sets["tariff.normal_hours"] - sets["tariff.low_hours"])
    if neither:
        problems.append(("tariff.low_hours",
                         f"leaves {len(neither)} hour(s) of the week in neither list, the "
                         f"first {_when(neither[0])}"))
    return (None if problems else sets["tariff.low_hours"]), problems


_NEEDS = {"fixed": ("rate_eur_kwh",), "double": ("normal_eur_kwh", "low_eur_kwh"),
          "variable": ("monthly_file",)}


def contract_checks(cfg: Config) -> list[tuple[str, str]]:
    """What the configured contract needs, and the double tariff's hours."""
    t = cfg.tariff
    out = [("tariff.contract", f"{t.contract!r} needs tariff.{key}")
           for key in _NEEDS.get(t.contract, ()) if getattr(t, key) is None]
    out += low_hours(t.normal_hours, t.low_hours)[1]
    if t.contract != "dynamic" and cfg.prices.source != "none":
        out.append(("prices.source",
                    f"a {t.contract!r} contract has no market prices: set prices.source = "
                    "\"none\", or tariff.contract = \"dynamic\""))
    return out


def lease_checks(cfg: Config) -> list[tuple[str, str]]:
    """A lease rule's rate, and the prices a rule by the contract needs."""
    lease = cfg.lease
    if lease is None:
        return []
    out = []
    if lease.reimburse == "fixed" and lease.rate_eur_kwh is None:
        out.append(("lease.reimburse", "'fixed' needs lease.rate_eur_kwh"))
    if lease.given_back == "fixed" and lease.given_back_eur_kwh is None:
        out.append(("lease.given_back", "'fixed' needs lease.given_back_eur_kwh"))
    no_prices = cfg.tariff.contract == "dynamic" and cfg.prices.source == "none"
    for key, rule in (("reimburse", lease.reimburse), ("given_back", lease.given_back)):
        if rule in ("contract", "average") and no_prices:
            out.append((f"lease.{key}",
                        f"{rule!r} needs the contract's prices, and a 'dynamic' contract "
                        "has none with prices.source = \"none\": set a price source, a "
                        "fixed, double or variable tariff.contract, or a 'fixed' rule"))
    return out
