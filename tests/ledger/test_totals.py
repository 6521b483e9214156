"""The car's lifetime energy from the ledger: what Home Assistant's `total_increasing`
counters continue from after a restart (issue #10, point 10.3)."""

from __future__ import annotations

import time

import pytest

from controller.ledger import COLUMNS, FLOWS, Ledger, connect, lifetime_totals, state_dir
from tests.ledger.test_store import M, feed


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ledger.db"


def test_lifetime_totals_sum_every_minute(path):
    """Charged = pv_to_car + grid_to_car, discharged = car_to_house + car_to_grid, all rows."""
    led = Ledger(path)
    t = feed(led, M, 121, grid_w=500.0, ev_w=3000.0)  # 2 min charging at 3 kW
    feed(led, t + 1, 61, grid_w=-200.0, ev_w=-1200.0)  # then 1 min discharging at 1.2 kW
    assert led.close()
    charged, discharged = lifetime_totals(path)
    assert charged == pytest.approx(3000.0 * 120 / 3600.0, abs=1.0)
    assert discharged == pytest.approx(1200.0 * 60 / 3600.0, abs=1.0)


def test_lifetime_totals_of_an_empty_ledger_are_zero(path):
    """A new ledger: (0, 0), not None."""
    Ledger(path).close()
    assert lifetime_totals(path) == (0.0, 0.0)


def test_ledger_car_wh_continues_across_a_restart(path):
    """A reopened ledger starts its committed counters at the file's totals, and they grow
    only with what is on disk: a restart never reads back less than was published."""
    led = Ledger(path)
    feed(led, M, 181, ev_w=3000.0)
    assert led.drain()
    published = led.car_wh  # the minutes committed so far (the open one is not)
    assert published[0] == pytest.approx(3000.0 * 180 / 3600.0, abs=1.0)
    led.close()
    again = Ledger(path)
    try:
        assert again.car_wh == pytest.approx(lifetime_totals(path))
        assert again.car_wh[0] >= published[0] and again.car_wh[1] >= published[1]
        feed(again, M + 600, 121, ev_w=-2000.0)  # two minutes later: 2 min at -2 kW
        assert again.drain()
        assert again.car_wh[1] == pytest.approx(published[1] + 2000.0 * 120 / 3600.0, abs=1.0)
    finally:
        again.close()


def test_lifetime_totals_of_a_year_of_minutes_is_fast(path):
    """525 600 rows (a year of minutes): summed in well under a second, once at start."""
    db = connect(path)
    row = [0.0] * (len(COLUMNS) - 1)
    row[FLOWS.index("grid_to_car")] = 1.0
    row[FLOWS.index("car_to_house")] = 2.0
    db.execute("BEGIN")
    db.executemany(f"INSERT INTO minutes ({', '.join(COLUMNS)}) VALUES "
                   f"({', '.join('?' * len(COLUMNS))})",
                   ((M + 60 * i, *row) for i in range(525_600)))
    db.execute("COMMIT")
    db.close()
    t0 = time.perf_counter()
    charged, discharged = lifetime_totals(path)
    took = time.perf_counter() - t0
    assert (charged, discharged) == (525_600.0, 2 * 525_600.0)
    print(f"lifetime_totals over a year of minutes: {took * 1000:.0f} ms")
    assert took < 0.5, f"{took * 1000:.0f} ms"


def test_state_dir_is_the_ledgers_directory(monkeypatch, tmp_path):
    """The ledger's default file sits in state_dir(); $STATE_DIRECTORY wins (systemd)."""
    from controller.ledger import default_path

    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "s"))
    assert state_dir() == tmp_path / "s" and default_path() == tmp_path / "s" / "ledger.db"
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "x"))
    assert state_dir() == tmp_path / "x" / "v2h"
