"""The live controller: a 1-s loop by deadline, a faster grid watch, the supervisor and the
step of `fast/`, around the device drivers. Every I/O call is under a timeout."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import fast
from controller import ledger
from controller._notify import Notifier
from controller._owner import OwnerSettings
from controller._owner import default_path as owner_path
from controller.config import Config, core_limits, core_plan
from controller.devices import Charger, DeviceError, Meter, MeterReading

if TYPE_CHECKING:  # the plan (numpy, HiGHS) is loaded only where it is configured
    from controller._planning import LivePlanner, Snapshot

log = logging.getLogger("v2h")
GRID_POLL_S = 0.1


class Controller:
    """One running controller: `await run(stop)` until `stop` is set, then it writes 0 W,
    hands control back to the charger and returns."""

    def __init__(self, cfg: Config, meter: Meter, charger: Charger, grid_meter: Meter | None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 wall: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.meter = meter
        self.grid_meter = grid_meter
        self.charger = charger
        self.clock = clock
        self.sleep = sleep
        self.wall = wall  # UTC epoch s: prices and departures live on the calendar
        self.lim = core_limits(cfg)
        self.plan = core_plan(cfg)
        self.st = fast.CtlState()
        self.m = fast.Measurement(t=-1e9, ev_t=-1e9)
        self.setpoint = 0.0
        self.charger_io = asyncio.Lock()
        self.charger_lost_since: float | None = None
        self.charger_ok_t = -1e9
        self.grid_down = False
        self.last_mode = -1
        self.last_reasons: tuple[str, ...] = ()
        self.faults: set[str] = set()
        self.cycles: list[tuple[float, float]] = []  # (meter read done, setpoint written)
        self.starts: list[tuple[float, float]] = []  # (cycle due, cycle started)
        self.notify = Notifier()
        # the owner's settings (MQTT commands): they narrow the config, never widen it, and
        # outlive a restart (controller/_owner.py)
        self.owner_path = owner_path()
        self.owner = OwnerSettings.load(self.owner_path, cfg)
        self.charged_wh = 0.0
        self.discharged_wh = 0.0
        self._t_energy: float | None = None
        self.meter_energy: tuple[float, float] = (math.nan, math.nan)
        # the energy ledger (firmware_notes/ledger.md): UTC from `wall`, each minute's prices
        # from the feed when there is one
        self.ledger = ledger.from_config(cfg.ledger)
        if self.ledger is not None:  # the car's counters go on from the ledger's totals
            self.charged_wh, self.discharged_wh = self.ledger.car_wh
        self._t_ledger: float | None = None
        self.bridge = None
        if cfg.mqtt.enabled:
            from controller.mqtt import Bridge

            self.bridge = Bridge(cfg, self.apply_command)
        self.planner: LivePlanner | None = None
        self.feed = None
        self._slot: object = None
        self._t_observed: float | None = None
        if cfg.prices.source != "none":
            from controller.prices import PriceFeed

            self.feed = PriceFeed.from_config(cfg, on_change=lambda _p: self._poke_plan(),
                                              clock=wall)
        if cfg.plan.by_price:
            from controller._planning import LivePlanner

            hist = None
            if self.ledger is not None:
                path = self.ledger.path
                hist = lambda since: ledger.demand_history(path, since)  # noqa: E731
            self.planner = LivePlanner(cfg, self.feed, self._snapshot, wall, hist)
        # P1 gives no frequency: the grid is judged on voltage alone (nominal frequency)
        self.nominal_hz = None if getattr(meter, "measures_frequency", True) else 50.0
        self._apply_owner()  # the restored settings, from the first cycle on

    # -- logging: one line when something starts or ends, never once a second -------------
    def _fault(self, name: str, on: bool, detail: str = "") -> None:
        if on and name not in self.faults:
            self.faults.add(name)
            log.warning("fault start %s %s", name, detail)
        elif not on and name in self.faults:
            self.faults.discard(name)
            log.info("fault end %s", name)

    def _log_state(self, reasons: tuple[str, ...]) -> None:
        # the deadband and the ramp come and go every few seconds: not events worth a line
        reasons = tuple(r for r in reasons if r not in ("deadband", "ramp"))
        if self.st.mode != self.last_mode or reasons != self.last_reasons:
            log.info("state=%s setpoint_w=%.0f reasons=%s", fast.MODES[self.st.mode],
                     self.setpoint, ",".join(reasons) or "-")
            self.last_mode = self.st.mode
            self.last_reasons = reasons

    # -- I/O ---------------------------------------------------------------------------------
    async def _write(self, watts: float) -> bool:
        async with self.charger_io:
            try:
                await self.charger.set_power(watts)
            except DeviceError as exc:
                self._fault("charger_write", True, str(exc))
                return False
        self._fault("charger_write", False)
        self.setpoint = watts
        return True

    def _take_meter(self, r: MeterReading) -> None:
        self.meter_energy = (r.import_wh, r.export_wh)
        m = self.m
        m.t, m.p1, m.p2, m.p3 = r.t, r.p1, r.p2, r.p3
        m.grid_w = r.grid_w
        m.v1, m.v2, m.v3 = r.v1, r.v2, r.v3
        m.freq = r.freq if self.nominal_hz is None else self.nominal_hz

    async def _cycle(self) -> None:
        """Read both devices at once, supervise, step, write."""
        meter_r, charger_r = await asyncio.gather(self.meter.read(), self._read_charger(),
                                                  return_exceptions=True)
        t_read = self.clock()
        if isinstance(meter_r, MeterReading):
            self._take_meter(meter_r)
            self._fault("meter", False)
        else:
            self._fault("meter", True, str(meter_r))
        recovered = False
        if not isinstance(charger_r, BaseException) and charger_r is not None:
            m = self.m
            if bool(charger_r.car_present) != bool(m.car_present):
                self._poke_plan()  # plugged in or out: the plan's first slots change
            m.ev_t, m.ev_w = charger_r.t, charger_r.power_w
            m.soc, m.car_present, m.charger_ready = (charger_r.soc, charger_r.car_present,
                                                     charger_r.ready)
            self.charger_ok_t = t_read
            recovered = self.charger_lost_since is not None
            self.charger_lost_since = None
            self._fault("charger", False)
        else:
            if self.charger_lost_since is None:
                self.charger_lost_since = t_read
                getattr(self.charger, "forget", lambda: None)()
            self._fault("charger", True, str(charger_r))
        now = self.clock()
        ok, self.st = fast.meter_ok(self.st, self.m, now, self.lim)
        grid = fast.grid_state(self.m, self.lim, ok)
        if self.grid_down and grid == 1:
            self.grid_down = False
        charger_ok = now - self.charger_ok_t <= self.lim.charger_lost_s
        self.st = fast.supervise(self.st, self.lim, ok, grid, charger_ok, self.m.car_present,
                                 self.plan.hold, False, now)
        if self.planner is not None:
            self._follow_plan(ok)
        sp, self.st, reasons = fast.step(self.m, self.st, self.lim, self.plan, now)
        if recovered:
            # the charger is back: a stop before anything else
            async with self.charger_io:
                try:
                    await self.charger.stop()  # type: ignore[attr-defined]
                except DeviceError:
                    pass
            sp = 0.0
        if await self._write(sp):
            self.cycles.append((t_read, self.clock()))
            del self.cycles[:-600]
        self._count_energy(now)
        self._count_ledger(now)
        self._log_state(reasons)
        if self.bridge is not None:
            self.bridge.offer(self.state_message(reasons))

    def _follow_plan(self, meter_ok: bool) -> None:
        """Teach the forecast what the house drew, and take the plan's slot when it changes."""
        planner, m, t = self.planner, self.m, self.wall()
        assert planner is not None
        if meter_ok and math.isfinite(m.ev_w) and self._t_observed is not None:
            planner.observe(t, m.grid_w - m.ev_w, min(t - self._t_observed, 2.0))
        self._t_observed = t
        slot = planner.slot(t)
        if slot is not self._slot:
            self._slot = slot
            self._apply_owner()

    def price_at(self, t_utc: float) -> tuple[float, float] | None:
        """The (import, export) price (EUR/kWh) of the slot holding t_utc, if known."""
        p = self.feed.current(t_utc) if self.feed is not None else None
        i = p.index(t_utc) if p is not None else None
        return None if i is None else (p.import_eur_kwh[i], p.export_eur_kwh[i])

    def _poke_plan(self) -> None:
        if self.planner is not None:
            self.planner.poke()

    def _snapshot(self) -> Snapshot:
        from controller._planning import Snapshot

        m = self.m
        soc = m.soc if m.car_present and math.isfinite(m.soc) else math.nan
        o = self.owner
        return Snapshot(soc_pct=soc, present=bool(m.car_present), reserve_soc=o.reserve_soc,
                        max_discharge_w=o.max_discharge_w, departure=o.departure,
                        departure_soc=o.departure_soc)

    def _count_energy(self, now: float) -> None:
        """The car's energy at home (Wh), from the charger's reading, cycle by cycle; with a
        ledger, its committed totals (never less after a restart, even after a crash)."""
        if self.ledger is not None:
            self.charged_wh, self.discharged_wh = self.ledger.car_wh
            return
        ev = self.m.ev_w
        if self._t_energy is not None and math.isfinite(ev) and now - self.m.ev_t < 2.0:
            dt = min(now - self._t_energy, 2.0)
            if ev > 0:
                self.charged_wh += ev * dt / 3600.0
            else:
                self.discharged_wh -= ev * dt / 3600.0
        self._t_energy = now

    def _count_ledger(self, now: float) -> None:
        """This cycle's sample into the ledger: grid and car power if both are fresh, else a
        skipped sample. Whatever goes wrong here, the loop carries on."""
        if self.ledger is None:
            return
        m, dt = self.m, 0.0 if self._t_ledger is None else min(now - self._t_ledger, 2.0)
        self._t_ledger = now
        fresh = (now - m.t <= self.cfg.control.meter_stale_s and now - m.ev_t < 2.0)
        try:
            t = self.wall()
            self.ledger.add(t, dt, m.grid_w if fresh else math.nan, m.ev_w, self.price_at(t))
        except Exception as exc:  # noqa: BLE001 - bookkeeping never stops the control
            self._fault("ledger", True, str(exc))
        else:
            self._fault("ledger", False)

    def state_message(self, reasons: tuple[str, ...] = ()):
        """The state for MQTT (msgspec Struct); NaN becomes null."""
        from controller.mqtt import State, reason_text, state_text

        def num(x: float) -> float | None:
            return round(x, 1) if math.isfinite(x) else None

        m, v, o = self.m, self.cfg.site.nominal_v, self.owner
        return State(
            ts=datetime.now(UTC).isoformat(timespec="seconds"), state=fast.MODES[self.st.mode],
            reason=",".join(reasons) or "-",
            state_text=state_text(self.st.mode, self.setpoint, reasons),
            reason_text=reason_text(reasons, self.lim), mode=o.mode, grid_w=num(m.grid_w),
            l1_a=num(m.p1 / v), l2_a=num(m.p2 / v), l3_a=num(m.p3 / v), ev_w=num(m.ev_w),
            setpoint_w=round(self.setpoint, 1), soc=num(m.soc), reserve_soc=o.reserve_soc,
            max_discharge_w=o.max_discharge_w, import_wh=num(self.meter_energy[0]),
            export_wh=num(self.meter_energy[1]), charged_wh=round(self.charged_wh, 3),
            discharged_wh=round(self.discharged_wh, 3), departure=o.departure or "",
            departure_soc=o.departure_soc,
            plan=getattr(self._slot, "why", "-") if o.mode == "auto" else "-")

    def apply_command(self, cmd) -> str | None:
        """An owner's command: None when taken, else the reason. Commands may narrow the
        config's safety limits, never widen them, and never bypass the supervisor."""
        reason = self.owner.apply(cmd, self.cfg)
        if reason:
            return reason
        self.owner.save_soon(self.owner_path)  # off the loop: an fsync may take a while
        self._apply_owner()
        self._poke_plan()
        log.info("command %s=%s", type(cmd).__name__, getattr(cmd, "value", ""))
        return None

    def _apply_owner(self) -> None:
        """Rebuild the step's limits and plan from the config and the owner's settings."""
        mode = self.owner.mode
        self.lim = core_limits(self.cfg)
        self.lim.reserve_soc = self.owner.reserve_soc
        self.lim.max_discharge_w = self.owner.max_discharge_w
        plan = core_plan(self.cfg)
        slot = self._slot
        if mode == "auto" and slot is not None:
            plan = fast.Plan(grid_target_w=slot.grid_target_w, forced_w=slot.forced_w,
                             allow_charge=slot.allow_charge,
                             allow_discharge=slot.allow_discharge and plan.allow_discharge)
        if mode == "self-consumption":
            plan.allow_discharge = False
        elif mode == "hold":
            plan.hold = True
        elif mode == "charge-now":
            plan.forced_w = self.cfg.limits.max_charge_w  # still clamped by SoC and fuse
        self.plan = plan

    async def _read_charger(self):
        async with self.charger_io:
            return await self.charger.read()

    # -- tasks -------------------------------------------------------------------------------
    async def _control(self, stop: asyncio.Event) -> None:
        period = self.cfg.control.period_s
        nxt = self.clock()
        while not stop.is_set():
            self.starts.append((nxt, self.clock()))
            del self.starts[:-600]
            await self._cycle()
            # fed only by a completed cycle: a stuck loop lets systemd restart us (and the
            # charger's own watchdog stops the car meanwhile)
            self.notify.send("WATCHDOG=1")
            nxt += period
            delay = nxt - self.clock()
            if delay < 0:  # overran: skip to the next slot rather than bunch up
                nxt = self.clock()
                delay = 0
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _grid_watch(self, stop: asyncio.Event) -> None:
        """The grid's own fast path: voltage and frequency well inside a second; on a loss,
        0 W at once (the control cycle then keeps it there until reconnect)."""
        assert self.grid_meter is not None
        while not stop.is_set():
            try:
                r = await self.grid_meter.read()
                hz = r.freq if self.nominal_hz is None else self.nominal_hz
                m = fast.Measurement(t=r.t, v1=r.v1, v2=r.v2, v3=r.v3, freq=hz)
                gs = fast.grid_state(m, self.lim, True)
            except DeviceError:
                gs = 1  # a silent meter is the control cycle's business (stale data)
            down = gs == 0
            if gs == -1 and self.setpoint < 0.0:
                await self._write(0.0)  # grid state unknown: no discharge, not a loss
            elif gs == 1 and self.setpoint != 0.0:
                await self._fuse_guard(r)
            if down and not self.grid_down:
                self.grid_down = True
                log.warning("fault start grid_loss fast path: 0 W")
                self.st = fast.supervise(self.st, self.lim, True, 0, True, True, False, False,
                                         self.clock())
                if self.setpoint < 0.0:
                    await self._write(0.0)
            try:
                await asyncio.wait_for(stop.wait(), timeout=GRID_POLL_S)
            except TimeoutError:
                pass

    async def _fuse_guard(self, r: MeterReading) -> None:
        """Between cycles: a load switched on the charger's phase may push it over the fuse;
        the step on this fresh reading says how far to give way, and only giving way is
        written at once (everything else waits for the next cycle)."""
        m = self.m
        fm = fast.Measurement(t=r.t, ev_t=m.ev_t, grid_w=r.grid_w, p1=r.p1, p2=r.p2, p3=r.p3,
                              v1=r.v1, v2=r.v2, v3=r.v3, freq=r.freq, ev_w=m.ev_w, soc=m.soc,
                              car_present=m.car_present, charger_ready=m.charger_ready)
        sp, _, reasons = fast.step(fm, self.st, self.lim, self.plan, self.clock())
        if "fuse" in reasons and abs(sp) < abs(self.setpoint) and sp * self.setpoint >= 0.0:
            await self._write(sp)

    async def run(self, stop: asyncio.Event) -> int:
        """Take control, run until `stop`, then 0 W and control handed back. Exit code 0."""
        try:
            async with self.charger_io:
                await self.charger.take_control(self.cfg.charger.watchdog_s)
        except DeviceError as exc:
            self._fault("charger", True, str(exc))
        self.notify.send("READY=1")
        # the bridge runs beside the TaskGroup: whatever the broker does, it must never hold
        # up the stop below (0 W and control handed back come first)
        bridge = (asyncio.create_task(self.bridge.run(stop), name="v2h.mqtt.client")
                  if self.bridge is not None else None)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._control(stop), name="v2h.loop.control")
            if self.grid_meter is not None:
                tg.create_task(self._grid_watch(stop), name="v2h.meter.grid")
            if self.feed is not None:
                self.feed.load_cache()
                tg.create_task(_guarded(self.feed.run, stop, "prices"), name="v2h.prices.feed")
            if self.planner is not None:
                tg.create_task(_guarded(self.planner.run, stop, "plan"),
                               name="v2h.plan.planner")
        await self.shutdown()
        if bridge is not None:
            try:
                await asyncio.wait_for(bridge, timeout=3.0)
            except Exception:  # noqa: BLE001 - the broker's trouble, after the safe stop
                log.warning("mqtt: bridge did not stop cleanly")
        return 0

    async def shutdown(self) -> None:
        """0 W, control back to the charger, connections closed (each step bounded)."""
        self.notify.send("STOPPING=1")
        try:
            async with asyncio.timeout(3.0):
                await self.charger.release()
            log.info("stopped: 0 W written, control handed back")
        except (DeviceError, TimeoutError) as exc:
            log.error("stop: could not reach the charger (%s); its watchdog will stop it", exc)
        if self.ledger is not None:  # after the stop: the partial minute to disk
            if not await asyncio.to_thread(self.ledger.close, 2.0):
                log.error("stop: the ledger's last minute may be lost")
        for dev in (self.meter, self.grid_meter, self.charger):
            if dev is not None:
                await dev.close()
        self.notify.close()


async def _guarded(run: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event,
                   what: str) -> None:
    """A helper task that may fail without taking the control loop down with it (a
    TaskGroup cancels every task when one raises): logged, and control goes on with the
    standing plan."""
    try:
        await run(stop)
    except Exception:  # noqa: BLE001 - the plan is a convenience, control is not
        log.exception("%s: stopped by an error; control goes on with the standing plan", what)


def latency_ms(cycles: list[tuple[float, float]]) -> list[float]:
    """Meter-read-done to setpoint-written, per cycle (ms)."""
    return [(w - r) * 1000.0 for r, w in cycles if math.isfinite(r)]


def stats(ctl: Controller) -> dict[str, list[float]]:
    """The loop's own timing record: read-to-write latency and start lateness (ms)."""
    return {"read_to_write_ms": latency_ms(ctl.cycles),
            "start_late_ms": [(a - d) * 1000.0 for d, a in ctl.starts[1:]]}
