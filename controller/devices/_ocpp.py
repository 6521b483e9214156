"""The CSMS side of one OCPP 2.1 station's session (controller/devices/ocpp21.py drives it):
the station's requests, answered, and what they say kept in a StationState; the message and
field choices are in firmware_notes/ocpp21.md."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ocpp.routing import on
from ocpp.v21 import ChargePoint, call_result
from websockets.asyncio.server import ServerConnection

from .base import finite_or_nan

HEARTBEAT_S = 60         # the interval v2h gives in BootNotification's reply
POWER_MAX_W = 44_000.0   # a measured power beyond this is garbage (twice the most commanded)
# the V2X energy transfer modes (NotifyEVChargingNeeds requestedEnergyTransfer) that may
# discharge; any other: the car only charges
BPT_MODES = frozenset({"AC_BPT", "AC_BPT_DER", "DC_BPT", "DC_ACDP_BPT"})
log = logging.getLogger("v2h")
logging.getLogger("ocpp").setLevel(logging.WARNING)  # the library logs every frame at INFO


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class StationState:
    """What the station last told v2h: the connector, the transaction, the meter values
    (W, %, Wh; NaN until told) and the car's V2X limits (W, NaN until told)."""

    status: str = "Unavailable"  # connectorStatus
    tx_id: str | None = None
    charging_state: str = ""
    power_w: float = math.nan
    soc: float = math.nan
    charged_wh: float = math.nan
    discharged_wh: float = math.nan
    max_charge_w: float = math.nan
    max_discharge_w: float = math.nan
    requested_mode: str = ""  # requestedEnergyTransfer of the car's last charging needs
    boots: int = 0
    soc_t: float = -math.inf  # when the SoC last came (the driver's clock, s)
    samples: int = 0  # meter value messages taken (MeterValues, TransactionEvent)
    power_n: int = 0  # the one the power last came in
    power_t: float = -math.inf  # and when (the driver's clock, s)

    def new_car(self) -> None:
        """A transaction ended or another began: the SoC belongs to no car known to be here
        (unknown until the next MeterValues tell). The V2X limits and mode are kept: the
        car that ended its transaction and began another is the same car, and the station
        holds any car to its own."""
        self.soc, self.soc_t = math.nan, -math.inf


def _scaled(sv: dict[str, Any]) -> float:
    """A sampledValue's value in W, Wh or % (unitOfMeasure: k-prefixed units, multiplier)."""
    try:
        x = float(sv["value"])
    except (KeyError, TypeError, ValueError):
        return math.nan
    unit = sv.get("unit_of_measure") or {}
    x *= float(10.0 ** float(unit.get("multiplier", 0)))
    return x * 1000.0 if str(unit.get("unit", "")).startswith("k") else x


def parse_meter_values(values: list[dict[str, Any]], st: StationState,
                       now: float) -> None:
    """MeterValueType entries (snake_case keys, as the library hands them) into `st`: the
    last sample of each measurand over all phases (no `phase`); power is import - export;
    the power and the SoC with the time they came (`now`, and the power with the count of
    the message), so that a read takes them only while fresh."""
    got: dict[str, float] = {}
    st.samples += 1
    for mv in values:
        for sv in mv.get("sampled_value", []):
            if sv.get("phase") is None:
                got[sv.get("measurand", "Energy.Active.Import.Register")] = _scaled(sv)
    if "Power.Active.Import" in got or "Power.Active.Export" in got:
        imp = got.get("Power.Active.Import", 0.0)
        st.power_w = finite_or_nan(imp - got.get("Power.Active.Export", 0.0), POWER_MAX_W)
        st.power_n, st.power_t = st.samples, now
    if "SoC" in got:
        soc = got["SoC"]
        st.soc = soc if 0.0 < soc <= 100.0 else math.nan
        st.soc_t = now
    if "Energy.Active.Import.Register" in got:
        st.charged_wh = got["Energy.Active.Import.Register"]
    if "Energy.Active.Export.Register" in got:
        st.discharged_wh = got["Energy.Active.Export.Register"]


def stamp(s: Any) -> datetime | None:
    """A report's timestamp (the station's clock); None unless a time with a zone."""
    try:
        t = datetime.fromisoformat(str(s))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def newest_stamp(values: list[dict[str, Any]]) -> datetime | None:
    """The newest `timestamp` of MeterValueType entries (the station's clock), None if none
    parses as a time with a zone."""
    got = [t for t in (stamp(mv.get("timestamp")) for mv in values) if t is not None]
    return max(got) if got else None


class Host(Protocol):
    """What a session reads and tells of the driver it belongs to."""

    state: StationState
    evse_id: int
    allowed_tx: str | None

    def wall(self) -> datetime: ...

    def clock(self) -> float: ...

    def fresh(self, stamp: datetime | None = None) -> None: ...

    def note_stamp(self, stamp: datetime | None) -> None: ...

    def forget_clock(self) -> None: ...


class Csms(ChargePoint):
    """One station's session, the CSMS side: its requests update the driver's state."""

    def __init__(self, ident: str, ws: ServerConnection, drv: Host) -> None:
        super().__init__(ident, ws, response_timeout=30)
        self.ws = ws
        self.drv = drv

    @on("BootNotification")
    def on_boot(self, charging_station: dict[str, Any], reason: str,
                **_: Any) -> call_result.BootNotification:
        st = self.drv.state
        st.boots += 1
        st.tx_id = None  # a boot ends every transaction; profiles are gone
        self.drv.forget_clock()  # its clock may be set from this reply's currentTime
        self.drv.allowed_tx = None
        log.info("ocpp: station %s booted (%s, %s %s)", self.id, reason,
                 charging_station.get("vendor_name"), charging_station.get("model"))
        return call_result.BootNotification(current_time=iso(self.drv.wall()),
                                            interval=HEARTBEAT_S, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=iso(self.drv.wall()))

    @on("StatusNotification")
    def on_status(self, connector_status: str, evse_id: int, timestamp: str = "",
                  **_: Any) -> call_result.StatusNotification:
        self.drv.note_stamp(stamp(timestamp))
        if evse_id == self.drv.evse_id:
            self.drv.state.status = connector_status
        return call_result.StatusNotification()

    @on("TransactionEvent")
    def on_transaction(self, event_type: str, transaction_info: dict[str, Any],
                       meter_value: list[dict[str, Any]] | None = None,
                       evse: dict[str, Any] | None = None, timestamp: str = "",
                       **_: Any) -> call_result.TransactionEvent:
        self.drv.note_stamp(stamp(timestamp))
        st = self.drv.state
        if evse is None or evse.get("id") == self.drv.evse_id:
            tx = transaction_info["transaction_id"]
            if event_type != "Ended" and st.tx_id is not None and st.tx_id != tx:
                st.new_car()  # another transaction, the last one's Ended missed (offline)
            st.charging_state = transaction_info.get("charging_state", st.charging_state)
            if meter_value:
                parse_meter_values(meter_value, st, self.drv.clock())
            if event_type == "Ended":
                if st.tx_id in (tx, None):  # not a late Ended of one before the running one
                    st.tx_id = None
                    st.new_car()
                log.info("ocpp: transaction %s ended (%s)", tx,
                         transaction_info.get("stopped_reason", "?"))
            else:
                st.tx_id = tx
        return call_result.TransactionEvent()

    @on("MeterValues")
    def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]],
                        **_: Any) -> call_result.MeterValues:
        if evse_id == self.drv.evse_id:
            parse_meter_values(meter_value, self.drv.state, self.drv.clock())
            self.drv.fresh(newest_stamp(meter_value))
        return call_result.MeterValues()

    @on("NotifyEVChargingNeeds")
    def on_needs(self, charging_needs: dict[str, Any], evse_id: int,
                 **_: Any) -> call_result.NotifyEVChargingNeeds:
        if evse_id == self.drv.evse_id:
            v2x = charging_needs.get("v2x_charging_parameters") or {}
            st = self.drv.state
            st.max_charge_w = float(v2x.get("max_charge_power", math.nan))
            st.requested_mode = charging_needs.get("requested_energy_transfer", "")
            bpt = st.requested_mode in BPT_MODES
            st.max_discharge_w = float(v2x.get("max_discharge_power", math.nan)) if bpt else 0.0
        return call_result.NotifyEVChargingNeeds(status="Accepted")

    @on("Authorize")
    def on_authorize(self, **_: Any) -> call_result.Authorize:
        """One household, one station: whoever the station lets plug in is accepted."""
        return call_result.Authorize(id_token_info={"status": "Accepted"})

    # reports v2h has no use for, acknowledged so that a station does not retry them
    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on("NotifyEvent")
    def on_event(self, **_: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on("NotifyReport")
    def on_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on("FirmwareStatusNotification")
    def on_firmware(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()
