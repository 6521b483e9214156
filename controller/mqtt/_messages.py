"""MQTT messages as msgspec Structs: the state published every cycle, and the owner's
commands as a tagged union (the topic's last level is the tag), decoded by one Decoder."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

MODES = ("auto", "self-consumption", "charge-now", "hold", "discharge-allowed")
MAX_PAYLOAD = 1024  # bytes; a command is a number or a word


class Msg(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Shared options: unknown fields are errors, messages never change once made."""


class State(Msg):
    """What v2h publishes every cycle on v2h/<site>/state (W, A, %, Wh)."""

    ts: str
    state: str
    reason: str
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
    departure: str | None
    departure_soc: float | None
    plan: str = "-"  # the price plan's decision for this slot, "-" without one


class Command(Msg, tag_field="name"):
    """A command from the owner, on v2h/<site>/set/<name>."""


class SetMode(Command, tag="mode"):
    value: Literal["auto", "self-consumption", "charge-now", "hold", "discharge-allowed"]


class SetReserve(Command, tag="reserve_soc"):
    value: Annotated[float, Meta(ge=0.0, le=100.0)]


class SetMaxDischarge(Command, tag="max_discharge_w"):
    value: Annotated[float, Meta(ge=0.0, le=100_000.0)]


class SetDeparture(Command, tag="departure"):
    value: Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class SetDepartureSoc(Command, tag="departure_soc"):
    value: Annotated[float, Meta(ge=0.0, le=100.0)]


class ChargeNow(Command, tag="charge_now"):
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
    try:
        return msgspec.convert({"name": name, "value": value}, AnyCommand)
    except msgspec.ValidationError as exc:
        raise CommandError(name, str(exc).replace(" - at `$.value`", "")) from None
