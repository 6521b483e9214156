"""controller/loop/_identify.py: the live loop identifies the charger and the meter from
what it reads and writes, and the step's limits take the model (issue #12, point 1).

The house here is a plant of the test's own (Euler steps of 10 ms, not the core's model):
a charger with dead time and a first-order response, a meter that samples 0.3 s late, and
a load that steps every 20 s."""

from __future__ import annotations

import asyncio
import math

from controller import config
from controller.devices import ChargerReading, MeterReading
from controller.devices.quasar import CAPS as QUASAR_CAPS
from controller.loop import Controller
from tests.helpers import Clock

DEAD_S, TAU_S, METER_DELAY_S, H = 0.4, 0.8, 0.3, 0.01


class House:
    """The plant: the charger's power p follows the last command written DEAD_S before,
    with time constant TAU_S; the house draws 800 W plus 1.5 kW every other 20 s."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.t = clock()
        self.p = 0.0
        self.cmds: list[tuple[float, float]] = [(-1e9, 0.0)]
        self.hist: list[tuple[float, float]] = []

    def load(self, t: float) -> float:
        return 800.0 + (1500.0 if int(t // 20) % 2 else 0.0)

    def run_to(self, t: float) -> None:
        while self.t + H <= t + 1e-9:
            self.t += H
            target = next(w for (tw, w) in reversed(self.cmds) if tw + DEAD_S <= self.t)
            self.p += (target - self.p) * (1.0 - math.exp(-H / TAU_S))
            self.hist.append((self.t, self.p))
        del self.hist[:-500]

    def p_at(self, t: float) -> float:
        return next((p for (th, p) in reversed(self.hist) if th <= t + 1e-9), 0.0)


class Charger:
    caps = QUASAR_CAPS  # what the loop narrows its limits by (a Quasar's)

    def __init__(self, house: House) -> None:
        self.house = house

    async def read(self) -> ChargerReading:
        h = self.house
        h.run_to(h.clock())
        return ChargerReading(h.clock(), h.p, True, True, 60.0, 1, 0)

    async def set_power(self, watts: float) -> None:
        self.house.cmds.append((self.house.clock(), watts))

    async def take_control(self, watchdog_s: int) -> None:
        pass

    async def stop(self) -> None:
        await self.set_power(0.0)

    async def release(self) -> None:
        await self.set_power(0.0)

    async def close(self) -> None:
        pass


class Meter:
    def __init__(self, house: House) -> None:
        self.house = house

    async def read(self) -> MeterReading:
        h = self.house
        t = h.clock()
        h.run_to(t)
        # a few W of noise: a real meter never repeats itself (that would be frozen)
        g = h.load(t - METER_DELAY_S) + h.p_at(t - METER_DELAY_S) + 3.0 * math.sin(7.3 * t)
        return MeterReading(t, g, 0.0, 0.0, 230.0, 230.0, 230.0, 50.0)

    async def close(self) -> None:
        pass


async def _cycles(ctl: Controller, mono: Clock, n: int, wait_fit: bool = True) -> None:
    """n seconds of the loop: a cycle, then the grid watch's nine looks (and any fit
    started, waited for)."""
    for _ in range(n):
        t0 = mono.t
        await ctl.cycle()
        for k in range(1, 10):
            mono.t = t0 + 0.1 * k
            await ctl.watch_once()
        mono.t = t0 + 1.0
        if wait_fit and ctl.identify is not None and ctl.identify.task is not None:
            await ctl.identify.task  # the fit's thread, in real time (milliseconds)


def _controller(*overrides: str) -> tuple[Controller, Clock]:
    mono = Clock(1000.0)
    house = House(mono)
    cfg = config.defaults(("ledger.enabled=false", *overrides))
    return Controller(cfg, Meter(house), Charger(house), clock=mono), mono


async def test_the_loop_identifies_the_charger_and_the_meter_and_the_step_uses_it():
    ctl, mono = _controller()
    assert ctl.identify is not None
    assert ctl.lim.charger_dead_s == 0.0 and ctl.lim.charger_tau_s == 0.7  # the start
    await _cycles(ctl, mono, 240)
    idn = ctl.identify.ident
    assert idn.ok and ctl.identify.fits >= 1
    assert abs(idn.dead_s - DEAD_S) <= 0.15 and abs(idn.tau_s - TAU_S) <= 0.2 * TAU_S
    assert abs(idn.meter_delay_s - METER_DELAY_S) <= 0.1 and idn.meter_window_s == 0.0
    # the step's limits carry it, and keep it when the owner's command rebuilds them
    assert ctl.lim.charger_dead_s == idn.dead_s and ctl.lim.charger_tau_s == idn.tau_s
    ctl._apply_owner()  # what an owner's command does
    assert ctl.lim.charger_dead_s == idn.dead_s and ctl.lim.meter_delay_s == idn.meter_delay_s
    model = ctl.identify.model()
    assert model is not None and model["charger_dead_s"] == round(idn.dead_s, 3)


async def test_identify_false_keeps_the_configured_model():
    ctl, mono = _controller("control.identify=false", "control.charger_dead_s=0.3")
    assert ctl.identify is None
    await _cycles(ctl, mono, 60)
    assert ctl.lim.charger_dead_s == 0.3


async def test_cycles_during_a_fit_wait_and_follow_it_in():
    """The identifier's arrays are never written while a fit reads them: rows recorded
    meanwhile are held, then recorded in order once the fit is done."""
    ctl, mono = _controller()
    ident = ctl.identify
    assert ident is not None
    gate = asyncio.Event()

    async def slow() -> bool:
        await gate.wait()
        return False

    ident.task = asyncio.get_running_loop().create_task(slow())
    n0 = ident.ident.n
    await _cycles(ctl, mono, 3, wait_fit=False)
    assert ident.ident.n == n0 and len(ident.held) == 3
    gate.set()
    await ident.task
    ident.poll(mono(), lambda: None)
    assert ident.ident.n == n0 + 3 and not ident.held
