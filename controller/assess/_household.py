"""One household to assess: a folder with `household.toml` (its data, its car's days, what
the options would cost) and optionally `v2h.toml` (an ordinary v2h config: the site, the
charger, the car's battery, the limits, the tariff; the defaults when absent).

    name = "Example"
    seed = 1
    [data]
    file = "grid.csv.gz"        # power, P1 counters or interval energies (_read.py)
    pv_file = "pv.csv"          # optional: PV production, when the grid file is net of it
    ignore_columns = []
    days = 365                  # the first days of the data (at most the data's own)
    [car]
    chemistry = "NMC"           # NMC or LFP: the ageing model (_ageing.py)
    soc_pct = 60                # at the start
    trip_kwh = 8                # taken from the battery on each trip
    away = ["mon-fri 07:30-17:30"]
    # or measured days: sessions = "sessions.csv.gz", sessions_user = "OSL_S_KT146"
    pack_eur_kwh = 120          # what a kWh of the car's battery is worth (wear cost)
    [battery]
    sizes_kwh = [5, 10, 15]
    [purchase]
    v2h_eur = 6500              # the bidirectional charger, installed
    battery_eur = [4500, 7000, 9500]  # per size, installed
    [prices]
    file = "prices.csv"         # day-ahead market, EUR/kWh (a dynamic contract only)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from controller import config
from controller.config import Base, Config, ConfigError, find_line

from ._errors import AssessError

_AWAY = re.compile(r"^(?P<days>[a-z,\-]+) (?P<a>\d\d:\d\d)-(?P<b>\d\d:\d\d)$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Data(Base, frozen=True):
    """Where the household's grid data (and PV, when separate) are."""

    file: str
    pv_file: str | None = None
    ignore_columns: list[str] = []
    days: Annotated[int, Meta(ge=1, le=366)] = 365
    # the clock of naive times in the files, when it is not the site's time zone (a logger
    # on a fixed offset without summer time: "Etc/GMT-1" is UTC+1)
    timezone: str | None = None


class CarDays(Base, frozen=True):
    """The car: its chemistry, SoC at the start (%), trip energy (kWh), when it is away
    (local time, "DAYS HH:MM-HH:MM" with DAYS like mon-fri or sat,sun), and what a kWh
    of its battery is worth (EUR, for the wear cost)."""

    chemistry: Literal["NMC", "LFP"] = "NMC"
    soc_pct: Annotated[float, Meta(ge=0.0, le=100.0)] = 60.0
    trip_kwh: Annotated[float, Meta(ge=0.0, le=200.0)] = 8.0
    away: list[str] = msgspec.field(default_factory=lambda: ["mon-fri 07:30-17:30"])
    pack_eur_kwh: Annotated[float, Meta(ge=0.0, le=2000.0)] = 120.0
    # measured days instead of `away`: a CSV of home charging sessions (plugin_local,
    # plugout_local, energy_kwh, user_id; as ../shared/data/assessment's Norwegian file):
    # the car is home while plugged in and comes back with the session's energy used
    sessions: str | None = None
    sessions_user: str | None = None


class Battery(Base, frozen=True):
    """The home batteries to compare (usable kWh) and their chemistry."""

    sizes_kwh: list[Annotated[float, Meta(gt=0.0, le=100.0)]] = msgspec.field(
        default_factory=lambda: [5.0, 10.0, 15.0])
    chemistry: Literal["NMC", "LFP"] = "LFP"
    pack_eur_kwh: Annotated[float, Meta(ge=0.0, le=2000.0)] = 300.0


class Purchase(Base, frozen=True):
    """What each option costs to buy and install (EUR)."""

    v2h_eur: Annotated[float, Meta(ge=0.0)] = 6500.0
    battery_eur: list[Annotated[float, Meta(ge=0.0)]] = msgspec.field(
        default_factory=lambda: [4500.0, 7000.0, 9500.0])


class PriceFile(Base, frozen=True):
    """Day-ahead market prices (CSV `start_utc,price_eur_per_kwh`), for a dynamic contract."""

    file: str | None = None


class Household(Base, frozen=True):
    """household.toml (see the module's docstring)."""

    data: Data
    name: str = "household"
    seed: int = 1
    car: CarDays = msgspec.field(default_factory=CarDays)
    battery: Battery = msgspec.field(default_factory=Battery)
    purchase: Purchase = msgspec.field(default_factory=Purchase)
    prices: PriceFile = msgspec.field(default_factory=PriceFile)
    folder: str = ""  # set by load()


def away_windows(h: Household, where: str = "household.toml") -> list[tuple[set[int], int, int]]:
    """The car's away windows as (weekdays 0 = Monday, from s, to s after local midnight)."""
    out = []
    for spec in h.car.away:
        m = _AWAY.match(spec.strip().lower())
        if not m:
            raise AssessError(where, 0, f"car.away: {spec!r}: expected e.g. 'mon-fri 07:30-17:30'")
        days: set[int] = set()
        for part in m["days"].split(","):
            a, _, b = part.partition("-")
            if a not in _DAYS or (b and b not in _DAYS):
                raise AssessError(where, 0, f"car.away: {spec!r}: unknown day in {part!r}")
            i, j = _DAYS.index(a), _DAYS.index(b or a)
            days.update(range(i, j + 1))
        t = [int(x[:2]) * 3600 + int(x[3:]) * 60 for x in (m["a"], m["b"])]
        if not t[0] < t[1] <= 86400:
            raise AssessError(where, 0, f"car.away: {spec!r}: leaves after it returns")
        out.append((days, t[0], t[1]))
    return out


def load(folder: str | Path) -> tuple[Household, Config]:
    """The household of a folder and its v2h config; AssessError (file, line, problem)."""
    d = Path(folder)
    path = d / "household.toml"
    if not path.exists():
        raise AssessError(str(path), 0, "no household.toml in this folder")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AssessError(str(path), 0, str(exc)) from None
    try:
        h = msgspec.convert(raw, Household)
    except msgspec.ValidationError as exc:
        msg, _, at = str(exc).partition(" - at `$")
        key = at.rstrip("`").lstrip(".")
        raise AssessError(str(path), find_line(text, key), f"{key or 'household'}: {msg}") \
            from None
    h = msgspec.structs.replace(h, folder=str(d))
    away_windows(h, str(path))
    if h.data.timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(h.data.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise AssessError(str(path), find_line(text, "data.timezone"),
                              f"data.timezone: unknown time zone {h.data.timezone!r}") from None
    cfg_path = d / "v2h.toml"
    try:
        cfg = config.load(cfg_path) if cfg_path.exists() else config.defaults()
    except ConfigError as exc:
        p = exc.problems[0]
        raise AssessError(p.file, p.line, f"{p.path}: {p.message}") from None
    return h, cfg
