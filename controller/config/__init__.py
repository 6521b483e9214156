"""The v2h config: one TOML file decoded into msgspec Structs, errors with file:line: key."""

from ._base import Base
from ._contract import DAYS, WeekHour, low_hours, week_hours
from ._core import core_limits, core_plan
from ._load import ConfigError, Problem, defaults, find_line, load, loads
from ._schema import (
    Car,
    Charger,
    Config,
    Control,
    Lease,
    Limits,
    Meter,
    Mqtt,
    Plan,
    PriceConfig,
    Site,
    Tariff,
)

__all__ = [
    "DAYS", "Base", "Car", "Charger", "Config", "ConfigError", "Control", "Lease", "Limits",
    "Meter", "Mqtt", "Plan", "Problem", "Site", "WeekHour", "core_limits", "core_plan",
    "defaults", "find_line", "load", "loads", "low_hours", "PriceConfig", "Tariff", "week_hours",
]
