"""Small builders shared by the tests."""

from __future__ import annotations

import asyncio
import contextlib
from types import ModuleType
from typing import Any


def reading(core: ModuleType, t: float = 100.0, grid_w: float = 0.0, ev_w: float = 0.0,
            soc: float = 60.0, split: tuple[float, float, float] = (1.0, 0.0, 0.0),
            **kw: Any) -> Any:
    """A fresh, healthy measurement at time t; the grid power split over the phases."""
    m = core.Measurement(t=t, ev_t=t, grid_w=grid_w, ev_w=ev_w, soc=soc,
                         p1=grid_w * split[0], p2=grid_w * split[1], p3=grid_w * split[2])
    for k, v in kw.items():
        setattr(m, k, v)
    return m


def regulating(core: ModuleType, **kw: Any) -> Any:
    """A controller state that is REGULATING with the grid confirmed healthy."""
    st = core.CtlState(mode=core.MODES.index("REGULATING"), grid_ok=True)
    for k, v in kw.items():
        setattr(st, k, v)
    return st


@contextlib.asynccontextmanager
async def on_bench(scenario: Any, *overrides: str, wall: Any = None):
    """A bench in real time and a Controller against it over Modbus TCP (config defaults with
    the bench's ports and `overrides`); both stopped at the end. Yields (controller, bench)."""
    from controller import config
    from controller.devices import Quasar, Sdm630
    from controller.loop import Controller
    from hil import Bench

    bench = Bench(scenario)
    ports = await bench.start()
    cfg = config.defaults((f"meter.port={ports['meter']}", f"charger.port={ports['charger']}",
                           *overrides))
    kw = {"wall": wall} if wall is not None else {}
    ctl = Controller(cfg, Sdm630(cfg.meter), Quasar(cfg.charger), **kw)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(bench.run()), asyncio.create_task(ctl.run(stop))]
    try:
        yield ctl, bench
    finally:
        stop.set()
        await tasks[1]
        tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[0]
        await bench.stop()


class Clock:
    """A clock (s) that the test moves by hand: call it for the time, set `.t` to move it."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def loop_turns(n: int = 20) -> None:
    """Let the event loop run n turns (accepts, closes, callbacks already due) without
    waiting on the wall clock: what a fake-clock test needs after it moves the bench."""
    for _ in range(n):
        await asyncio.sleep(0)


async def turns_until(cond: Any, n: int = 5000) -> bool:
    """Run loop turns until cond() holds (at most n): for I/O between tasks of this loop
    (a connect and its accept, a write and its read) with no wall-clock wait."""
    for _ in range(n):
        if cond():
            return True
        await asyncio.sleep(0)
    return bool(cond())


async def follows_discharge(bench: Any, d: Any, watts: float = -2000.0) -> Any:
    """A charger driver's command of `watts` (W, < 0) held 5 bench seconds: the plant
    follows, and the driver reads back its power (the charger's meter gain on it), the car,
    control and the SoC. Returns that reading."""
    await d.set_power(watts)
    bench.advance(5)
    r = await d.read()
    assert abs(bench.plant.p - watts) < 5.0
    assert abs(r.power_w - watts * bench.plant.meas_gain) <= 5
    assert r.car_present and r.ready and r.controlled
    assert abs(r.soc - bench.plant.soc_pct) <= 1.0
    return r
