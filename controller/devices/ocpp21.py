"""An OCPP 2.1 charging station with V2X, v2h its local CSMS (the `ocpp` library's `ocpp.v21`
over a websocket v2h listens on): one station, one EVSE.

What is used (firmware_notes/ocpp21.md, with the spec's sections and the schema files):
* station -> v2h: BootNotification, Heartbeat, StatusNotification, TransactionEvent,
  MeterValues (Power.Active.Import/Export W, SoC %, Energy.Active.Import/Export.Register
  Wh), NotifyEVChargingNeeds (v2xChargingParameters: the car's max charge and discharge W);
* v2h -> station: TriggerMessage(MeterValues) for each read; SetChargingProfile: once a
  TxDefaultProfile `Idle` (what the station falls back to), then each command a TxProfile
  whose one period is `CentralSetpoint` with a signed `setpoint` (W, - discharge) inside
  [`dischargeLimit`, `limit`], or `Idle` for a stop; NotifyAllowedEnergyTransfer (the V2X
  authorization) once a transaction; ClearChargingProfile on release.

The dead-man: every TxProfile is valid for `watchdog_s` (its schedule's `duration` and its
`validTo`), so a station that stops hearing from v2h falls back to the Idle default by
itself within that time: the counterpart of a Modbus charger's watchdog.

Security (OCPP 2.1 part 2, block A: the security profiles): 2 = TLS and HTTP basic auth with the
station's password; 3 = TLS with client certificates from `ca_file`; 0 = plain websocket,
only on a loopback address (tests, the bench)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v21 import call
from websockets.asyncio.server import Server, ServerConnection, basic_auth, serve

from controller.config import Charger as ChargerConfig

from ._ocpp import BPT_MODES, Csms, StationState, iso
from ._ocpp_caps import CAPS, LIMIT_W
from .base import ChargerReading, DeviceError

SUBPROTOCOL = "ocpp2.1"
TX_PROFILE_ID = 1        # v2h's TxProfile (replaced by each command)
DEFAULT_PROFILE_ID = 2   # v2h's TxDefaultProfile: Idle, the fallback on expiry
TX_STACK_LEVEL = 1
SAMPLE_MAX_S = 2.0       # the oldest MeterValues a read takes from a station that declines
                         # TriggerMessage (its SampledDataCtrlr.TxUpdatedInterval: 1 s)
SKEW_MAX = timedelta(days=1)  # a station's clock further off than this is not believed
SKEW_WINDOW_S = 120.0  # the station's clock: the latest of its timestamps over this long
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
log = logging.getLogger("v2h")

class Ocpp21:
    """Charger driver: v2h listens (host, port) for one station (`station_id`, any when
    unset) and drives its EVSE `evse_id` by charging profiles."""

    caps = CAPS
    # read() waits for the station's MeterValues, not for a reply: the loop lets commands
    # (the grid watch's stop) go out meanwhile; the library sends one call at a time
    reads_apart = True

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.cfg = cfg
        self.clock = clock
        self.wall = wall
        self.evse_id = cfg.evse_id or 1
        self.timeout_s = cfg.timeout_s
        self.state = StationState()
        self.server: Server | None = None
        self.station: Csms | None = None
        self.validity_s = cfg.watchdog_s
        self._controlled: tuple[Csms, int] | None = None  # (session, boots) control was taken
        self.allowed_tx: str | None = None  # the transaction v2h allowed to discharge
        self._fresh = asyncio.Event()
        self._arrived = asyncio.Event()
        self._closing = False
        self.sample_t = -math.inf  # when the last MeterValues arrived (clock s)
        # the station's clock less v2h's wall clock, from the timestamps of its reports
        # (MeterValues, TransactionEvent, StatusNotification) as they arrive: a profile's
        # times are the station's (it judges validTo by its own clock). A timestamp is never
        # later than the station's now when it arrives (a sample's time, an event's), so the
        # latest over a while is the closest estimate that errs only early: a profile ends
        # at most watchdog_s after the station got it. An old one (a queued report, an
        # aligned sample the trigger answers with) errs further early, and the latest
        # outweighs it; forgotten at a boot (the station may take v2h's time from its
        # reply) and after SKEW_WINDOW_S (a clock set back)
        self._skews: list[tuple[float, timedelta]] = []  # (clock s, station - wall)
        self.profiles_sent: list[dict[str, Any]] = []  # the last few, for tests (newest last)

    # -- the server ----------------------------------------------------------------------
    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS for security profiles 2 and 3 (3: the station's certificate from ca_file)."""
        prof = self.cfg.security_profile
        if not prof:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.cfg.cert_file), str(self.cfg.key_file))
        if prof == 3:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(str(self.cfg.ca_file))
        return ctx

    def _password_ok(self, user: str, password: str) -> bool:
        """Profile 2: the station's identity as user name, its password (constant time)."""
        sid = self.cfg.station_id
        want = self.cfg.password or ""
        return (sid is None or user == sid) and hmac.compare_digest(password.encode(),
                                                                    want.encode())

    async def start(self) -> None:
        """Listen (once); the station connects to ws[s]://host:port/<station id>."""
        if self.server is not None:
            return
        if not self.cfg.security_profile and self.cfg.host not in LOOPBACK:
            raise DeviceError("charger ocpp21", "a plain websocket only on a loopback address")
        auth = (basic_auth(realm="v2h", check_credentials=self._password_ok)
                if self.cfg.security_profile == 2 else None)
        try:
            async with asyncio.timeout(5.0):
                # no pings: each read's TriggerMessage finds a silent station sooner
                self.server = await serve(self._session, self.cfg.host, self.cfg.port,
                                          subprotocols=[websockets.Subprotocol(SUBPROTOCOL)],
                                          ssl=self.ssl_context(), process_request=auth,
                                          ping_interval=None, close_timeout=1.0)
        except OSError as exc:  # the port taken, the address not ours: tried again next read
            raise DeviceError("charger ocpp21", f"cannot listen on {self.cfg.host}:"
                              f"{self.cfg.port}: {exc}") from exc
        log.info("ocpp: listening on %s:%d (security profile %d)", self.cfg.host,
                 self.cfg.port, self.cfg.security_profile or 0)

    async def _session(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        ident = path.rstrip("/").rsplit("/", 1)[-1]
        if self.cfg.station_id is not None and ident != self.cfg.station_id:
            log.warning("ocpp: refused station %r (not %s)", ident, self.cfg.station_id)
            await ws.close(1008, "unknown station")
            return
        if ws.subprotocol != SUBPROTOCOL:
            await ws.close(1002, "ocpp2.1 only")
            return
        old, cp = self.station, Csms(ident, ws, self)
        self.station = cp  # the newest wins: a station that came back after a drop
        if old is not None:  # presumed dead: no closing handshake to wait for
            old.ws.transport.abort()
        self._arrived.set()
        log.info("ocpp: station %s connected", ident)
        try:
            await cp.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.station is cp:
                self.station = None
                self._arrived.clear()
                log.log(logging.INFO if self._closing else logging.WARNING,
                        "ocpp: station %s disconnected", ident)

    async def _need(self) -> Csms:
        """The connected station (waiting up to timeout_s for one); DeviceError if none."""
        await self.start()
        if self.station is None:
            try:
                async with asyncio.timeout(self.timeout_s):
                    await self._arrived.wait()
            except TimeoutError:
                raise DeviceError("charger ocpp21", "no station connected") from None
        assert self.station is not None
        return self.station

    async def _call(self, payload: Any) -> Any:
        cp = await self._need()
        try:
            async with asyncio.timeout(self.timeout_s):
                return await cp.call(payload, suppress=False)
        except (OCPPError, websockets.ConnectionClosed) as exc:
            raise DeviceError("charger ocpp21", f"{type(payload).__name__}: {exc}") from exc
        except TimeoutError:
            raise DeviceError("charger ocpp21", f"{type(payload).__name__}: no reply") from None

    def fresh(self, stamp: datetime | None = None) -> None:
        """A MeterValues arrived (sampled at `stamp`, the station's clock): wake the read
        waiting for it."""
        self.sample_t = self.clock()
        self.note_stamp(stamp)
        self._fresh.set()
        self._fresh = asyncio.Event()

    def forget_clock(self) -> None:
        """The station booted (its clock may have been set from the reply): what its
        timestamps said of its clock is forgotten."""
        self._skews.clear()

    def note_stamp(self, stamp: datetime | None) -> None:
        """A report's timestamp (the station's clock) as it arrived (None: none that
        parsed)."""
        if stamp is None:
            return
        skew = stamp - self.wall()
        if abs(skew) > SKEW_MAX:
            log.warning("ocpp: the station's clock is %s off: not believed", skew)
            return
        now = self.clock()
        self._skews = [(t, k) for t, k in self._skews if now - t <= SKEW_WINDOW_S][-63:]
        self._skews.append((now, skew))

    @property
    def skew(self) -> timedelta:
        """The station's clock less v2h's (0 while none of its timestamps is recent)."""
        now = self.clock()
        recent = [k for t, k in self._skews if now - t <= SKEW_WINDOW_S]
        return max(recent) if recent else timedelta(0)

    # -- the Charger protocol -------------------------------------------------------------
    async def read(self) -> ChargerReading:
        """Ask for MeterValues now (TriggerMessage) and wait for them: as fresh as a read. A
        station that declines the trigger is read from the MeterValues it sends by itself,
        while the last is at most SAMPLE_MAX_S old (its reading's t is when it came)."""
        cp = await self._need()
        got = self._fresh
        n0 = self.state.samples
        res = await self._call(call.TriggerMessage(requested_message="MeterValues",
                                                   evse={"id": self.evse_id}))
        t = self.clock()
        st = self.state
        if res.status == "Accepted":
            try:
                async with asyncio.timeout(self.timeout_s):
                    await got.wait()
            except TimeoutError:
                raise DeviceError("charger ocpp21", "no MeterValues after the trigger") from None
            t = self.clock()
            # the power only as the MeterValues the trigger asked for (or any report since)
            # gave it: a station whose triggered MeterValues carry the energy register alone
            # has no power now, not the one its TransactionEvent gave minutes ago
            power = st.power_w if st.power_n > n0 else math.nan
        elif t - self.sample_t <= SAMPLE_MAX_S:
            t = self.sample_t
            power = st.power_w if self.clock() - st.power_t <= SAMPLE_MAX_S else math.nan
        else:
            raise DeviceError("charger ocpp21", f"TriggerMessage {res.status}, and no "
                              f"MeterValues of its own for {SAMPLE_MAX_S:g} s")
        car = st.status in ("Occupied", "Reserved") or st.tx_id is not None
        faulted = st.status == "Faulted"
        controlled = self._controlled == (cp, st.boots)
        ready = st.tx_id is not None and not faulted
        # the SoC only as fresh as a reading (the core takes a finite one as the car's now
        # and tracks the energy moved from it; one the station stopped sending, or the last
        # car's, would hold the reserve at a number no longer true)
        soc = st.soc if car and self.clock() - st.soc_t <= SAMPLE_MAX_S else math.nan
        return ChargerReading(t, power, car, ready, soc,
                              1 if st.tx_id else 0, 1 if faulted else 0, controlled,
                              st.charged_wh, st.discharged_wh)

    async def take_control(self, watchdog_s: int) -> None:
        """The Idle TxDefaultProfile (the fallback of every expired TxProfile), accepted.
        Not knowing the transaction (v2h restarted while the station stayed connected
        elsewhere or came back without a boot), it asks the station to report its
        connector and transaction first (TriggerMessage; a station that declines is asked
        no further: its own reports will come)."""
        cp = await self._need()
        self.validity_s = watchdog_s
        if self.state.tx_id is None:
            for what in ("StatusNotification", "TransactionEvent"):
                await self._call(call.TriggerMessage(requested_message=what,
                                                     evse={"id": self.evse_id}))
        await self._profile({
            "id": DEFAULT_PROFILE_ID, "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": [{
                "id": DEFAULT_PROFILE_ID, "startSchedule": iso(self.station_now()),
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "operationMode": "Idle"}]}]})
        self._controlled = (cp, self.state.boots)

    def limits(self) -> tuple[float, float]:
        """(most charge, most discharge) W now: the car's V2X parameters within ours."""
        st = self.state
        chg = st.max_charge_w if math.isfinite(st.max_charge_w) else LIMIT_W
        dis = st.max_discharge_w if math.isfinite(st.max_discharge_w) else LIMIT_W
        return (max(0.0, min(chg, LIMIT_W)), max(0.0, min(dis, LIMIT_W)))

    async def set_power(self, watts: float) -> None:
        chg, dis = self.limits()
        if dis > 0.0 and not await self._allow():
            dis = 0.0
        w = float(round(max(-dis, min(chg, watts))))
        await self._tx({"startPeriod": 0, "operationMode": "CentralSetpoint", "setpoint": w,
                        "limit": chg, "dischargeLimit": -dis})

    async def _allow(self) -> bool:
        """Discharge allowed in this transaction: once per transaction v2h, as the CSMS,
        allows the car's bidirectional transfer mode (NotifyAllowedEnergyTransfer; every
        bidirectional mode when the car's request is not known). False when refused."""
        tx = self.state.tx_id
        if tx is None or tx == self.allowed_tx:
            return tx is not None
        mode = self.state.requested_mode
        modes = [mode] if mode in BPT_MODES else sorted(BPT_MODES)
        res = await self._call(call.NotifyAllowedEnergyTransfer(
            transaction_id=tx, allowed_energy_transfer=modes))
        if res.status != "Accepted":
            log.warning("ocpp: the station refused discharge in transaction %s (%s)", tx,
                        res.status)
            return False
        self.allowed_tx = tx
        return True

    async def stop(self) -> None:
        """An Idle TxProfile; not knowing the transaction (v2h just restarted, the
        TransactionEvent its trigger asked for not yet come), v2h's TxProfile cleared
        whatever transaction it names: the station falls back to the Idle default. Either
        way the stop goes out: the last v2h's profile may still be discharging."""
        if self.state.tx_id is not None:
            await self._tx({"startPeriod": 0, "operationMode": "Idle"})
        else:
            await self._call(call.ClearChargingProfile(charging_profile_id=TX_PROFILE_ID))

    async def _tx(self, period: dict[str, Any]) -> None:
        """A TxProfile of one period, valid for validity_s from now (the dead-man)."""
        tx = self.state.tx_id
        if tx is None:
            raise DeviceError("charger ocpp21", "no transaction (no car in a session)")
        now = self.station_now()
        await self._profile({
            "id": TX_PROFILE_ID, "stackLevel": TX_STACK_LEVEL,
            "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Absolute",
            "transactionId": tx, "validTo": iso(now + timedelta(seconds=self.validity_s)),
            "chargingSchedule": [{
                "id": TX_PROFILE_ID, "startSchedule": iso(now), "duration": self.validity_s,
                "chargingRateUnit": "W", "chargingSchedulePeriod": [period]}]})

    def station_now(self) -> datetime:
        """Now in the station's clock (as far as its MeterValues tell)."""
        return self.wall() + self.skew

    async def _profile(self, profile: dict[str, Any]) -> None:
        self.profiles_sent.append(profile)
        del self.profiles_sent[:-100]
        res = await self._call(call.SetChargingProfile(evse_id=self.evse_id,
                                                       charging_profile=profile))
        if res.status != "Accepted":
            why = (res.status_info or {}).get("reason_code", "")
            raise DeviceError("charger ocpp21", f"profile rejected {why}".rstrip())

    async def release(self) -> None:
        """Idle, then v2h's TxProfile cleared: the station stays on the Idle default."""
        had_tx = self.state.tx_id is not None
        await self.stop()
        if had_tx and self.station is not None:
            await self._call(call.ClearChargingProfile(charging_profile_id=TX_PROFILE_ID))
        self._controlled = None

    async def close(self) -> None:
        self._closing = True
        if self.station is not None:
            await self.station.ws.close()
        if self.server is not None:
            self.server.close()
            async with asyncio.timeout(2.0):
                await self.server.wait_closed()
            self.server = None
