"""The live controller's start and stop (controller/loop): whatever raises, run() ends in the
safe stop; a silent meter in the grid watch is data, not a crash (issue #10, points 1-2)."""

from __future__ import annotations

import asyncio
import contextlib

from controller import config
from controller.devices import DeviceError, MeterReading
from controller.loop import Controller
from tests.helpers import Clock
from tests.ledger.test_loop import FakeCharger


class Charger(FakeCharger):
    """Records what it was told; answers like the ledger tests' charger."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.calls: list[str] = []

    async def take_control(self, watchdog_s: int) -> None:
        self.calls.append("take_control")

    async def stop(self) -> None:
        self.calls.append("stop")

    async def release(self) -> None:
        self.calls.append("release")


class Meter:
    """A meter that answers `good` reads, then fails the way `fail` says."""

    def __init__(self, clock: Clock, good: int, fail: BaseException) -> None:
        self.clock, self.good, self.fail, self.reads = clock, good, fail, 0

    async def read(self) -> MeterReading:
        self.reads += 1
        if self.reads > self.good:
            raise self.fail
        return MeterReading(self.clock(), 100.0 + self.reads, 0.0, 0.0, 230.0, 230.0, 230.0,
                            50.0)

    async def close(self) -> None:
        pass


def controller(meter_fail: BaseException, good: int = 3) -> tuple[Controller, Charger, Meter]:
    mono = Clock(1000.0)
    cfg = config.defaults(("ledger.enabled=false",))
    ch = Charger(mono)
    meter = Meter(mono, good, meter_fail)
    return Controller(cfg, meter, ch, clock=mono), ch, meter


async def test_run_ends_in_the_safe_stop_when_a_task_raises():
    """A bug in a driver (RuntimeError from the meter) tears the TaskGroup down: run() still
    writes the stop and hands control back, and returns 1 for systemd to restart it."""
    ctl, ch, _ = controller(RuntimeError("driver bug"))
    rc = await asyncio.wait_for(ctl.run(asyncio.Event()), 5.0)
    assert rc == 1 and ch.calls[-1] == "release"


async def test_run_watch_with_a_silent_meter_goes_on():
    """The meter stops answering (DeviceError) after three reads: the watch goes on, no
    error ends the run, and the stop at the end is the safe one (exit 0). Before #10 the
    watch called the fuse guard with a reading it never made (UnboundLocalError)."""
    ctl, ch, meter = controller(DeviceError("meter", "timeout"))
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if meter.reads > 6:
            break
    assert meter.reads > 6 and not task.done()
    stop.set()
    assert await asyncio.wait_for(task, 5.0) == 0
    assert ch.calls[-1] == "release" and "timeout" in ctl.meter.error


async def test_run_cancelled_still_stops_safely():
    """run() cancelled from outside (asyncio.run's own end): the stop is written first."""
    ctl, ch, _ = controller(DeviceError("meter", "timeout"), good=1000)
    task = asyncio.create_task(ctl.run(asyncio.Event()))
    await asyncio.sleep(0.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert ch.calls[-1] == "release"
