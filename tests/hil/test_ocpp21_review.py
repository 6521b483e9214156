"""Review of the ocpp21 driver against a scripted station: a raw OCPP 2.1 websocket client
on 127.0.0.1 (no library on the station's side), so that each test says exactly what the
station sends and when — the attacks the bench's well-behaved emulator never makes."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import websockets

from controller import config
from controller.devices import Ocpp21
from hil._bench import free_port

pytestmark = pytest.mark.hil


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def meter(*vals: tuple[str, float], ts: datetime | None = None) -> dict[str, Any]:
    return {"timestamp": iso(ts or datetime.now(UTC)),
            "sampledValue": [{"value": v, "measurand": m} for m, v in vals]}


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class RawStation:
    """One station's websocket to v2h: it sends what a test tells it; v2h's calls are
    answered by `answer` (action, payload) -> (reply payload, [calls to send after])."""

    def __init__(self, port: int, ident: str = "ST-1") -> None:
        self.url = f"ws://127.0.0.1:{port}/{ident}"
        self.ws: Any = None
        self.ids = itertools.count(1)
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.got: list[tuple[str, dict[str, Any]]] = []  # v2h's calls, in order
        self.values: list[tuple[str, float]] = [("Power.Active.Import", 0.0)]
        self.ts_offset = timedelta(0)  # the station's clock minus the real one
        self.task: asyncio.Task[None] | None = None
        self.answer: Callable[[str, dict[str, Any]], Any] = self.default_answer

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ts_offset

    def default_answer(self, action: str, payload: dict[str, Any]) -> Any:
        if action == "TriggerMessage" and payload["requestedMessage"] == "MeterValues":
            return {"status": "Accepted"}, [("MeterValues", {
                "evseId": 1, "meterValue": [meter(*self.values, ts=self.now())]})]
        if action == "TriggerMessage":
            return {"status": "Rejected"}, []
        if action == "ClearChargingProfile":
            return {"status": "Accepted"}, []
        return {"status": "Accepted"}, []

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, subprotocols=[
            websockets.Subprotocol("ocpp2.1")], ping_interval=None)
        self.task = asyncio.get_running_loop().create_task(self._recv())

    async def _recv(self) -> None:
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg[0] == 2:
                    _, mid, action, payload = msg
                    self.got.append((action, payload))
                    reply, after = self.answer(action, payload)
                    if reply is not None:
                        await self.ws.send(json.dumps([3, mid, reply]))
                    for a, p in after:
                        await self.send(a, p, wait=False)
                elif msg[1] in self.pending:
                    self.pending.pop(msg[1]).set_result(msg)
        except websockets.ConnectionClosed:
            pass

    async def send(self, action: str, payload: dict[str, Any], wait: bool = True) -> Any:
        mid = f"s{next(self.ids)}"
        fut = asyncio.get_running_loop().create_future()
        self.pending[mid] = fut
        await self.ws.send(json.dumps([2, mid, action, payload]))
        if wait:
            async with asyncio.timeout(3.0):
                return await fut
        return None

    async def boot(self) -> None:
        await self.send("BootNotification", {"reason": "PowerUp", "chargingStation": {
            "model": "M", "vendorName": "V"}})

    async def tx(self, kind: str, tx_id: str, *vals: tuple[str, float],
                 seq: int = 0) -> None:
        p: dict[str, Any] = {"eventType": kind, "timestamp": iso(self.now()),
                             "triggerReason": "CablePluggedIn", "seqNo": seq,
                             "transactionInfo": {"transactionId": tx_id},
                             "evse": {"id": 1, "connectorId": 1}}
        if vals:
            p["meterValue"] = [meter(*vals, ts=self.now())]
        await self.send("TransactionEvent", p)

    async def needs(self, mode: str = "DC_BPT", chg: float = 7000.0,
                    dis: float = 5000.0) -> None:
        await self.send("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": {
            "requestedEnergyTransfer": mode, "v2xChargingParameters": {
                "maxChargePower": chg, "maxDischargePower": dis}}})

    async def status(self, s: str) -> None:
        await self.send("StatusNotification", {"timestamp": iso(self.now()),
                                               "connectorStatus": s, "evseId": 1,
                                               "connectorId": 1})

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await self.task


@pytest_asyncio.fixture
async def rig():
    """A driver on a free port (fake monotonic clock) and scripted stations dialing it."""
    made: list[Any] = []

    async def make(*extra: str) -> tuple[Ocpp21, RawStation, FakeClock]:
        port = free_port()
        cfg = config.defaults(("charger.driver=ocpp21", f"charger.port={port}",
                               "charger.timeout_s=1.0", *extra))
        clock = FakeClock()
        d = Ocpp21(cfg.charger, clock=clock)
        await d.start()
        s = RawStation(port)
        await s.connect()
        made.extend([s, d])
        await s.boot()
        await s.status("Occupied")
        return d, s, clock

    yield make
    for x in made:
        await x.close()


# -- SoC ---------------------------------------------------------------------------------------

async def test_new_transaction_does_not_inherit_the_last_cars_soc(rig):
    """Car A (SoC 80 %) leaves; car B, whose station reports no SoC (an AC car), plugs in:
    its SoC is unknown (NaN: no discharge), never car A's 80 % — the core takes a finite
    reading as the car's, and would discharge car B below its reserve."""
    d, s, _ = await rig()
    await s.tx("Started", "tx-A", ("SoC", 80.0), ("Power.Active.Import", 0.0))
    await s.needs()
    r = await d.read()
    assert r.soc == 80.0
    await s.tx("Ended", "tx-A", seq=1)
    await s.tx("Started", "tx-B", ("Power.Active.Import", 0.0), seq=2)
    r = await d.read()
    assert r.car_present and r.ready
    assert math.isnan(r.soc), f"car B read as {r.soc} % (car A's)"


async def test_soc_no_longer_reported_goes_unknown(rig):
    """The station reported SoC 60 % once, then its MeterValues carry power only (SoC
    dropped from its measurands, the car's ISO 15118 session lost): minutes later the read
    must not still say 60 % — the core resets its own energy-moved estimate on every finite
    reading, so a stale one lets it discharge for ever at 'SoC 60 %'."""
    d, s, clock = await rig()
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Import", 0.0))
    await s.needs()
    s.values = [("Power.Active.Export", 5000.0)]
    clock.t += 600.0  # ten minutes of discharging at 5 kW: 833 Wh
    r = await d.read()
    assert r.power_w == -5000.0
    assert math.isnan(r.soc), f"SoC {r.soc} % from a MeterValues 600 s old"


# -- the dead-man in absolute time ----------------------------------------------------------

def _ends(p: dict[str, Any]) -> datetime:
    """When a TxProfile stops applying, in the clock it is written in: the earlier of its
    validTo and its schedule's start + duration."""
    sched = p["chargingSchedule"][0]
    start = datetime.fromisoformat(sched["startSchedule"])
    return min(datetime.fromisoformat(p["validTo"]),
               start + timedelta(seconds=sched["duration"]))


async def test_dead_man_is_watchdog_s_in_the_stations_clock(rig):
    """The station keeps its own (NTP) time, 30 s behind the gateway's (a Raspberry Pi
    without a real-time clock after a power cut, or the other way round): every profile
    must still stop applying watchdog_s after the station got it, in the station's clock
    — else after a SIGKILL the last discharge runs watchdog_s + 30 s. The station's clock
    is known to v2h: every MeterValues carries its timestamp."""
    d, s, _ = await rig("charger.watchdog_s=10")
    s.ts_offset = timedelta(seconds=-30)
    await s.boot()  # the station's clock that far behind from its boot on
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Import", 0.0))
    await s.needs()
    await d.read()
    await d.take_control(10)
    await d.set_power(-3000.0)
    at_station = s.now()
    p = s.got[-1][1]["chargingProfile"]
    assert p["chargingSchedule"][0]["chargingSchedulePeriod"][0]["setpoint"] == -3000.0
    runs_s = (_ends(p) - at_station).total_seconds()
    assert runs_s <= 10.5, f"the discharge runs {runs_s:.1f} s unwatched, not 10"


async def test_a_station_clock_beyond_belief_is_not_taken(rig):
    """A timestamp in year 9999 (garbage) is not the station's clock: the profiles stay in
    v2h's (no overflow, no profile valid for millennia)."""
    d, s, _ = await rig("charger.watchdog_s=10")
    s.ts_offset = datetime(9999, 1, 1, tzinfo=UTC) - datetime.now(UTC)
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Import", 0.0))
    await s.needs()
    await d.read()
    await d.take_control(10)
    await d.set_power(-3000.0)
    runs_s = (_ends(s.got[-1][1]["chargingProfile"]) - datetime.now(UTC)).total_seconds()
    assert 9.0 <= runs_s <= 10.5


# -- the stop -------------------------------------------------------------------------------

async def test_stop_after_a_restart_reaches_a_station_still_discharging(rig):
    """v2h restarted (SIGKILL, systemd) while the station ran its last TxProfile at -5 kW:
    the station did not reboot, so v2h does not know the transaction until the
    TransactionEvent its trigger asks for arrives (a real station: tens to hundreds of ms
    after accepting the trigger). The loop's first act is take_control and a stop: the
    stop must reach the station (our TxProfile idled or cleared), not return as done with
    nothing sent while the old discharge runs on to its expiry."""
    d, s, _ = await rig()
    late: list[asyncio.Task[Any]] = []

    def answer(action: str, payload: dict[str, Any]) -> Any:
        if action == "TriggerMessage" and payload["requestedMessage"] == "TransactionEvent":
            late.append(asyncio.get_running_loop().create_task(_later(
                0.2, s.tx("Updated", "tx-A", ("Power.Active.Export", 5000.0), seq=9))))
        return s.default_answer(action, payload)

    s.answer = answer
    await d.take_control(10)
    n = len(s.got)
    await d.stop()
    sent = s.got[n:]
    await asyncio.gather(*late)
    assert any(a == "ClearChargingProfile" and p.get("chargingProfileId") == 1
               or a == "SetChargingProfile"
               and p["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"
               for a, p in sent), f"the stop sent {sent}"


async def _later(delay: float, coro: Any) -> None:
    await asyncio.sleep(delay)
    await coro


# -- garbled messages ---------------------------------------------------------------------------

async def test_garbled_frames_neither_crash_nor_poison_the_session(rig):
    """Frames that are not OCPP, a call of no known action, a MeterValues whose multiplier
    overflows a float, a timestamp that is no time: each is answered or dropped, and the
    session stays up and the next read works."""
    d, s, _ = await rig()
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Import", 1000.0))
    for raw in ("not json", "[2]", "[9, 1, 2]", '{"a": 1}',
                json.dumps([2, "g1", "NoSuchAction", {}]),
                json.dumps([3, "nobody-asked", {"status": "Accepted"}]),
                json.dumps([2, "g2", "MeterValues", {"evseId": 1, "meterValue": [{
                    "timestamp": "yesterday", "sampledValue": [{
                        "value": 1.0, "measurand": "Power.Active.Import",
                        "unitOfMeasure": {"unit": "W", "multiplier": 400}}]}]}])):
        await s.ws.send(raw)
    # frames are handled in order: the answer to a heartbeat sent after them says that
    # every one of them has been (no sleep to guess how long that takes)
    await s.send("Heartbeat", {})
    assert s.ws.state.name == "OPEN"  # the session survived them all
    s.values = [("Power.Active.Import", 2000.0), ("SoC", 61.0)]
    r = await d.read()
    assert r.power_w == 2000.0 and r.soc == 61.0


async def test_grid_loss_stop_does_not_wait_for_a_read_in_flight(rig):
    """A real station sends the MeterValues a trigger asks for some 250 ms later (it takes
    a fresh sample): the cycle's read holds the charger for that long. The grid watch's
    stop (one SetChargingProfile, a few ms) must not queue behind it — 250 ms is half of
    grid_loss_stop_s, on top of the detection's own 250 ms."""
    import time

    from controller.loop._charger import ChargerLink

    d, s, _ = await rig()
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Export", 3000.0))
    await s.needs()
    idle_at: list[float] = []
    triggered = asyncio.Event()

    def answer(action: str, payload: dict[str, Any]) -> Any:
        if action == "TriggerMessage" and payload["requestedMessage"] == "MeterValues":
            triggered.set()
            asyncio.get_running_loop().create_task(_later(0.25, s.send("MeterValues", {
                "evseId": 1, "meterValue": [meter(*s.values)]}, wait=False)))
            return {"status": "Accepted"}, []
        p = payload.get("chargingProfile", {})
        if p.get("chargingProfilePurpose") == "TxProfile" and p["chargingSchedule"][0][
                "chargingSchedulePeriod"][0]["operationMode"] == "Idle":
            idle_at.append(time.monotonic())
        return s.default_answer(action, payload)

    s.answer = answer
    s.values = [("Power.Active.Export", 3000.0), ("SoC", 60.0)]
    link = ChargerLink(d, 10, 1.0, time.monotonic, lambda *a: None)
    await d.take_control(10)
    link.controlled = True
    assert await link.command(-3000.0, -3000.0)
    reading = asyncio.get_running_loop().create_task(link.read())
    async with asyncio.timeout(3.0):  # the trigger answered, its MeterValues not yet come
        await triggered.wait()
    t0 = time.monotonic()
    assert await link.command(0.0, -3000.0)  # the grid watch: the grid is down
    r = await reading
    assert r is not None and r.power_w == -3000.0
    assert idle_at and idle_at[0] - t0 < 0.1, f"the stop reached the station after " \
        f"{idle_at[0] - t0:.3f} s"


async def test_power_no_longer_reported_goes_unknown(rig):
    """The station's TransactionEvent said 7 kW; its MeterValues carry the energy register
    only (SampledDataCtrlr.TxUpdatedMeasurands = Energy.Active.Import.Register, a common
    default). A read must not say 7 kW while the charger has since gone to 0 W: the step's
    tracking and the fuse window take the charger's power as measured now (a phase's
    room is computed from it), and 7 kW believed where 0 W runs lets 7 kW more through."""
    d, s, _ = await rig()
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Import", 7000.0))
    await s.needs()
    s.values = [("Energy.Active.Import.Register", 1234.0), ("SoC", 60.0)]
    r = await d.read()
    assert r.charged_wh == 1234.0
    assert math.isnan(r.power_w), f"power {r.power_w} W from a TransactionEvent, not now"


async def test_second_connection_of_the_same_id_is_not_taken_as_controlled(rig):
    """Mid-discharge a second connection with the station's id arrives (the station redialed
    before v2h saw the old socket drop, or something else claiming its name): the old one is
    dropped, and the reads over the new one say control is not confirmed (the loop takes it
    again, a stop first) — never the old session's control carried over."""
    d, s, _ = await rig()
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Export", 3000.0))
    await s.needs()
    await d.take_control(10)
    await d.set_power(-3000.0)
    assert (await d.read()).controlled
    s2 = RawStation(int(s.url.split(":")[2].split("/")[0]))
    await s2.connect()
    try:
        async with asyncio.timeout(3.0):
            await s.task  # the first is dropped
        await s2.status("Occupied")
        r = await d.read()
        assert not r.controlled and r.ready  # the transaction is the station's, still known
        await d.take_control(10)
        assert (await d.read()).controlled
    finally:
        await s2.close()


async def test_discharge_allowance_is_asked_again_after_a_reboot(rig):
    """The station reboots mid-discharge and comes back reporting the same (stale)
    transaction: the allowance it gave before the boot is gone with it, so v2h asks again
    (NotifyAllowedEnergyTransfer) before the next discharging command, and control is not
    confirmed until taken again."""
    d, s, _ = await rig()
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Export", 3000.0))
    await s.needs()
    await d.take_control(10)
    await d.set_power(-3000.0)
    assert sum(a == "NotifyAllowedEnergyTransfer" for a, _ in s.got) == 1
    await s.boot()
    await s.tx("Updated", "tx-A", ("SoC", 59.0), ("Power.Active.Export", 3000.0), seq=5)
    assert not (await d.read()).controlled
    await d.take_control(10)
    await d.set_power(-3000.0)
    assert sum(a == "NotifyAllowedEnergyTransfer" for a, _ in s.got) == 2


async def test_an_old_sample_does_not_expire_the_profiles(rig):
    """Clocks agree; the station answers each trigger with its last clock-aligned sample,
    60 s old (the spec's 'most recent measurements'), while its StatusNotification and
    TransactionEvent carry the time they are sent. The profiles' times follow the latest
    timestamp, not the oldest: a setpoint still runs watchdog_s (an old sample alone would
    have every profile rejected as expired, the stop too)."""
    d, s, _ = await rig("charger.watchdog_s=10")
    await s.tx("Started", "tx-A", ("SoC", 60.0), ("Power.Active.Import", 0.0))
    await s.needs()

    def answer(action: str, payload: dict[str, Any]) -> Any:
        if action == "TriggerMessage" and payload["requestedMessage"] == "MeterValues":
            old = datetime.now(UTC) - timedelta(seconds=60)
            return {"status": "Accepted"}, [("MeterValues", {
                "evseId": 1, "meterValue": [meter(*s.values, ts=old)]})]
        return s.default_answer(action, payload)

    s.answer = answer
    await d.read()
    await d.take_control(10)
    await d.set_power(-3000.0)
    runs_s = (_ends(s.got[-1][1]["chargingProfile"]) - datetime.now(UTC)).total_seconds()
    assert 9.0 <= runs_s <= 10.5
