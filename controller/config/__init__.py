"""The v2h config: one TOML file decoded into msgspec Structs, errors with file:line: key."""

from ._base import Base
from ._core import core_limits, core_plan
from ._load import ConfigError, Problem, defaults, find_line, load, loads
from ._schema import (
    Car,
    Charger,
    Config,
    Control,
    Limits,
    Meter,
    Mqtt,
    Plan,
    PriceConfig,
    Site,
    Tariff,
)

__all__ = [
    "Base", "Car", "Charger", "Config", "ConfigError", "Control", "Limits", "Meter", "Mqtt",
    "Plan", "Problem", "Site", "core_limits", "core_plan", "defaults", "find_line", "load", "loads",
    "PriceConfig", "Tariff",
]
