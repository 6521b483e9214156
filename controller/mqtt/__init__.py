"""MQTT and Home Assistant: telemetry, discovery and owner commands, outside the safety path."""

from controller._owner import MODES

from ._client import Bridge
from ._discovery import configs, entities
from ._messages import (
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
from ._words import reason_text, state_text

__all__ = [
    "MODES", "AnyCommand", "Bridge", "ChargeNow", "CommandError", "SetDeparture",
    "SetDepartureSoc", "SetMaxDischarge", "SetMode", "SetReserve", "State", "configs",
    "decode_command", "entities", "reason_text", "state_text",
]
