"""A stateful property test over the real Controller (issue #10, point 12): hypothesis drives
the grid, the meter, the charger, the car's SoC, the owner's commands and the clock, and
after every step the safety case is checked against what the fake charger actually got.

The fakes behave like the devices: the meter shows the house's load less PV plus what the
charger does (0 V, 0 Hz while the grid is down), falls silent, answers garbage or goes dark
with the grid; the charger keeps registers like a Quasar (control, running, power), loses
replies after acting, stops answering, reboots to factory defaults, gets stuck, is taken
over by its app, and may report a SoC of 0 while idle. No sockets, no waiting: one event
loop, a clock moved by hand."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from controller import config
from controller.devices import ChargerReading, DeviceError, MeterReading
from controller.devices.quasar import CAPS as QUASAR_CAPS
from controller.loop import Controller
from controller.loop._controller import GRID_POLL_S
from controller.mqtt import ChargeNow, SetMaxDischarge, SetMode, SetReserve
from tests.helpers import Clock

NAN = math.nan
OVERRIDES = ("ledger.enabled=false", "control.grid_reconnect_s=10.0",
             "control.grid_startup_s=2.0")
CFG = config.defaults(OVERRIDES)
C = CFG.control
LOSS_S = C.grid_loss_stop_s
RECONNECT_S = C.grid_reconnect_s
# how long the meter may go unseen before the controller must act as if the grid were lost
# (the loss budget, a watch tick, the meter's read timeout)
UNSEEN_S = LOSS_S + GRID_POLL_S + CFG.meter.timeout_s
DISCHARGING_W = 50.0  # the charger's measured power that counts as discharging (fast/)
EPS = 1e-6
EVENTS = ("none", "grid_down", "grid_up", "meter_ok", "meter_silent", "meter_garbage",
          "meter_dark", "load_step", "ok", "silent", "lost_reply", "stuck", "reboot", "app")
MODES = ("auto", "self-consumption", "charge-now", "hold", "discharge-allowed")


class World:
    """The site: the true grid and the house's load and PV (W)."""

    def __init__(self) -> None:
        self.grid_up = True
        self.load_w = 800.0  # PV covers the house: the car idles until a load comes
        self.pv_w = 800.0


class FakeMeter:
    """A three-phase meter: `mode` ok / silent (raises) / garbage (NaN) / dark (silent while
    the grid is down). Every read is logged as (t, 'up' | 'down' | 'bad')."""

    def __init__(self, clock: Clock, world: World, charger: FakeCharger) -> None:
        self.clock, self.world, self.charger = clock, world, charger
        self.mode = "ok"
        self.reads: list[tuple[float, str]] = []
        self.n = 0

    async def read(self) -> MeterReading:
        t, w = self.clock(), self.world
        self.n += 1
        if self.mode == "silent" or (self.mode == "dark" and not w.grid_up):
            self.reads.append((t, "bad"))
            raise DeviceError("meter", "timeout")
        if self.mode == "garbage":
            self.reads.append((t, "bad"))
            return MeterReading(t, NAN, NAN, NAN, NAN, NAN, NAN, NAN)
        if not w.grid_up:  # the house is dark: nothing flows, no voltage
            self.reads.append((t, "down"))
            return MeterReading(t, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self.reads.append((t, "up"))
        noise = (self.n % 7) * 0.7  # meters never repeat themselves exactly
        share = (w.load_w - w.pv_w) / 3.0
        return MeterReading(t, share + self.charger.power_w + noise, share - noise,
                            share + 0.3 * noise, 230.0 + 0.1 * (self.n % 3), 230.0, 230.0,
                            50.0 - 0.01 * (self.n % 2))

    async def close(self) -> None:
        pass


@dataclass
class Call:
    """One call the charger got: when, what, the watts (NaN for take_control), whether it
    was under control at that moment and whether it acted on it."""

    t: float
    kind: str
    watts: float
    controlled: bool
    applied: bool
    unseen_loss: bool  # control was lost (reboot, app) after the controller's last read


class FakeCharger:
    """A Quasar's registers: control, running, power (follows a command at once unless
    stuck). Modes: ok, silent (every call raises, nothing applied), lost_reply (set_power,
    set_power acts, then its reply is lost), app (someone else has it: take_control
    is refused)."""

    caps = QUASAR_CAPS

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.controlled = False
        self.running = False
        self.power_w = 0.0
        self.watchdog_s = 0
        self.mode = "ok"
        self.stuck = False
        self.soc = 60.0
        self.soc_zero_idle = False
        self.lost_unread = False
        self.calls: list[Call] = []
        self.reads: list[tuple[float, float, float, bool]] = []  # t, power, soc, controlled

    def _call(self, kind: str, watts: float) -> bool:
        silent = self.mode == "silent"
        self.calls.append(Call(self.clock(), kind, watts, self.controlled, not silent,
                               self.lost_unread))
        if silent:
            raise DeviceError("charger", "timeout")
        return True

    def _reply(self) -> None:
        if self.mode == "lost_reply":
            raise DeviceError("charger", "reply lost")

    def reboot(self) -> None:
        self.controlled, self.running, self.power_w, self.watchdog_s = False, False, 0.0, 0
        self.lost_unread = True

    def to_app(self) -> None:
        """Its app takes over: its own session (no V2H discharge), not ours."""
        self.mode = "app"
        self.controlled, self.running, self.power_w = False, False, 0.0
        self.lost_unread = True

    async def read(self) -> ChargerReading:
        if self.mode == "silent":
            raise DeviceError("charger", "timeout")
        self.lost_unread = False
        soc = 0.0 if self.soc_zero_idle and self.power_w == 0.0 else self.soc
        self.reads.append((self.clock(), self.power_w, soc, self.controlled))
        return ChargerReading(self.clock(), self.power_w, True, True, soc,
                              2 if self.running else 1, 0, self.controlled)

    async def take_control(self, watchdog_s: int) -> None:
        self._call("take_control", NAN)
        if self.mode == "app":
            raise DeviceError("charger", "control refused")
        self.controlled, self.watchdog_s = True, watchdog_s

    async def stop(self) -> None:
        self._call("stop", 0.0)
        if not self.stuck:
            self.power_w, self.running = 0.0, False

    async def set_power(self, watts: float) -> None:
        self._call("set_power", watts)
        if self.controlled and not self.stuck:
            self.power_w, self.running = watts, watts != 0.0
        self._reply()

    async def release(self) -> None:
        self._call("release", 0.0)
        if not self.stuck:
            self.power_w, self.running = 0.0, False
        self.controlled = False

    async def close(self) -> None:
        pass


class Machine(RuleBasedStateMachine):
    """The Controller under random weather, devices and owners."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock(1000.0)
        self.world = World()
        self.charger = FakeCharger(self.clock)
        self.meter = FakeMeter(self.clock, self.world, self.charger)
        self.ctl = Controller(CFG, self.meter, self.charger, clock=self.clock,
                              wall=Clock(1_795_000_000.0))
        self.ctl.owner.save_soon = lambda path: None  # type: ignore[method-assign]  # no disk
        self.shut = False
        # the model, fed by what the meter showed and what the charger got
        self.n_reads = 0
        self.n_calls = 0
        self.n_creads = 0
        self.last_kind = ""
        self.last_up: float | None = None  # the meter's last healthy answer
        self.run_start: float | None = None  # first healthy answer after a loss
        self.after_loss = False  # a loss happened: discharge waits RECONNECT_S of health
        self.down_in_gap = False  # the meter failed while the grid was truly down
        self.last_cmd = 0.0  # the watts of the last command the charger was sent
        self.known_w = 0.0  # the charger's power as last read
        self.known_uncontrolled = False  # its last read showed it not under our control
        self.soc_seen = NAN  # the last SoC it reported that was a reading (not 0)
        self.pending: list[tuple[float, float]] = []  # (down shown at, stop due by)
        self.zero_at: list[float] = []  # when 0 W was sent

    @initialize(charger=st.sampled_from(["ok", "lost_reply"]), warm_s=st.integers(0, 4))
    def start(self, charger: str, warm_s: int) -> None:
        """The charger as it starts (answering, or losing its replies), the loop run a while."""
        self.charger.mode = charger
        if warm_s:
            self.run_for(warm_s, "none", 0)

    def teardown(self) -> None:
        try:
            if not self.shut:
                self._shutdown()
        finally:
            self.loop.close()

    # -- the audit: every read and call since the last one, in the order they happened --------
    def _audit(self) -> None:
        now = self.clock()
        for t, kind in self.meter.reads[self.n_reads:]:
            self._meter_read(t, kind)
        self.n_reads = len(self.meter.reads)
        for _t, p, soc, ctl in self.charger.reads[self.n_creads:]:
            self.known_w = p
            self.known_uncontrolled = not ctl
            if soc > 0.0:
                self.soc_seen = soc
        self.n_creads = len(self.charger.reads)
        for c in self.charger.calls[self.n_calls:]:
            self._charger_call(c)
        self.n_calls = len(self.charger.calls)
        self._due(now)

    def _meter_read(self, t: float, kind: str) -> None:
        if kind == "down":
            self.after_loss = True
            self.run_start = None
            if self.last_kind != "down" and self._discharging():
                self.pending.append((t, t + LOSS_S))
        elif kind == "up":
            if self.last_up is not None and t - self.last_up > UNSEEN_S and self.down_in_gap:
                self.after_loss = True  # lost while unseen: as after a loss
                self.run_start = None
            if self.run_start is None:
                self.run_start = t
            self.last_up = t
            self.down_in_gap = not self.world.grid_up
        elif not self.world.grid_up:  # silent, dark or garbage while the grid is down
            self.down_in_gap = True
        self.last_kind = kind

    def _discharging(self) -> bool:
        """Discharging as far as the controller knows, and the charger may be (under our
        control, or moving)."""
        ch = self.charger
        return (self.last_cmd < 0.0 or self.known_w < -DISCHARGING_W) and \
            (ch.controlled or ch.power_w < -DISCHARGING_W)

    def _charger_call(self, c: Call) -> None:
        if c.kind == "take_control":
            if c.controlled or self.charger.controlled:
                self.known_uncontrolled = False
            return
        # 4. nothing non-zero to a charger not under control at that moment (unless it lost
        # control after the controller last read it: no one can see that); nothing at all
        # (but the hand-back) to one the controller's own last read showed not ours
        assert not (c.kind == "set_power" and c.watts != 0.0 and not c.controlled
                    and not c.unseen_loss), \
            f"{c.watts:.0f} W sent to a charger not under control at t={c.t:.2f}"
        assert c.kind == "release" or not self.known_uncontrolled, \
            f"{c.kind}({c.watts:.0f} W) to a charger the last read showed not ours, t={c.t:.2f}"
        if c.watts < 0.0:
            self._negative(c)
        else:
            self.zero_at.append(c.t)
        self.last_cmd = c.watts

    def _negative(self, c: Call) -> None:
        t = c.t
        # 1. no discharge unless the meter has shown the grid healthy, for RECONNECT_S since
        # the last loss (a down reading, or the grid lost while the meter was unseen)
        assert self.last_kind != "down", f"{c.watts:.0f} W just after a down reading, t={t:.2f}"
        assert self.run_start is not None, f"{c.watts:.0f} W before the grid was seen, t={t:.2f}"
        if self.after_loss:
            assert t - self.run_start >= RECONNECT_S - EPS, (
                f"{c.watts:.0f} W at t={t:.2f}, {t - self.run_start:.2f} s after the grid was "
                f"seen back (reconnect {RECONNECT_S} s)")
        assert self.last_up is not None
        assert self.world.grid_up or t - self.last_up <= UNSEEN_S + EPS, (
            f"{c.watts:.0f} W at t={t:.2f} with the grid down and unseen since "
            f"{self.last_up:.2f}")
        # 3. nothing negative at or below the owner's reserve (by the SoC last reported)
        reserve = self.ctl.owner.reserve_soc
        assert self.soc_seen > reserve, (
            f"{c.watts:.0f} W at t={t:.2f} with the SoC at {self.soc_seen} % "
            f"(reserve {reserve} %)")

    def _due(self, now: float) -> None:
        """2. 0 W within the budgets, judged at the first controller call past each one."""
        for t_down, due in list(self.pending):
            if now >= due - EPS:
                self.pending.remove((t_down, due))
                assert any(t_down - EPS <= z <= now + EPS for z in self.zero_at), (
                    f"grid shown down at t={t_down:.2f} while discharging: no 0 W by "
                    f"t={now:.2f}")
                assert self.last_cmd >= 0.0, f"still {self.last_cmd:.0f} W at t={now:.2f}"
        if self.last_up is not None and self.last_kind != "up" \
                and now - self.last_up >= UNSEEN_S - EPS and self._discharging():
            assert self.last_cmd >= 0.0, (
                f"{self.last_cmd:.0f} W at t={now:.2f}: the grid unseen since "
                f"{self.last_up:.2f}")
            if self.known_w < -DISCHARGING_W and self.charger.power_w < -DISCHARGING_W:
                since = self.last_up + LOSS_S
                assert any(since - EPS <= z <= now + EPS for z in self.zero_at), (
                    f"discharging at {self.known_w:.0f} W with the grid unseen since "
                    f"{self.last_up:.2f}: no stop by t={now:.2f}")

    # -- the controller's own steps --------------------------------------------------------
    @precondition(lambda self: not self.shut)
    @rule()
    def tick_watch(self) -> None:
        """A grid-watch tick, 0.1 s on."""
        self.loop.run_until_complete(self._tick_watch())

    @precondition(lambda self: not self.shut)
    @rule()
    def tick_cycle(self) -> None:
        """A control cycle at the next whole second."""
        self.loop.run_until_complete(self._tick_cycle())

    async def _tick_watch(self) -> None:
        self.clock.t = round(self.clock.t + GRID_POLL_S, 6)
        await self.ctl.watch_once()
        self._audit()

    async def _tick_cycle(self) -> None:
        self.clock.t = math.floor(self.clock.t + EPS) + 1.0
        await self.ctl.cycle()
        self._audit()

    @precondition(lambda self: not self.shut)
    @rule(seconds=st.integers(1, 12), event=st.sampled_from(EVENTS), at=st.integers(0, 35))
    def run_for(self, seconds: int, event: str, at: int) -> None:
        """The loop running: a cycle and nine watch ticks each second; `event` strikes
        before watch tick number `at` (faults keep no schedule)."""
        self.loop.run_until_complete(self._run_for(seconds, event, at))

    async def _run_for(self, seconds: int, event: str, at: int) -> None:
        # one pass of the event loop for the whole run (a pass per tick cost more than the
        # controller's own work), which still yields to it after every tick: a fit's thread
        # reports back between ticks, as it would between two run_until_complete
        for i in range(seconds):
            await self._tick_cycle()
            await asyncio.sleep(0)
            for k in range(9):
                if 9 * i + k == at:
                    self._event(event)
                await self._tick_watch()
                await asyncio.sleep(0)

    def _event(self, event: str) -> None:
        if event == "grid_down":
            self.grid(up=False)
        elif event == "grid_up":
            self.grid(up=True)
        elif event.startswith("meter_"):
            self.meter_mode(mode=event[6:])
        elif event == "load_step":
            self.house(load=int(self.world.load_w) + 3000, pv=int(self.world.pv_w))
        elif event != "none":
            self.charger_mode(mode=event)

    @precondition(lambda self: not self.shut)
    @rule(at=st.integers(0, 8), load=st.integers(500, 6000))
    def load_then_loss(self, at: int, load: int) -> None:
        """A load switches on, the next cycle answers it, and the grid fails `at` ticks on."""
        self.house(load=int(self.world.load_w) + load, pv=int(self.world.pv_w))
        self.run_for(2, "grid_down", at)

    @precondition(lambda self: not self.shut)
    @rule(seconds=st.integers(1, 4))
    def run_briefly(self, seconds: int) -> None:
        """The loop running a few seconds undisturbed."""
        self.run_for(seconds, "none", 0)

    @precondition(lambda self: not self.shut)
    @rule(dt=st.sampled_from([0.05, 0.3, 0.7, 1.5, 3.0]))
    def stall(self, dt: float) -> None:
        """Time passes with the loop held up."""
        self.clock.t = round(self.clock.t + dt, 6)

    @precondition(lambda self: not self.shut)
    @rule()
    def shutdown(self) -> None:
        """The safe stop (SIGTERM)."""
        self._shutdown()

    def _shutdown(self) -> None:
        self.shut = True
        ok = self.loop.run_until_complete(self.ctl.shutdown())
        self._audit()
        # 5. the last thing the charger got is the hand-back with 0 W
        last = self.charger.calls[-1] if self.charger.calls else None
        if last is not None and self.charger.mode != "silent":
            assert last.kind == "release" and last.watts == 0.0, f"last call {last}"
            assert ok or self.charger.mode == "lost_reply"
            assert not self.charger.controlled
        elif last is not None:
            assert not ok and last.kind == "release"

    # -- the grid and the meter ----------------------------------------------------------
    @rule(up=st.booleans())
    def grid(self, up: bool) -> None:
        """The grid is lost, or back."""
        self.world.grid_up = up

    @rule(mode=st.sampled_from(["ok", "silent", "garbage", "dark"]))
    def meter_mode(self, mode: str) -> None:
        """The meter answers, falls silent, answers garbage, or goes dark with the grid."""
        self.meter.mode = mode

    @rule(load=st.integers(0, 6000), pv=st.integers(0, 6000))
    def house(self, load: int, pv: int) -> None:
        """The house's load and the PV change."""
        self.world.load_w, self.world.pv_w = float(load), float(pv)

    # -- the charger and the car ---------------------------------------------------------
    @rule(mode=st.sampled_from(["ok", "silent", "lost_reply", "app", "stuck", "reboot"]))
    def charger_mode(self, mode: str) -> None:
        """The charger answers, falls silent, loses its replies, is taken by its app, stops
        following its commands (its power stays put), or reboots to factory defaults."""
        ch = self.charger
        if mode == "stuck":
            ch.stuck = True
        elif mode == "reboot":
            ch.reboot()
        elif mode == "app":
            ch.to_app()
        else:
            ch.mode, ch.stuck = mode, False

    @rule(delta=st.integers(-40, 40), zero_idle=st.booleans())
    def soc(self, delta: int, zero_idle: bool) -> None:
        """The car's SoC moves; the charger shows 0 while idle (many do), or not."""
        self.charger.soc = float(min(100, max(1, self.charger.soc + delta)))
        self.charger.soc_zero_idle = zero_idle

    # -- the owner -----------------------------------------------------------------------
    @rule(cmd=st.one_of(
        st.builds(SetReserve, value=st.integers(0, 100).map(float)),
        st.builds(SetMode, value=st.sampled_from(MODES)),
        st.builds(SetMaxDischarge, value=st.sampled_from([0.0, 500.0, 3000.0, 7400.0])),
        st.just(ChargeNow())))
    def owner(self, cmd: object) -> None:
        """The owner's command (refused outside the config's bounds)."""
        self.ctl.apply_command(cmd)

    @invariant()
    def owner_within_config(self) -> None:
        """The owner's reserve never below the config's."""
        assert self.ctl.owner.reserve_soc >= CFG.limits.reserve_soc


SETTINGS = settings(max_examples=1000, stateful_step_count=60, deadline=None)


class TestController(Machine.TestCase):
    """The Controller against fake devices under random faults: the safety case's
    invariants hold after every step."""

    settings = SETTINGS

    def test_controller_state_machine(self) -> None:
        """Random runs of the state machine; a failure prints the shortest steps to it."""
        self.runTest()
