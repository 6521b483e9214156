"""controller/loop/_meter.py: the meter's link, and the phase of a meter with its own clock
(issue #12, point 7: the cycle reads each sample right after it is published)."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

from controller.devices import MeterReading
from controller.devices.quasar import CAPS as QUASAR_CAPS
from controller.loop import Controller
from controller.loop._controller import PHASE_MARGIN_S, PHASE_MAX_SHIFT
from controller.loop._meter import MeterLink

# the cycle's phase needs no charger: one that only declares what it is (the loop reads that)
NO_CHARGER = SimpleNamespace(caps=QUASAR_CAPS)


class PublishingMeter:
    """A meter that takes a sample every `every_s` from `phase_s` (its own clock) and
    returns the last one to every read; every_s = 0: each read measures anew."""

    def __init__(self, clock, every_s: float = 1.0, phase_s: float = 0.37) -> None:
        self.clock = clock
        self.every_s = every_s
        self.phase_s = phase_s

    async def read(self) -> MeterReading:
        t = self.clock()
        k = math.floor((t - self.phase_s) / self.every_s) if self.every_s else t
        w = 100.0 + (k % 97)  # another value each sample
        return MeterReading(t, w, 0.0, 0.0, 230.0, 230.0, 230.0, 50.0)

    async def close(self) -> None:
        pass


def _poll(link: MeterLink, clock: list[float], until: float, step: float = 0.1) -> None:
    """Read the meter every `step` s of fake time (the grid watch's pace)."""
    async def go() -> None:
        while clock[0] < until:
            await link.read()
            clock[0] += step
    asyncio.run(go())


def test_the_phase_of_a_meter_with_its_own_clock_is_found_within_a_read():
    clock = [100.0]
    link = MeterLink(PublishingMeter(lambda: clock[0], 1.0, 0.37), 0.5)
    _poll(link, clock, 106.0)
    pub = link.next_publication(106.2, 1.0)
    assert pub is not None
    # the true publication is at 106.37; the estimate is the first read after it (a 0.1-s
    # watch): never before it, at most one read late
    assert 106.37 <= pub <= 106.37 + 0.1 + 1e-9


def test_a_meter_that_measures_at_every_read_gives_no_phase():
    clock = [100.0]
    link = MeterLink(PublishingMeter(lambda: clock[0], 0.0), 0.5)
    _poll(link, clock, 106.0)
    assert link.next_publication(106.2, 1.0) is None


def test_a_meter_publishing_faster_than_half_the_period_gives_no_phase():
    clock = [100.0]
    link = MeterLink(PublishingMeter(lambda: clock[0], 0.3, 0.05), 0.5)
    _poll(link, clock, 106.0)
    assert link.next_publication(106.2, 1.0) is None


def test_garbage_is_never_a_phase():
    class Nan(PublishingMeter):
        async def read(self) -> MeterReading:
            return MeterReading(self.clock(), math.nan, 0.0, 0.0, 230.0, 230.0, 230.0, 50.0)

    clock = [100.0]
    link = MeterLink(Nan(lambda: clock[0]), 0.5)
    _poll(link, clock, 106.0)
    assert len(link.news) == 0 or link.next_publication(106.2, 1.0) is None


def test_the_cycle_moves_toward_the_meter_s_phase_by_at_most_a_quarter_period():
    from controller import config

    clock = [100.0]
    meter = PublishingMeter(lambda: clock[0], 1.0, 0.37)
    ctl = Controller(config.defaults(), meter, NO_CHARGER, clock=lambda: clock[0])
    _poll(ctl.meter, clock, 106.0)
    # a cycle due at 107.0: the sample comes at 107.37, so the cycle moves later, by at most
    # a quarter period; one due at 107.3 moves to just after the sample
    assert ctl._phase_shift(107.0, 1.0) == PHASE_MAX_SHIFT
    shift = ctl._phase_shift(107.3, 1.0)
    assert 107.37 + PHASE_MARGIN_S <= 107.3 + shift <= 107.37 + 0.1 + PHASE_MARGIN_S + 1e-9
    # locked: a cycle right after the sample stays where it is (within one watch read)
    assert abs(ctl._phase_shift(107.3 + shift, 1.0)) < 1e-9


def test_a_polled_meter_leaves_the_period_alone():
    from controller import config

    clock = [100.0]
    ctl = Controller(config.defaults(), PublishingMeter(lambda: clock[0], 0.0), NO_CHARGER,
                     clock=lambda: clock[0])
    _poll(ctl.meter, clock, 106.0)
    assert ctl._phase_shift(107.0, 1.0) == 0.0
