"""Scenarios: a TOML description of a household and its day, plus an optional CSV series."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from controller.config import Base, ConfigError, Problem, find_line

TimeOfDay = Annotated[str, Meta(pattern=r"^([01]\d|2[0-4]):[0-5]\d(:[0-5]\d)?$")]
Share3 = Annotated[list[Annotated[float, Meta(ge=0.0, le=1.0)]], Meta(min_length=3, max_length=3)]
BUILTIN_DIR = Path(__file__).parent / "scenarios"


def seconds_of_day(hhmm: str) -> int:
    """'HH:MM' or 'HH:MM:SS' as seconds after midnight."""
    parts = [int(x) for x in hhmm.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


class Appliance(Base, frozen=True):
    """An appliance run, repeated each day at `at`: power (W) on phase 1..3 (0 = spread over
    all three), for duration_s; cycling on_s of every cycle_s when cycle_s > 0."""

    name: str
    at: list[TimeOfDay]
    duration_s: Annotated[int, Meta(ge=1, le=86_400)]
    power_w: Annotated[float, Meta(ge=0.0, le=20_000.0)]
    phase: Literal[0, 1, 2, 3] = 1
    cycle_s: Annotated[int, Meta(ge=0)] = 0
    on_s: Annotated[int, Meta(ge=0)] = 0
    jitter_s: Annotated[int, Meta(ge=0, le=7_200)] = 0


class Load(Base, frozen=True):
    """The house without the charger: hourly base (W), slow noise, phase split, appliances."""

    hourly_w: Annotated[list[Annotated[float, Meta(ge=0.0)]], Meta(min_length=24, max_length=24)]
    noise_w: Annotated[float, Meta(ge=0.0)] = 25.0
    noise_tau_s: Annotated[float, Meta(gt=0.0)] = 60.0
    phase_share: Share3 = msgspec.field(default_factory=lambda: [0.4, 0.3, 0.3])
    appliances: list[Appliance] = []


class Pv(Base, frozen=True):
    """PV: clear-sky arc of peak_w (W) between sunrise and sunset, with clouds."""

    peak_w: Annotated[float, Meta(ge=0.0, le=100_000.0)] = 6000.0
    sunrise: TimeOfDay = "06:00"
    sunset: TimeOfDay = "21:00"
    cloudiness: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    cloud_s: Annotated[float, Meta(ge=0.0)] = 120.0
    cloud_depth: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.3
    edge_s: Annotated[float, Meta(ge=0.0)] = 5.0
    phase_share: Share3 = msgspec.field(default_factory=lambda: [1 / 3, 1 / 3, 1 / 3])


class Car(Base, frozen=True):
    """The car on the day: SoC at t = 0 (%), windows away from home, energy per trip (kWh)."""

    soc_pct: Annotated[float, Meta(ge=0.0, le=100.0)] = 50.0
    away: list[Annotated[list[TimeOfDay], Meta(min_length=2, max_length=2)]] = []
    trip_kwh: Annotated[float, Meta(ge=0.0, le=200.0)] = 8.0


class Plant(Base, frozen=True):
    """Charger and meter physics (firmware_notes/design.md "The plant"); the defaults are
    fixed so figures compare."""

    n_sub: Annotated[int, Meta(ge=2, le=20)] = 4
    meter_lat_n: Annotated[int, Meta(ge=0, le=10)] = 1
    meter_noise_w: Annotated[float, Meta(ge=0.0)] = 4.0
    dead_s: Annotated[float, Meta(ge=0.0, lt=2.0)] = 0.5  # with its jitter, under 2 s
    dead_jitter_s: Annotated[float, Meta(ge=0.0, lt=1.0)] = 0.0  # per write, uniform
    tau_s: Annotated[float, Meta(gt=0.0, le=60.0)] = 0.7
    ramp_w_s: Annotated[float, Meta(gt=0.0)] = 5000.0
    min_w: Annotated[float, Meta(ge=0.0)] = 150.0
    max_chg_w: Annotated[float, Meta(ge=0.0)] = 7400.0
    max_dis_w: Annotated[float, Meta(ge=0.0)] = 7400.0
    meas_gain: Annotated[float, Meta(gt=0.5, lt=1.5)] = 1.02
    anti_islanding: bool = False
    watchdog_s: Annotated[float, Meta(gt=0.0)] = 10.0
    car_min_soc: Annotated[float, Meta(ge=0.0, le=100.0)] = 5.0
    soc_zero_idle: bool = False  # the charger reports SoC 0 while no power flows
    meter_avg: bool = False  # the meter reports the mean of the second before its sample


# grid_loss_dark: the grid fails and the meter, powered by it, goes silent with it;
# charger_stuck: the charger hears every write and keeps the power it has
EventKind = Literal["grid_loss", "grid_loss_dark", "meter_silent", "meter_frozen",
                    "meter_exception", "meter_garbage", "charger_lost", "charger_error",
                    "charger_stuck", "car_unplug"]


class Event(Base, frozen=True):
    """A fault or happening from `at` (time of day) or `at_s` (s from start), for duration_s."""

    kind: EventKind
    duration_s: Annotated[int, Meta(ge=1)]
    at: TimeOfDay | None = None
    at_s: Annotated[int, Meta(ge=0)] | None = None


class Check(Base, frozen=True):
    """A pass/fail figure the HIL bench measures (see hil/_checks.py for the names)."""

    name: str
    limit: float


class Hil(Base, frozen=True):
    """How the HIL bench runs this scenario: the meter model, and a controller crash."""

    meter: Literal["sdm630", "em24"] = "sdm630"
    kill_at_s: Annotated[float, Meta(ge=0.0)] | None = None
    restart_after_s: Annotated[float, Meta(ge=0.0)] = 10.0


class Prices(Base, frozen=True):
    """Day-ahead prices for the scenario: a recorded series shipped with v2h (see
    controller/prices/data) or a CSV beside the scenario, and the UTC instant of second 0."""

    start_utc: Annotated[str, Meta(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z$")]
    recorded: str | None = None
    file: str | None = None


class Scenario(Base, frozen=True):
    """One simulated stretch of a household's life, at 1-s resolution."""

    name: str
    description: str = ""
    duration_s: Annotated[int, Meta(ge=1, le=366 * 86_400)] = 86_400
    start: TimeOfDay = "00:00"
    seed: int = 1
    series: str | None = None
    set: list[str] = []
    car: Car = msgspec.field(default_factory=Car)
    load: Load = msgspec.field(default_factory=lambda: Load(hourly_w=[300.0] * 24))
    pv: Pv = msgspec.field(default_factory=Pv)
    plant: Plant = msgspec.field(default_factory=Plant)
    events: list[Event] = []
    hil: Hil = msgspec.field(default_factory=Hil)
    checks: list[Check] = []
    prices: Prices | None = None
    base_dir: str = ""  # where `series` is looked up; set by load(), not by files


def builtin_names() -> list[str]:
    """The scenarios that ship with v2h."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def load(name_or_file: str) -> Scenario:
    """A built-in scenario by name, or a scenario TOML file; raises ConfigError."""
    path = Path(name_or_file)
    if not path.suffix and (BUILTIN_DIR / f"{name_or_file}.toml").exists():
        path = BUILTIN_DIR / f"{name_or_file}.toml"
    if not path.exists():
        raise ConfigError([Problem(str(path), 0, "scenario",
                                   f"no such file or built-in ({', '.join(builtin_names())})")])
    sc = parse(path.read_text(encoding="utf-8"), str(path))
    return msgspec.structs.replace(sc, base_dir=str(path.parent))


def parse(text: str, where: str) -> Scenario:
    """A scenario from its TOML text; `where` names it in errors (ConfigError)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(where, 0, "(toml)", str(exc))]) from None
    raw.pop("base_dir", None)
    try:
        sc = msgspec.convert(raw, Scenario)
    except msgspec.ValidationError as exc:
        msg, _, at = str(exc).partition(" - at `$")
        key = at.rstrip("`").lstrip(".")
        raise ConfigError([Problem(where, find_line(text, key), key or "scenario",
                                   msg)]) from None
    if sc.plant.meter_lat_n >= sc.plant.n_sub:
        # the meter samples meter_lat_n sub-steps before each second's end: at n_sub or
        # more that falls outside the second (review R, session 8: the plant's meter never
        # sampled, an averaging one divided by zero)
        raise ConfigError([Problem(
            where, find_line(text, "plant.meter_lat_n"), "plant.meter_lat_n",
            f"Expected a latency below plant.n_sub ({sc.plant.n_sub} sub-steps a second), "
            f"got {sc.plant.meter_lat_n}")])
    return sc
