"""MQTT messages as msgspec Structs: the state published every cycle, and the owner's
commands as a tagged union (the topic's last level is the tag), decoded by one Decoder."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from controller._owner import Departure, Mode, Pct, Watts

MAX_PAYLOAD = 1024  # bytes; a command is a number or a word


class Msg(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Shared options: unknown fields are errors, messages never change once made."""


class State(Msg, frozen=True):
    """What v2h publishes every cycle on v2h/<site>/state (W, A, %, Wh). `state` and
    `reason` are codes (fast.MODES, fast.REASONS); `state_text` and `reason_text` say the
    same in the homeowner's words (controller/mqtt/_words.py)."""

    ts: str
    state: str
    reason: str
    state_text: str
    reason_text: str
    mode: str
    grid_w: float | None
    l1_a: float | None
    l2_a: float | None
    l3_a: float | None
    ev_w: float | None
    setpoint_w: float
    soc: float | None
    reserve_soc: float
    max_discharge_w: float
    import_wh: float | None
    export_wh: float | None
    charged_wh: float
    discharged_wh: float
    departure: str  # HH:MM in force (the owner's, else the config's), "" for none
    departure_soc: float  # % in force (the owner's, else the config's)
    plan: str = "-"  # the price plan's decision for this slot, "-" without one


class Command(Msg, tag_field="name", frozen=True):
    """A command from the owner, on v2h/<site>/set/<name>."""


# the values' types (ranges, the departure's pattern) are the owner's settings' own
# (controller/_owner.py): a command and a stored setting are judged alike


class SetMode(Command, tag="mode", frozen=True):
    value: Mode


class SetReserve(Command, tag="reserve_soc", frozen=True):
    value: Pct


class SetMaxDischarge(Command, tag="max_discharge_w", frozen=True):
    value: Watts


class SetDeparture(Command, tag="departure", frozen=True):
    value: Departure  # "" clears the owner's departure: the config's applies again


class SetDepartureSoc(Command, tag="departure_soc", frozen=True):
    value: Pct


class ChargeNow(Command, tag="charge_now", frozen=True):
    value: Literal["PRESS"] = "PRESS"


AnyCommand = SetMode | SetReserve | SetMaxDischarge | SetDeparture | SetDepartureSoc | ChargeNow
COMMAND_NAMES = ("mode", "reserve_soc", "max_discharge_w", "departure", "departure_soc",
                 "charge_now")
ENCODER = msgspec.json.Encoder()


class CommandError(ValueError):
    """A command that is not accepted; `reason` says why, for the error topic."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


def decode_command(name: str, payload: bytes) -> AnyCommand:
    """The command named by the topic, from its payload: JSON, or a bare word as Home
    Assistant sends for a select or a button. Raises CommandError with the reason."""
    if name not in COMMAND_NAMES:
        raise CommandError(name[:64], "unknown command")
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(name, f"payload too large ({len(payload)} bytes)")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(name, "payload is not UTF-8") from None
    value: Any
    try:
        value = msgspec.json.decode(text) if text.strip() else None
    except msgspec.DecodeError:
        value = text.strip()  # a bare word
    if value is None and name == "charge_now":
        value = "PRESS"
    elif value is None and name == "departure":
        value = ""  # Home Assistant's text entity sends an emptied field as no payload
    try:
        cmd: AnyCommand = msgspec.convert({"name": name, "value": value}, AnyCommand)
        return cmd
    except msgspec.ValidationError as exc:
        raise CommandError(name, str(exc).replace(" - at `$.value`", "")) from None
