"""MQTT and Home Assistant: telemetry, discovery and owner commands, outside the safety path."""

from ._client import Bridge
from ._discovery import configs, entities
from ._messages import (
    MODES,
    AnyCommand,
    ChargeNow,
    CommandError,
    SetDeparture,
    SetDepartureSoc,
    SetMaxDischarge,
    SetMode,
    SetReserve,
    State,
    decode_command,
)

__all__ = [
    "MODES", "AnyCommand", "Bridge", "ChargeNow", "CommandError", "SetDeparture",
    "SetDepartureSoc", "SetMaxDischarge", "SetMode", "SetReserve", "State", "configs",
    "decode_command", "entities",
]
