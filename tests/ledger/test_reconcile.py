"""The ledger's minutes against a charger's own energy counters: the loop books them with
each minute when the driver declares them, and reconcile() compares the two over the
minutes they bracket (fake clocks, no waiting)."""

from __future__ import annotations

import dataclasses

import pytest

from controller import config
from controller.devices import ChargerReading
from controller.devices.quasar import CAPS as QUASAR_CAPS
from controller.ledger import Ledger, reconcile
from controller.loop import Controller
from tests.helpers import Clock
from tests.ledger.test_loop import FakeCharger, FakeMeter, M

COUNTING = dataclasses.replace(QUASAR_CAPS, energy_counters=True)


class CountingCharger(FakeCharger):
    """Discharges 2 kW; its own counters run 1 % above what it reports as its power."""

    caps = COUNTING

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.t0 = clock()

    async def read(self) -> ChargerReading:
        dis = 2000.0 * 1.01 * (self.clock() - self.t0) / 3600.0
        return ChargerReading(self.clock(), -2000.0, True, True, 50.0, 11, 0, True,
                              500.0, 10_000.0 + dis)


async def test_loop_books_counters_and_reconcile_compares(tmp_path):
    """Four minutes of 2 kW discharge: the compared minutes' ledger energy is 1 % below the
    counters' increase (their gain), and minutes without counters are not compared."""
    mono, wall = Clock(1000.0), Clock(M + 0.5)
    cfg = config.defaults((f"ledger.path={tmp_path / 'ledger.db'}",))
    ctl = Controller(cfg, FakeMeter(mono), CountingCharger(mono), clock=mono)
    ctl.wall = wall
    for _ in range(4 * 60 + 5):
        await ctl.cycle()
        mono.t += 1.0
        wall.t += 1.0
    await ctl.shutdown()
    r = reconcile(tmp_path / "ledger.db")
    assert r.minutes == 4  # each minute after the first (the last one: the shutdown's 5 s)
    assert r.ledger_discharged_wh == pytest.approx(2000.0 * (3 * 60 + 5) / 3600, abs=2.0)
    # within one cycle's energy (0.56 Wh): a counter is read at the minute's last sample
    assert r.counter_discharged_wh == pytest.approx(r.ledger_discharged_wh * 1.01, abs=0.6)
    assert r.counter_charged_wh == 0.0 and r.ledger_charged_wh == 0.0
    assert r.discharged_diff_wh < 0.0


async def test_no_counters_nothing_compared(tmp_path):
    """A charger without counters (the Quasar): the columns stay empty, no minute compared."""
    mono, wall = Clock(1000.0), Clock(M + 0.5)
    cfg = config.defaults((f"ledger.path={tmp_path / 'ledger.db'}",))
    ctl = Controller(cfg, FakeMeter(mono), FakeCharger(mono), clock=mono)
    ctl.wall = wall
    for _ in range(130):
        await ctl.cycle()
        mono.t += 1.0
        wall.t += 1.0
    await ctl.shutdown()
    assert reconcile(tmp_path / "ledger.db").minutes == 0


def test_reconcile_gap_starts_a_new_run(tmp_path):
    """A minute missing between two with counters: the energy across the gap is not
    compared (the controller was down; the counters moved without the ledger)."""
    led = Ledger(tmp_path / "ledger.db")
    counter = 0.0
    for m in (0, 1, 2, 5, 6):  # minutes 3 and 4 missing
        t = M + 60 * m
        for s in range(1, 61):
            counter += 1000.0 / 3600.0 * (1.0 if m < 5 else 1.0)
            led.add(t + s - 0.5, 1.0, 0.0, 1000.0, None, (counter, 0.0))
        if m == 2:
            counter += 500.0  # moved while the ledger was not running
    assert led.close()
    r = reconcile(tmp_path / "ledger.db")
    assert r.minutes == 3  # 0->1, 1->2, 5->6
    # a counter is read with the minute's last sample, not at its end: half a second of
    # 1 kW (0.14 Wh) either side of a compared minute
    assert r.counter_charged_wh == pytest.approx(r.ledger_charged_wh, abs=0.3)
