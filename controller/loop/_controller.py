"""The live controller: start and safe stop, the 1-s control cycle, the 10 Hz grid watch.

The decisions are the core's (`fast.decide` each cycle, `fast.fast_path` each watch tick),
the very functions the simulator's batch runner calls; this module only does the I/O
around them, every call under a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import fast
from controller._notify import Notifier
from controller._owner import OwnerSettings
from controller._owner import default_path as owner_path
from controller.config import Config, core_limits, core_plan
from controller.devices import Charger, ChargerReading, Meter, MeterReading

from ._accounts import Accounts
from ._charger import ChargerLink, narrow_limits
from ._identify import Identify
from ._meter import MeterLink

if TYPE_CHECKING:  # the plan (numpy, HiGHS) is loaded only where it is configured
    from controller._planning import LivePlanner, Snapshot

log = logging.getLogger("v2h")
GRID_POLL_S = 0.1
# the cycle's phase follows the meter's own clock (a meter that publishes a sample a second):
# it starts this long after the latest moment the next sample can be there, and moves by at
# most this share of a period a cycle (firmware_notes/regulation.md "Phase")
PHASE_MARGIN_S = 0.02
PHASE_MAX_SHIFT = 0.25
# what the cycle and the watch log as states change: the deadband and the ramp come and go
# every few seconds and are not events worth a line
QUIET_REASONS = ("deadband", "ramp")
REGULATING = fast.MODES.index("REGULATING")
# the fuse guard writes a give-way only this much below the last command sent (W): the step
# on each watch reading while the charger has not yet moved gives way again by a few watts,
# and a charger takes each new setpoint after its dead time, so a stream of them holds it
# off (hil fuse-charge, Ambibox: L1 over the fuse 4 s against 2 s); the cycle writes the rest
GIVE_WAY_STEP_W = 50.0


class Controller:
    """One running controller: `await run(stop)` until `stop` is set or something fails;
    it always ends with 0 W, the stop action and control handed back."""

    def __init__(self, cfg: Config, meter: Meter, charger: Charger,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.clock = clock
        self.wall = wall  # UTC epoch s: prices and departures live on the calendar
        self.faults: set[str] = set()
        self.meter = MeterLink(meter, cfg.meter.timeout_s)
        self.charger = ChargerLink(charger, cfg.charger.watchdog_s, cfg.charger.timeout_s,
                                   clock, self._fault)
        self.st = fast.CtlState()
        # nothing known until read: the first reading of a car pokes the plan
        self.m = fast.Measurement(t=-1e9, ev_t=-1e9, ev_w=math.nan, soc=math.nan,
                                  car_present=False)
        self._mf = fast.Measurement()  # what the grid watch looks at, refilled each tick
        self.last_mode = -1
        self.last_reasons: tuple[str, ...] = ()
        self.cycles: list[tuple[float, float]] = []  # (meter read done, setpoint written)
        self.starts: list[tuple[float, float]] = []  # (cycle due, cycle started)
        self.notify = Notifier()
        self.accounts = Accounts(cfg, lambda: self.wall(), self._fault)
        self.ledger = self.accounts.ledger
        # the owner's settings (MQTT commands): they narrow the config, never widen it, and
        # outlive a restart (controller/_owner.py)
        self.owner_path = owner_path()
        self.owner = OwnerSettings.load(self.owner_path, cfg)
        self.identify: Identify | None = None
        self.lim = self._limits()
        # the charger and the meter identified from what the loop reads and writes (issue
        # #12); the config's model is where it starts
        self.identify = Identify(self.lim) if cfg.control.identify else None
        self.plan = core_plan(cfg)
        self.bridge: Any = None
        if cfg.mqtt.enabled:
            from controller.mqtt import Bridge

            self.bridge = Bridge(cfg, self.apply_command)
        self.planner: LivePlanner | None = None
        self.feed: Any = None
        self._slot: Any = None  # the plan's slot in force, its residual placed
        self._slot_planned: Any = None  # as the planner gave it
        # (loop time s, grid - target W) of each cycle the step regulated held by no clamp
        # but its deadband, over the last slot (900 s): where the next slot places its
        # residual (only the last 900 s of them: the cycles of a slot long gone, before a
        # forced slot, an unplugged car or a hold, are not the last slot's)
        self._residual: deque[tuple[float, float]] = deque(
            maxlen=max(1, int(900 / cfg.control.period_s)))
        self._t_observed: float | None = None
        self.contract: Any = None  # a contract that sets its own prices (not "dynamic")
        if cfg.tariff.contract != "dynamic":
            from controller.prices import contract_or_none

            self.contract = contract_or_none(cfg)
        if cfg.prices.source != "none":
            from controller.prices import PriceFeed

            self.feed = PriceFeed.from_config(cfg, on_change=lambda _p: self._poke_plan(),
                                              clock=wall)
        if cfg.plan.by_price:
            from controller import ledger
            from controller._planning import LivePlanner

            hist = None
            if self.ledger is not None:
                path = self.ledger.path
                hist = lambda since: ledger.demand_history(path, since)  # noqa: E731
            self.planner = LivePlanner(cfg, self.feed, self._snapshot, wall, hist)
        self._apply_owner()  # the restored settings, from the first cycle on

    @property
    def setpoint(self) -> float:
        """The last setpoint the charger acknowledged (W)."""
        return self.charger.acked_w

    @property
    def charged_wh(self) -> float:
        return self.accounts.charged_wh

    @property
    def discharged_wh(self) -> float:
        return self.accounts.discharged_wh

    def _limits(self) -> Any:
        lim = core_limits(self.cfg)
        lim.meter_interval_s = self.meter.interval_s
        lim.reserve_soc = self.owner.reserve_soc
        lim.max_discharge_w = self.owner.max_discharge_w
        narrow_limits(lim, self.charger.caps, self.cfg.limits.min_power_hyst_w)
        if self.identify is not None:
            self.identify.apply(lim)
        return lim

    # -- logging: one line when something starts or ends, never once a second -------------
    def _fault(self, name: str, on: bool, detail: str = "") -> None:
        if on and name not in self.faults:
            self.faults.add(name)
            log.warning("fault start %s %s", name, detail)
        elif not on and name in self.faults:
            self.faults.discard(name)
            log.info("fault end %s", name)

    def _log_state(self, reasons: tuple[str, ...]) -> None:
        reasons = tuple(r for r in reasons if r not in QUIET_REASONS)
        if self.st.mode != self.last_mode or reasons != self.last_reasons:
            lvl = logging.WARNING if fast.MODES[self.st.mode] == "FAULT" else logging.INFO
            log.log(lvl, "state=%s setpoint_w=%.0f reasons=%s", fast.MODES[self.st.mode],
                    self.charger.sent_w, ",".join(reasons) or "-")
            self.last_mode = self.st.mode
            self.last_reasons = reasons

    # -- the cycle ---------------------------------------------------------------------------
    def _take_meter(self) -> None:
        r = self.meter.sample
        if r is None:
            return
        self.accounts.meter_energy = (r.import_wh, r.export_wh)
        m = self.m
        m.t, m.p1, m.p2, m.p3 = r.t, r.p1, r.p2, r.p3
        m.grid_w = r.grid_w
        m.v1, m.v2, m.v3 = r.v1, r.v2, r.v3
        m.freq = self.meter.freq(r)

    def _take_charger(self, r: ChargerReading) -> None:
        m = self.m
        if bool(r.car_present) != bool(m.car_present):
            self._poke_plan()  # plugged in or out: the plan's first slots change
        m.ev_t, m.ev_w = r.t, r.power_w
        # whole per cent, read down, whatever the charger's resolution: the step's SoC limits
        # were proven on the Quasar's (a whole-per-cent floor), whose margin covers the loop's
        # latency at the reserve; an exact SoC crossed the reserve by a few seconds (#13)
        m.soc = math.floor(r.soc) if math.isfinite(r.soc) else math.nan
        m.car_present, m.charger_ready = r.car_present, r.ready

    async def cycle(self) -> None:
        """Read both devices at once, confirm control of the charger, decide, write."""
        meter_r, charger_r = await asyncio.gather(self.meter.read(), self.charger.read())
        t_read = self.clock()
        self._fault("meter", meter_r is None, self.meter.error)
        self._take_meter()
        self._fault("charger", charger_r is None, self.charger.error)
        if charger_r is not None:
            long_silence = self.st.mode == fast.MODES.index("CHARGER_LOST")
            self._take_charger(charger_r)
            await self.charger.confirm(charger_r, long_silence)
        now = self.clock()
        sp, self.st, reasons = fast.decide(self.m, self.st, self.lim, self.plan, now,
                                           self.charger.sent_w, self.charger.controlled)
        self._grid_faults()
        if self.planner is not None:
            self._follow_plan(self.st.meter_good, reasons)
        wrote = await self.charger.command(sp, self.m.ev_w if charger_r is not None
                                           else math.nan)
        t_write = self.clock()
        if wrote:
            self.cycles.append((t_read, t_write))
            del self.cycles[:-600]
        m = self.m
        if self.identify is not None:
            self.identify.record(
                m.ev_t, m.ev_w if charger_r is not None else math.nan,
                t_write if wrote else math.nan, self.charger.sent_w,
                self.st.mode == fast.MODES.index("REGULATING") and bool(m.car_present),
                m.t if meter_r is not None else math.nan,
                m.grid_w if meter_r is not None else math.nan)
            self.identify.poll(now, self._model_found)
        counters = (None if charger_r is None or not self.charger.caps.energy_counters
                    else (charger_r.charged_wh, charger_r.discharged_wh))
        self.accounts.count(now, m.grid_w, m.t, m.ev_w, m.ev_t, self.price_at, counters)
        self._log_state(reasons)
        if self.bridge is not None:
            self.bridge.offer(self.state_message(reasons))

    def _model_found(self) -> None:
        """A new model from the identification: into the step's limits from now on."""
        if self.identify is not None:
            self.identify.apply(self.lim)

    # -- the grid watch ----------------------------------------------------------------------
    async def watch_once(self) -> None:
        """One look at the grid between cycles: a fresh meter read (or its silence), the
        core's fast path, and 0 W at once when it says so; else the fuse guard. A read that
        hangs is given up when the last sample goes stale, so the check is never held up
        past that moment (silence is not health)."""
        s = self.meter.sample
        due = None
        if s is not None:  # the moment the last sample goes stale, with a tick to spare
            due = s.t + self.lim.grid_loss_stop_s + self.lim.meter_interval_s - self.clock()
        await self._fast_check(await self.meter.read(None if due is None else due + 0.01))

    async def _fast_check(self, r: MeterReading | None) -> None:
        """The fast path on the freshest sample (r: this tick's new reading, if any)."""
        s = self.meter.sample
        now = self.clock()
        m, mf = self.m, self._mf
        mf.t = -1e9 if s is None else s.t
        mf.ev_t, mf.ev_w, mf.car_present = m.ev_t, m.ev_w, m.car_present
        if s is not None:
            mf.v1, mf.v2, mf.v3, mf.freq = s.v1, s.v2, s.v3, self.meter.freq(s)
        stop, self.st = fast.fast_path(self.st, mf, self.lim, now, self.charger.command_w())
        self._grid_faults()
        if stop:
            await self.charger.command(0.0, m.ev_w)
        elif r is not None and self.st.grid_ok and self.charger.sent_w != 0.0:
            await self._fuse_guard(r)

    def _grid_faults(self) -> None:
        """The grid's latches as faults: logged when they start and when they end."""
        st = self.st
        self._fault("grid_loss", st.had_loss, "the meter shows the grid down: 0 W, no "
                    "discharge until it has been healthy for grid_reconnect_s")
        self._fault("grid_unseen", st.blind, "no fresh meter sample within the loss budget: "
                    "no discharge until the grid has been healthy for grid_reconnect_s")

    async def _fuse_guard(self, r: MeterReading) -> None:
        """Between cycles: a load switched on the charger's phase may push it over the fuse;
        the step on this fresh reading says how far to give way, and only giving way is
        written at once, by GIVE_WAY_STEP_W or more (everything else waits for the next
        cycle). Giving way is judged
        against the last command sent, acknowledged or not (a lost reply leaves the charger
        on it); after a stop sent there is nothing to give way from."""
        m = self.m
        fm = fast.Measurement(t=r.t, ev_t=m.ev_t, grid_w=r.grid_w, p1=r.p1, p2=r.p2, p3=r.p3,
                              v1=r.v1, v2=r.v2, v3=r.v3, freq=self.meter.freq(r), ev_w=m.ev_w,
                              soc=m.soc, car_present=m.car_present,
                              charger_ready=m.charger_ready)
        sp, _, reasons = fast.step(fm, self.st, self.lim, self.plan, self.clock())
        now_w = self.charger.sent_w
        if "fuse" in reasons and abs(sp) <= abs(now_w) - GIVE_WAY_STEP_W and sp * now_w >= 0.0:
            await self.charger.command(sp, m.ev_w)

    # -- the plan and the owner --------------------------------------------------------------
    def _follow_plan(self, meter_ok: bool, reasons: tuple[str, ...] = ()) -> None:
        """Teach the forecast what the house drew, keep the step's residual, and take the
        plan's slot (its residual placed) when it changes."""
        planner, m, t = self.planner, self.m, self.wall()
        assert planner is not None
        if meter_ok and math.isfinite(m.ev_w) and self._t_observed is not None:
            planner.observe(t, m.grid_w - m.ev_w, min(t - self._t_observed, 2.0))
        self._t_observed = t
        if meter_ok and self.st.mode == REGULATING and set(reasons) <= {"deadband"}:
            self._residual.append((self.clock(), m.grid_w - self.plan.grid_target_w))
        slot = planner.slot(t)
        if slot is not self._slot_planned:
            self._slot_planned = slot
            self._slot = slot
            if slot is not None and self.cfg.plan.place_residual:
                from controller import plan as planning

                self._slot = planning.placed(slot, self._last_slot_residual)
            self._apply_owner()

    def _last_slot_residual(self) -> list[float]:
        """The residual (W) of the cycles regulated in the last slot's time (900 s), as
        the simulator and the assessment take the last slot's seconds."""
        from controller import plan as planning

        since = self.clock() - planning.SLOT_S
        return [r for t, r in self._residual if t >= since]

    def price_at(self, t_utc: float) -> tuple[float, float] | None:
        """The (import, export) price (EUR/kWh) at t_utc, if known: the contract's (fixed,
        double, variable), else the day-ahead slot's holding t_utc."""
        if self.contract is not None:
            return self.contract.price_at(t_utc)
        p = self.feed.current(t_utc) if self.feed is not None else None
        i = p.index(t_utc) if p is not None else None
        return None if p is None or i is None else (p.import_eur_kwh[i], p.export_eur_kwh[i])

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

    def state_message(self, reasons: tuple[str, ...] = ()) -> Any:
        """The state for MQTT (msgspec Struct); NaN becomes null."""
        from ._state import state_message

        return state_message(self, reasons)

    def apply_command(self, cmd: Any) -> str | None:
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
        self.lim = self._limits()
        mode = self.owner.mode
        plan = core_plan(self.cfg)
        slot = self._slot
        if mode == "auto" and slot is not None:
            from controller import plan as planning

            plan = planning.step_plan(fast, slot, plan.allow_discharge)
        if mode == "self-consumption":
            plan.allow_discharge = False
        elif mode == "hold":
            plan.hold = True
        elif mode == "charge-now":
            plan.forced_w = self.cfg.limits.max_charge_w  # still clamped by SoC and fuse
        self.plan = plan

    # -- tasks -------------------------------------------------------------------------------
    async def _control(self, stop: asyncio.Event) -> None:
        period = self.cfg.control.period_s
        nxt = self.clock()
        while not stop.is_set():
            self.starts.append((nxt, self.clock()))
            del self.starts[:-600]
            await self.cycle()
            # fed only by a completed cycle: a stuck loop lets systemd restart us (and the
            # charger's own watchdog stops the car meanwhile)
            self.notify.send("WATCHDOG=1")
            nxt += period
            nxt += self._phase_shift(nxt, period)
            delay = nxt - self.clock()
            if delay < 0:  # overran: skip to the next slot rather than bunch up
                nxt = self.clock()
                delay = 0
            await _wait(stop, delay)

    def _phase_shift(self, due: float, period: float) -> float:
        """How far to move the next cycle (s) so that it reads the meter just after it
        publishes: a sample read at once is a period fresher than one read just before the
        next (0 for a meter without a clock of its own)."""
        pub = self.meter.next_publication(due, period)
        if pub is None:
            return 0.0
        lim = PHASE_MAX_SHIFT * period
        return min(lim, max(-lim, pub + PHASE_MARGIN_S - due))

    async def _watch(self, stop: asyncio.Event) -> None:
        """The grid's own fast path, between the cycles (GRID_POLL_S)."""
        while not stop.is_set():
            await self.watch_once()
            await _wait(stop, GRID_POLL_S)

    async def run(self, stop: asyncio.Event) -> int:
        """Regulate until `stop`; then, and on any error, the safe stop. Exit code: 0 after
        a clean stop, 1 when something failed (systemd then restarts us)."""
        rc = 0
        self.notify.send("READY=1")
        # the bridge runs beside the TaskGroup: whatever the broker does, it must never hold
        # up the stop below (0 W and control handed back come first)
        bridge = (asyncio.create_task(self.bridge.run(stop), name="v2h.mqtt.client")
                  if self.bridge is not None else None)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._control(stop), name="v2h.loop.control")
                tg.create_task(self._watch(stop), name="v2h.meter.grid")
                if self.feed is not None:
                    self.feed.load_cache()
                    tg.create_task(_guarded(self.feed.run, stop, "prices"),
                                   name="v2h.prices.feed")
                if self.planner is not None:
                    tg.create_task(_guarded(self.planner.run, stop, "plan"),
                                   name="v2h.plan.planner")
        except Exception:  # noqa: BLE001 - whatever it was, the safe stop comes next
            log.exception("stopped by an error; safe stop follows")
            rc = 1
        finally:
            stop.set()
            if not await self.shutdown():
                rc = 1
            if bridge is not None:
                try:
                    await asyncio.wait_for(bridge, timeout=3.0)
                except Exception:  # noqa: BLE001 - the broker's trouble, after the safe stop
                    log.warning("mqtt: bridge did not stop cleanly")
        return rc

    async def shutdown(self) -> bool:
        """0 W, stop, control back to the charger, connections closed (each step bounded).
        False when the charger could not be told (its own watchdog will stop it)."""
        self.notify.send("STOPPING=1")
        ok = True
        try:
            async with asyncio.timeout(3.0):
                await self.charger.release()
            log.info("stopped: 0 W written, control handed back")
        except Exception as exc:  # noqa: BLE001 - DeviceError, timeout, a driver's bug
            log.error("stop: could not reach the charger (%s); its watchdog will stop it",
                      exc)
            ok = False
        if self.identify is not None:
            await self.identify.close()
        # after the stop: the partial minute to disk
        if self.ledger is not None and not await asyncio.to_thread(self.ledger.close, 2.0):
            log.error("stop: the ledger's last minute may be lost")
        for dev in (self.meter, self.charger):
            try:
                async with asyncio.timeout(2.0):
                    await dev.close()
            except Exception as exc:  # noqa: BLE001 - closing is best effort
                log.warning("stop: closing a device: %s", exc)
        self.notify.close()
        return ok


async def _wait(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)


async def _guarded(run: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event,
                   what: str) -> None:
    """A helper task that may fail without taking the control loop down with it (a
    TaskGroup cancels every task when one raises): logged, and control goes on with the
    standing plan."""
    try:
        await run(stop)
    except Exception:  # noqa: BLE001 - the plan is a convenience, control is not
        log.exception("%s: stopped by an error; control goes on with the standing plan", what)
