"""The ledger inside the controller: one sample a cycle, prices from price_at, the partial
minute written by shutdown (the SIGTERM path); fake devices and fake clocks, no waiting."""

from __future__ import annotations

import pytest

from controller import config
from controller.devices import ChargerReading, DeviceError, MeterReading
from controller.devices.quasar import CAPS as QUASAR_CAPS
from controller.ledger import connect
from controller.loop import Controller
from tests.helpers import Clock

M = 1_795_000_020 // 60 * 60




class FakeMeter:
    """Imports 300 W, healthy grid."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def read(self) -> MeterReading:
        return MeterReading(self.clock(), 100.0, 100.0, 100.0, 230.0, 230.0, 230.0, 50.0)

    async def close(self) -> None:
        pass


class FakeCharger:
    """Charges 2 kW whatever it is told (its reading is what the ledger counts)."""

    caps = QUASAR_CAPS

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def read(self) -> ChargerReading:
        return ChargerReading(self.clock(), 2000.0, True, True, 50.0, 1, 0)

    async def take_control(self, watchdog_s: int) -> None:
        pass

    async def set_power(self, watts: float) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def release(self) -> None:
        pass

    async def close(self) -> None:
        pass


def controller(tmp_path, *overrides: str) -> tuple[Controller, Clock, Clock]:
    mono, wall = Clock(1000.0), Clock(M + 0.5)
    cfg = config.defaults((f"ledger.path={tmp_path / 'ledger.db'}", *overrides))
    ctl = Controller(cfg, FakeMeter(mono), FakeCharger(mono), clock=mono)
    ctl.wall = wall
    return ctl, mono, wall


async def test_controller_ledger_books_each_cycle_and_flushes_on_shutdown(tmp_path):
    """130 cycles from M+0.5: two whole minutes committed while running, the third written
    by shutdown; 2 kW charging under 300 W import, at the injected prices."""
    ctl, mono, wall = controller(tmp_path)
    ctl.price_at = lambda t: (0.31, 0.07)
    for _ in range(130):
        await ctl.cycle()
        mono.t += 1.0
        wall.t += 1.0
    assert ctl.ledger.drain()
    db = connect(tmp_path / "ledger.db", readonly=True)
    assert [r[0] for r in db.execute("SELECT minute_utc FROM minutes")] == [M, M + 60]
    await ctl.shutdown()
    rows = db.execute("SELECT minute_utc, grid_to_car, pv_to_car, import_eur_kwh, "
                      "export_eur_kwh, covered_s FROM minutes ORDER BY 1").fetchall()
    db.close()
    assert [r[0] for r in rows] == [M, M + 60, M + 120]
    assert sum(r[5] for r in rows) == pytest.approx(129.0)
    assert sum(r[1] for r in rows) == pytest.approx(300.0 * 129 / 3600)
    assert sum(r[2] for r in rows) == pytest.approx(1700.0 * 129 / 3600)
    assert {(r[3], r[4]) for r in rows} == {(0.31, 0.07)}


async def test_controller_ledger_skips_stale_meter(tmp_path):
    """A meter reading older than meter_stale_s: the cycle's sample is skipped, counted."""
    ctl, mono, wall = controller(tmp_path)
    await ctl.cycle()

    async def silent() -> MeterReading:
        raise DeviceError("meter", "timeout")

    ctl.meter.driver.read = silent  # type: ignore[method-assign]  # a meter gone silent
    for _ in range(5):
        mono.t += 1.0
        wall.t += 1.0
        await ctl.cycle()
    assert ctl.ledger.skipped == 3  # stale after 2.5 s
    await ctl.shutdown()


async def test_controller_ledger_price_at_failure_does_not_stop_the_loop(tmp_path):
    """A price source that raises: the fault is logged, the cycle completes."""
    ctl, mono, wall = controller(tmp_path)

    def broken(t: float):
        raise RuntimeError("no prices")

    ctl.price_at = broken
    await ctl.cycle()
    assert "ledger" in ctl.faults
    ctl.price_at = lambda t: None
    mono.t += 1.0
    await ctl.cycle()
    assert "ledger" not in ctl.faults  # and the fault's end is logged once
    await ctl.shutdown()


def test_controller_ledger_disabled(tmp_path):
    """ledger.enabled = false: no ledger, no file."""
    ctl, _, _ = controller(tmp_path, "ledger.enabled=false")
    assert ctl.ledger is None and not (tmp_path / "ledger.db").exists()


def test_controller_ledger_default_path_is_the_state_directory(tmp_path, monkeypatch):
    """No path in the config: $STATE_DIRECTORY/ledger.db (systemd's StateDirectory)."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    cfg = config.defaults()
    mono = Clock(0.0)
    ctl = Controller(cfg, FakeMeter(mono), FakeCharger(mono), clock=mono)
    assert ctl.ledger is not None and ctl.ledger.path == tmp_path / "state" / "ledger.db"
    ctl.ledger.close()


async def test_controller_prices_minutes_by_a_double_tariff(tmp_path):
    """A double tariff: M is Wednesday 18 November 2026 12:07 CET (normal hours), so every
    row of the run carries (0.13 + 0.10154) x 1.21 and the feed-in side, without a price
    source (no feed at all)."""
    ctl, mono, wall = controller(tmp_path, "tariff.contract=double",
                                 "tariff.normal_eur_kwh=0.13", "tariff.low_eur_kwh=0.10",
                                 "tariff.feed_in_fee_eur_kwh=0.02")
    assert ctl.feed is None
    for _ in range(70):
        await ctl.cycle()
        mono.t += 1.0
        wall.t += 1.0
    await ctl.shutdown()
    db = connect(tmp_path / "ledger.db", readonly=True)
    rows = db.execute("SELECT import_eur_kwh, export_eur_kwh FROM minutes").fetchall()
    db.close()
    assert len(rows) == 2
    assert rows == [pytest.approx(((0.13 + 0.10154) * 1.21, 0.02))] * 2
