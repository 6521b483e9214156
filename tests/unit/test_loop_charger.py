"""The charger link inside the live loop (controller/loop/_charger.py): what reaches the
charger when its control cannot be confirmed. Fake devices, a fake clock, no waiting."""

from __future__ import annotations

from controller.devices import DeviceError
from controller.loop import Controller
from controller.loop._controller import GRID_POLL_S
from tests.helpers import Clock
from tests.unit.test_loop_stateful import CFG, FakeCharger, FakeMeter, World

EPS = 1e-6


class ReplyLostCharger(FakeCharger):
    """A Quasar whose writes act while every reply to a write is lost (mode `lost_all`): a
    link that answers late, after the timeout. Reads answer. take_control acts too (its
    registers end up as set) but raises, as Quasar.take_control does on its first lost
    reply."""

    def _lost(self) -> None:
        if self.mode == "lost_all":
            raise DeviceError("charger", "reply lost")

    def _reply(self) -> None:
        self._lost()
        super()._reply()

    async def take_control(self, watchdog_s: int) -> None:
        await super().take_control(watchdog_s)
        self._lost()

    async def stop(self) -> None:
        await super().stop()
        self._lost()


class Site:
    """The Controller on a house drawing 4 kW without PV: the car discharges into it."""

    def __init__(self) -> None:
        self.clock = Clock(1000.0)
        self.world = World()
        self.world.load_w, self.world.pv_w = 4000.0, 0.0
        self.charger = ReplyLostCharger(self.clock)
        self.meter = FakeMeter(self.clock, self.world, self.charger)
        self.ctl = Controller(CFG, self.meter, self.charger, clock=self.clock,
                              wall=Clock(1_795_000_000.0))
        self.ctl.owner.save_soon = lambda path: None  # type: ignore[method-assign]  # no disk

    async def tick(self) -> None:
        """The next event of the loop: a cycle on each whole second, else a watch tick."""
        self.clock.t = round(self.clock.t + GRID_POLL_S, 6)
        if abs(self.clock.t - round(self.clock.t)) < EPS:
            await self.ctl.cycle()
        else:
            await self.ctl.watch_once()

    async def run(self, seconds: float) -> None:
        end = self.clock.t + seconds - EPS
        while self.clock.t < end:
            await self.tick()


async def test_stop_reaches_a_discharging_charger_whose_control_is_unconfirmed():
    """The car discharges 4 kW under our control; the charger falls silent for 2 s (less
    than charger_lost_s, well within its own watchdog), then answers every read again while
    the replies to its writes are lost (they act). Control cannot be confirmed, so nothing
    non-zero may be written, but the charger still runs our last setpoint and our reads
    feed its watchdog: the stop must still be sent. Then the grid fails: 0 W within
    grid_loss_stop_s of the meter showing it (promise 1). Before the fix nothing but
    take_control was sent: the car went on discharging into the dead grid indefinitely
    (ChargerLink.command refused every write, the stop too, without confirmed control)."""
    site = Site()
    ch = site.charger
    await site.run(8.0)
    assert ch.power_w < -3000.0 and ch.controlled
    ch.mode = "silent"
    await site.run(2.0)
    ch.mode = "lost_all"
    await site.run(2.0)
    site.world.grid_up = False
    t_down = site.clock.t
    await site.run(CFG.control.grid_loss_stop_s)
    assert ch.power_w == 0.0, (
        f"still {ch.power_w:.0f} W {site.clock.t - t_down:.2f} s after the grid was lost; "
        f"calls since: {[c.kind for c in ch.calls if c.t > t_down]}")
