"""An OCPP 2.1 charging station with V2X: one EVSE, one connector, a bidirectional DC unit,
on the `ocpp` library's charge-point side. It dials v2h (the CSMS) at
ws://127.0.0.1:PORT/HIL-V2X-1 and reconnects after every drop; the plant is behind it.

It takes a charging profile only when it keeps the V2X rules (`check_profile`), applies
the TxProfile over the Idle TxDefaultProfile until it expires, and then falls back (the
dead-man v2h's profiles carry). Faults: charger_lost (the websocket dropped, no reconnect
while it lasts), charger_reboot (dropped; back with no profiles, a BootNotification and a
new transaction), charger_rejects (every profile rejected), charger_user_mode (the car ends
the transaction; a new one when the fault ends), charger_reply_lost (every other reply to
SetChargingProfile is never sent, the profile applied), charger_stuck, charger_error."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import websockets
from ocpp.routing import after, on
from ocpp.v21 import ChargePoint, call, call_result

from ._charger import LOG_ACTION, LOG_POWER, ChargerEmulator

if TYPE_CHECKING:
    from ._bench import Bench

log = logging.getLogger("hil.ocpp21")
logging.getLogger("ocpp").setLevel(logging.WARNING)
STATION_ID = "HIL-V2X-1"
EVSE = 1
RECONNECT_S = 0.3   # the station's back-off after a failed or dropped connection
POLL_S = 0.02       # how often the session looks for something to send
MODES = ("Idle", "ChargingOnly", "CentralSetpoint")  # the ones this station runs
MODE = "DC_BPT"  # the car's requested energy transfer: bidirectional DC


def _time(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def check_profile(p: dict[str, Any], tx_id: str | None, v2x: bool = True) -> str | None:
    """Why the station rejects the profile `p` (snake_case keys, as the library hands it),
    as a reasonCode; None when it keeps the V2X rules (OCPP 2.1 part 2, blocks K and Q: the
    operation modes of ChargingSchedulePeriodType):
    CentralSetpoint needs a setpoint; Idle takes no limit, dischargeLimit or setpoint; a
    setpoint lies within [dischargeLimit, limit]; ChargingOnly discharges nothing; a
    TxProfile names the transaction running; rates in W; and (`v2x` False) no discharging
    setpoint before the CSMS has allowed a bidirectional transfer mode in the transaction."""
    if p.get("charging_profile_purpose") == "TxProfile" and (
            tx_id is None or p.get("transaction_id") != tx_id):
        return "TxNotFound"
    for sched in p.get("charging_schedule", []):
        if sched.get("charging_rate_unit") != "W":
            return "UnsupportedRateUnit"
        for per in sched.get("charging_schedule_period", []):
            mode = per.get("operation_mode", "ChargingOnly")
            sp, lim, dis = per.get("setpoint"), per.get("limit"), per.get("discharge_limit")
            if mode not in MODES:
                return "UnsupportedMode"
            if mode == "CentralSetpoint" and sp is None:
                return "SetpointMissing"
            if mode == "Idle" and (sp is not None or lim is not None or dis is not None):
                return "IdleWithLimits"
            if mode == "ChargingOnly" and ((sp is not None and sp < 0) or (dis or 0) < 0):
                return "DischargeNotAllowed"
            if sp is not None and sp < 0 and not v2x:
                return "V2XNotAuthorized"
            if sp is not None and not ((-math.inf if dis is None else dis) <= sp
                                       <= (math.inf if lim is None else lim)):
                return "SetpointOutOfRange"
    return None


@dataclass
class Profile:
    """A profile in force: its purpose, its one period's mode and powers (W, + charge), and
    when it expires (bench s; inf: never)."""

    purpose: str
    mode: str
    setpoint: float
    limit: float
    expires: float
    tx_id: str | None

    def power_w(self) -> float:
        """What it asks for: the setpoint within its limits; ChargingOnly its limit."""
        if self.mode == "Idle":
            return 0.0
        if self.mode == "CentralSetpoint":
            return self.setpoint
        return self.limit if math.isfinite(self.limit) else 0.0


def parse_profile(p: dict[str, Any], now_bench: float, now_wall: datetime) -> Profile:
    """The profile's first period (v2h sends one) and its expiry in bench time: the
    earlier of validTo and the schedule's start + duration."""
    sched = p["charging_schedule"][0]
    per = sched["charging_schedule_period"][0]
    ends = [_time(p["valid_to"])] if "valid_to" in p else []
    if "duration" in sched:
        start = _time(sched["start_schedule"]) if "start_schedule" in sched else now_wall
        ends.append(start.fromtimestamp(start.timestamp() + sched["duration"], UTC))
    left = min((e - now_wall).total_seconds() for e in ends) if ends else math.inf
    return Profile(p["charging_profile_purpose"], per.get("operation_mode", "ChargingOnly"),
                   float(per.get("setpoint", 0.0)), float(per.get("limit", math.inf)),
                   now_bench + left, p.get("transaction_id"))


class _Station(ChargePoint):
    """The station's side of one connection: v2h's requests to the emulator."""

    def __init__(self, ws: Any, emu: Ocpp21) -> None:
        super().__init__(STATION_ID, ws, response_timeout=2)
        self.emu = emu
        self.drop_next = False

    async def _send(self, message: str) -> None:
        if self.drop_next and message.startswith("[3"):
            self.drop_next = False  # charger_reply_lost: applied, the reply never sent
            return
        await super()._send(message)

    @on("SetChargingProfile")
    def on_set(self, evse_id: int, charging_profile: dict[str, Any],
               **_: Any) -> call_result.SetChargingProfile:
        why = self.emu.take(evse_id, charging_profile)
        if why is None and self.emu.bench.faults.charger_reply_lost:
            self.emu.replies += 1
            self.drop_next = bool(self.emu.replies % 2)
        return call_result.SetChargingProfile(
            status="Accepted" if why is None else "Rejected",
            status_info=None if why is None else {"reasonCode": why})

    @on("NotifyAllowedEnergyTransfer")
    def on_allowed(self, transaction_id: str, allowed_energy_transfer: list[str],
                   **_: Any) -> call_result.NotifyAllowedEnergyTransfer:
        ok = transaction_id == self.emu.tx_id
        if ok:
            self.emu.allowed = set(allowed_energy_transfer)
        return call_result.NotifyAllowedEnergyTransfer(
            status="Accepted" if ok else "Rejected",
            status_info=None if ok else {"reasonCode": "TxNotFound"})

    @on("ClearChargingProfile")
    def on_clear(self, charging_profile_id: int | None = None,
                 **_: Any) -> call_result.ClearChargingProfile:
        found = self.emu.clear(charging_profile_id)
        return call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, **_: Any) -> call_result.TriggerMessage:
        ok = requested_message in ("MeterValues", "StatusNotification", "Heartbeat",
                                   "TransactionEvent")
        return call_result.TriggerMessage(status="Accepted" if ok else "NotImplemented")

    @after("TriggerMessage")
    async def after_trigger(self, requested_message: str, **_: Any) -> None:
        with contextlib.suppress(Exception):  # the connection may be gone meanwhile
            if requested_message == "MeterValues":
                await self.call(call.MeterValues(evse_id=EVSE,
                                                 meter_value=[self.emu.meter_value()]))
            elif requested_message == "StatusNotification":
                await self.call(self.emu.status_call())
            elif requested_message == "Heartbeat":
                await self.call(call.Heartbeat())
            elif requested_message == "TransactionEvent" and self.emu.tx_id is not None:
                await self.call(self.emu.tx_event("Updated", "Trigger"))


class Ocpp21(ChargerEmulator):
    """The station: profiles in force, its transaction, and its connection to v2h."""

    name = "ocpp21"
    dials_out = True  # it dials v2h, its CSMS (hil/_bench.py)

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.factory, self.holding, self.writable, self.power_register = {}, (), frozenset(), 0
        self.profiles: dict[str, Profile] = {}  # by purpose (the base reads control_row())
        super().__init__(bench, unit_id)
        self.started = True
        self._seq = 0  # TransactionEvent seqNo
        self.tx_id: str | None = None
        self.allowed: set[str] = set()  # the modes the CSMS allowed in this transaction
        self._tx_n = itertools.count(1)
        self.outbox: list[Any] = []  # requests to v2h, sent in order while connected
        self.boot_reason: str | None = "PowerUp"  # None: booted and accepted already
        self.rejected: list[tuple[float, str, dict[str, Any]]] = []  # v2h's that broke a rule
        self.forced_rejections = 0  # rejected by the charger_rejects fault
        self.accepted = 0
        self.replies = 0
        self.connects = 0
        self.heartbeat_s = 60.0
        self.port = 0
        self.url_user = ""  # "station:password@" for a test of profile 2
        self.ssl: Any = None
        self.ws: Any = None
        self.cp: _Station | None = None  # the session's charge point (tests reach into it)
        self._task: asyncio.Task[None] | None = None
        self._status = ""

    # -- the plant's side ------------------------------------------------------------------
    def wall(self) -> datetime:
        return datetime.now(UTC)

    def active(self) -> Profile | None:
        """The profile in force: v2h's TxProfile while valid, else the TxDefaultProfile."""
        now = self.bench.now()
        for purpose in ("TxProfile", "TxDefaultProfile"):
            p = self.profiles.get(purpose)
            if p is not None and now < p.expires and (purpose != "TxProfile"
                                                      or p.tx_id == self.tx_id):
                return p
        return None

    def command_w(self) -> float:
        """The power in force (W, + charging): none without a transaction or a profile (the
        bench's station waits for its CSMS, as configured for v2h)."""
        p = self.active()
        if self.tx_id is None or p is None:
            return 0.0
        return max(-self.bench.plant.max_dis_w, min(self.bench.plant.max_chg_w, p.power_w()))

    def tick(self) -> None:
        """Each plant sub-step: the transaction follows the car, profiles expire."""
        want = self.car() and not self.bench.faults.charger_user_mode
        if want and self.tx_id is None:
            self.tx_id = f"tx-{next(self._tx_n)}"
            self.allowed = set()
            self.outbox += [self.tx_event("Started", "CablePluggedIn"), self._needs()]
        elif not want and self.tx_id is not None:
            why = "StoppedByEV" if self.car() else "EVDisconnected"
            self.outbox.append(self.tx_event("Ended", "EVDeparted", why))
            self.tx_id = None
            self.profiles.pop("TxProfile", None)
        status = self._status_now()
        if status != self._status:
            self._status = status
            self.outbox.append(self.status_call())
        self.apply()
        self._note()

    def control_row(self) -> tuple[int, int, int]:
        """1 while v2h's Idle TxDefaultProfile is in force (its fallback), else 0."""
        d = self.profiles.get("TxDefaultProfile")
        return (1 if d is not None and d.mode == "Idle" else 0, 0, 0)

    def control_want(self, watchdog_s: int) -> tuple[int, int, int]:
        return (1, 0, 0)

    def on_fault(self, kind: str, on: bool) -> None:
        if kind in ("charger_lost", "charger_reboot") and on:
            self.drop()
        if kind == "charger_reboot" and on:
            self.profiles.clear()
            self.tx_id = None  # the session is gone; a new one after the boot
            self.outbox.clear()
            self.boot_reason = "PowerUp"
            self._status = ""
        if kind in ("charger_stuck", "charger_error"):
            super().on_fault(kind, on)
        self.apply()
        self._note()

    # -- the profiles ------------------------------------------------------------------------
    def take(self, evse_id: int, p: dict[str, Any]) -> str | None:
        """A SetChargingProfile: None when applied, else the reason it is rejected."""
        now = self.bench.now()
        why = "UnknownEVSE" if evse_id != EVSE else check_profile(
            p, self.tx_id, MODE in self.allowed)
        if why is None and self.bench.faults.charger_rejects:
            self.forced_rejections += 1
            return "Busy"
        if why is None:
            prof = parse_profile(p, now, self.wall())
            why = "Expired" if prof.expires <= now else None
        if why is not None:
            self.rejected.append((now, why, p))
            log.warning("rejected a profile: %s %s", why, p)
            return why
        self.accepted += 1
        self.profiles[prof.purpose] = prof
        if prof.purpose == "TxProfile":
            w = round(prof.power_w())
            self.command_log.append((now, LOG_POWER, w & 0xFFFF))
            if prof.mode == "Idle":
                self.command_log.append((now, LOG_ACTION, 2))
            self.power_clock.append(self.bench.clock())
            del self.power_clock[:-10_000]
        self.apply()
        self._note()
        return None

    def clear(self, profile_id: int | None) -> bool:
        """ClearChargingProfile by id (1: v2h's TxProfile, 2: its default; None: all)."""
        purposes = {1: ("TxProfile",), 2: ("TxDefaultProfile",)}.get(
            profile_id or 0, ("TxProfile", "TxDefaultProfile") if profile_id is None else ())
        found = [self.profiles.pop(p) for p in purposes if p in self.profiles]
        self.apply()
        self._note()
        return bool(found)

    # -- what it tells v2h -------------------------------------------------------------------
    def _status_now(self) -> str:
        if self.bench.faults.charger_error:
            return "Faulted"
        return "Occupied" if self.car() else "Available"

    def status_call(self) -> Any:
        return call.StatusNotification(timestamp=_iso(self.wall()),
                                       connector_status=self._status_now(), evse_id=EVSE,
                                       connector_id=1)

    def meter_value(self) -> dict[str, Any]:
        """One MeterValueType: power both ways (W), SoC (%), the energy registers (Wh)."""
        p = self.measured_w() if self.car() else 0.0
        chg, dis = self.energy_wh()
        vals = [("Power.Active.Import", max(p, 0.0), "W"),
                ("Power.Active.Export", max(-p, 0.0), "W"),
                ("Energy.Active.Import.Register", chg, "Wh"),
                ("Energy.Active.Export.Register", dis, "Wh")]
        if self.car():
            vals.append(("SoC", self.soc_pct(), "Percent"))
        return {"timestamp": _iso(self.wall()), "sampledValue": [
            {"value": round(v, 1), "measurand": m, "unitOfMeasure": {"unit": u}}
            for m, v, u in vals]}

    def tx_event(self, kind: str, trigger: str, reason: str | None = None) -> Any:
        info: dict[str, Any] = {"transactionId": self.tx_id,
                                "chargingState": "EVConnected" if kind != "Ended" else "Idle"}
        if reason:
            info["stoppedReason"] = reason
        self._seq += 1
        return call.TransactionEvent(event_type=kind, timestamp=_iso(self.wall()),
                                     trigger_reason=trigger, seq_no=self._seq,
                                     transaction_info=info, evse={"id": EVSE, "connectorId": 1},
                                     meter_value=[self.meter_value()])

    def _needs(self) -> Any:
        """The car's V2X limits (the plant's), requested as DC_BPT under dynamic control."""
        pl = self.bench.plant
        return call.NotifyEVChargingNeeds(evse_id=EVSE, charging_needs={
            "requestedEnergyTransfer": MODE, "controlMode": "DynamicControl",
            "v2xChargingParameters": {"maxChargePower": pl.max_chg_w,
                                      "maxDischargePower": pl.max_dis_w}})

    # -- the connection ----------------------------------------------------------------------
    def offline(self) -> bool:
        f = self.bench.faults
        return f.charger_lost or f.charger_reboot

    def drop(self) -> None:
        """The websocket dropped (no closing handshake): the TCP connection aborted."""
        ws, self.ws = self.ws, None
        if ws is not None:
            ws.transport.abort()

    async def start(self, port: int) -> None:
        """Dial v2h on 127.0.0.1:port from now on (a task, until stop())."""
        self.port = port
        self._task = asyncio.get_running_loop().create_task(self._dial(),
                                                             name="hil.charger.ocpp21")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.drop()

    async def _dial(self) -> None:
        scheme = "wss" if self.ssl is not None else "ws"
        url = f"{scheme}://{self.url_user}127.0.0.1:{self.port}/{STATION_ID}"
        while True:
            if self.offline():
                await asyncio.sleep(POLL_S)
                continue
            try:
                async with asyncio.timeout(3.0):
                    ws = await websockets.connect(url, subprotocols=[
                        websockets.Subprotocol("ocpp2.1")], ssl=self.ssl, ping_interval=None,
                        open_timeout=2.0)
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                await asyncio.sleep(RECONNECT_S)
                continue
            self.connects += 1
            self.ws = ws
            try:
                await self._session(ws)
            except (websockets.ConnectionClosed, TimeoutError, OSError) as exc:
                log.info("station: connection ended (%s)", exc)
            finally:
                if self.ws is ws:
                    self.drop()
                else:
                    ws.transport.abort()  # dropped already: nothing to hand-shake
            await asyncio.sleep(RECONNECT_S)

    async def _session(self, ws: Any) -> None:
        """Boot (when it has booted), its state, then what happens, until the drop."""
        cp = self.cp = _Station(ws, self)
        reader = asyncio.get_running_loop().create_task(cp.start(), name="hil.charger.ocpp.rx")
        try:
            if self.boot_reason is not None:
                res = await cp.call(call.BootNotification(
                    charging_station={"model": "V2X-EMU", "vendorName": "v2h-hil"},
                    reason=self.boot_reason))
                if res is None or res.status != "Accepted":
                    raise TimeoutError("boot not accepted")
                self.boot_reason = None
                self.heartbeat_s = float(res.interval)
            # what v2h must know after any (re)connect: the connector, the transaction
            sent = [self.status_call()]
            if self.tx_id is not None:
                sent += [self.tx_event("Updated", "Trigger"), self._needs()]
            self.outbox[:0] = sent
            loop = asyncio.get_running_loop()
            beat = loop.time()
            while not reader.done():
                if loop.time() - beat >= self.heartbeat_s:
                    beat = loop.time()
                    self.outbox.append(call.Heartbeat())
                while self.outbox and self.ws is ws and not reader.done():
                    # a reply that never comes (the socket dropped meanwhile) must not
                    # hold the session: the call ends with the reader
                    sending = loop.create_task(cp.call(self.outbox[0]))
                    await asyncio.wait({sending, reader}, return_when=asyncio.FIRST_COMPLETED)
                    if not sending.done():
                        sending.cancel()
                        break
                    sending.result()
                    self.outbox.pop(0)
                await asyncio.wait({reader}, timeout=POLL_S)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await reader


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
