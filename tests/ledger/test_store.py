"""The ledger's store: minute rows, rollover and commit, crash semantics, restarts."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from controller.ledger import (
    FLOWS,
    SCHEMA_VERSION,
    Ledger,
    LedgerError,
    connect,
    demand_history,
)

M = 1_795_000_020 // 60 * 60  # a minute start (Unix s)


def rows(path: Path) -> list[dict]:
    db = connect(path, readonly=True)
    try:
        cur = db.execute("SELECT * FROM minutes ORDER BY minute_utc")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        db.close()


def feed(led: Ledger, t0: float, n: int, grid_w: float = 500.0, ev_w: float = 3000.0,
         prices=None) -> float:
    """n samples a second from t0 (the first, as after a start, covers nothing); the last t."""
    for i in range(n):
        led.add(t0 + i, 1.0 if i else 0.0, grid_w, ev_w, prices)
    return t0 + n - 1


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ledger.db"


def test_ledger_schema_is_versioned_and_wal(path):
    """A new ledger: WAL journal, user_version = SCHEMA_VERSION, one minutes table."""
    Ledger(path).close()
    db = connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_ledger_refuses_a_newer_schema(path):
    """A ledger from a newer v2h is not written to."""
    Ledger(path).close()
    db = connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(LedgerError, match="newer"):
        Ledger(path)


def test_ledger_refuses_a_foreign_file(path):
    """A file that is not a database is not a ledger."""
    path.write_text("hello\n" * 100)
    with pytest.raises(LedgerError):
        Ledger(path)


def test_ledger_commits_a_minute_when_it_closes(path):
    """The minute is on disk once the first sample of the next one arrives; not before."""
    led = Ledger(path)
    feed(led, M + 1, 59, prices=(0.30, 0.10))  # samples at M+1..M+59
    assert led.drain() and rows(path) == []
    led.add(M + 60.5, 1.0, 500.0, 3000.0, (0.30, 0.10))
    assert led.drain()
    (r,) = rows(path)
    assert r["minute_utc"] == M
    assert r["covered_s"] == pytest.approx(58.5)  # (M+1, M+59] and the boundary's 0.5 s
    assert r["grid_to_car"] == pytest.approx(500.0 * 58.5 / 3600)
    assert r["pv_to_car"] == pytest.approx(2500.0 * 58.5 / 3600)
    assert (r["import_eur_kwh"], r["export_eur_kwh"]) == (0.30, 0.10)
    assert (r["first_utc"], r["last_utc"]) == (M + 1, M + 60)
    assert r["samples"] == 59
    led.close()


def test_ledger_flush_writes_the_open_minute(path):
    """flush() (the SIGTERM path) writes the partial minute, its prices unknown (NULL)."""
    led = Ledger(path)
    feed(led, M + 10, 20, grid_w=-1000.0, ev_w=-3000.0)
    assert led.close()
    (r,) = rows(path)
    assert r["car_to_grid"] == pytest.approx(1000.0 * 19 / 3600)
    assert r["car_to_house"] == pytest.approx(2000.0 * 19 / 3600)
    assert r["import_eur_kwh"] is None and r["export_eur_kwh"] is None


def test_ledger_restart_adds_to_the_same_minute(path):
    """Two runs in one minute: the row holds the sum, the span covers both."""
    led = Ledger(path)
    feed(led, M + 5, 11)
    led.close()
    led = Ledger(path)
    feed(led, M + 30, 11)
    led.close()
    (r,) = rows(path)
    assert r["covered_s"] == pytest.approx(20.0)
    assert r["samples"] == 22
    assert r["grid_to_car"] == pytest.approx(500.0 * 20 / 3600)
    assert (r["first_utc"], r["last_utc"]) == (M + 5, M + 40)


def test_ledger_skips_nan_and_garbage(path):
    """NaN, inf and absurd powers are counted and skipped; the next sample starts afresh."""
    led = Ledger(path)
    feed(led, M + 1, 5)
    led.add(M + 6, 1.0, math.nan, 3000.0)
    led.add(M + 7, 1.0, 500.0, math.inf)
    led.add(M + 8, 1.0, 5e9, 0.0)
    led.add(math.nan, 1.0, 0.0, 0.0)
    feed(led, M + 9, 5)
    assert led.skipped == 4
    led.close()
    (r,) = rows(path)
    assert r["skipped"] == 3
    assert r["covered_s"] == pytest.approx(8.0)  # 4 + 4 good seconds


def test_ledger_integrates_by_trapezoid(path):
    """A ramp 0 -> 3600 W over one second counts 0.5 Wh, not 1 Wh."""
    led = Ledger(path)
    led.add(M + 1, 0.0, 0.0, 0.0)
    led.add(M + 2, 1.0, 3600.0, 3600.0)
    led.close()
    (r,) = rows(path)
    assert r["grid_to_car"] == pytest.approx(0.5)


def test_ledger_add_never_waits_for_a_slow_disk(path, monkeypatch):
    """A disk that stalls every commit until released: add() stays under 5 ms meanwhile,
    and the minutes land once the disk answers."""
    led = Ledger(path)
    slow = led._commit
    disk = threading.Event()

    def commit(rs):
        assert disk.wait(10.0), "the test never released the disk"
        slow(rs)

    monkeypatch.setattr(led, "_commit", commit)
    worst = 0.0
    for i in range(130):  # two rollovers, both commits stalled
        t0 = time.perf_counter()
        led.add(M + 30 + i, 1.0, 100.0, 1000.0)
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.005
    disk.set()
    assert led.close(5.0)
    assert len(rows(path)) == 3


CRASH = """
import os, signal, sys
from controller.ledger import Ledger
led = Ledger(sys.argv[1])
t0 = float(sys.argv[2])
for i in range(210):  # three full minutes and half of the fourth
    led.add(t0 + i, 1.0, 800.0, 2000.0, (0.25, 0.05))
led.drain()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_ledger_sigkill_loses_only_the_open_minute(path):
    """A process killed mid-minute: the three closed minutes are on disk, whole."""
    p = subprocess.run([sys.executable, "-c", CRASH, str(path), str(M + 1)], timeout=60,
                       cwd=Path(__file__).parents[2])
    assert p.returncode == -signal.SIGKILL
    rs = rows(path)
    assert [r["minute_utc"] for r in rs] == [M, M + 60, M + 120]
    assert [r["covered_s"] for r in rs] == pytest.approx([60.0, 60.0, 60.0])
    assert sum(r["grid_to_car"] for r in rs) == pytest.approx(800.0 * 180 / 3600)


def test_ledger_dropped_without_flush_keeps_closed_minutes(path):
    """A ledger abandoned without flush (a crash in-process) still has its closed minutes."""
    led = Ledger(path)
    feed(led, M + 1, 150)
    assert led.drain()
    rs = rows(path)  # another connection, as after a restart
    assert [r["minute_utc"] for r in rs] == [M, M + 60]
    led.close()


def test_ledger_flow_columns_are_the_flows(path):
    """The table's Wh columns are FLOWS, so reports and SQL agree on names."""
    Ledger(path).close()
    db = connect(path, readonly=True)
    cols = [r[1] for r in db.execute("PRAGMA table_info(minutes)")]
    db.close()
    assert cols[1:7] == list(FLOWS)


def test_ledger_demand_history_is_load_minus_pv(path):
    """The house's demand per minute (grid - car) comes back out for the forecast: a house
    importing 1 kW while the car charges 3 kW from 2 kW of PV surplus shows 1 kW - 3 kW."""
    led = Ledger(path)
    t0 = 1_765_843_200.0  # a minute boundary
    for s in range(121):
        led.add(t0 + s, 1.0 if s else 0.0, 1000.0, 3000.0)
    assert led.close(5.0)
    rows = demand_history(path, t0)
    assert [m for m, _, _ in rows][:2] == [int(t0), int(t0) + 60]
    for _, wh, covered in rows[:2]:
        assert covered == pytest.approx(60.0)
        assert wh * 3600.0 / covered == pytest.approx(-2000.0, abs=1e-6)


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def test_ledger_files_are_private(path):
    """Under a permissive umask the ledger, its -wal and its -shm are still 0600."""
    old = os.umask(0o022)
    try:
        led = Ledger(path)
        feed(led, 1_700_000_000.0, 130)
        led.flush()
        names = {p.name: _mode(p) for p in path.parent.iterdir()}
        led.close()
    finally:
        os.umask(old)
    assert names == {"ledger.db": 0o600, "ledger.db-wal": 0o600, "ledger.db-shm": 0o600}


def test_ledger_narrows_an_old_files_mode(path):
    """A ledger left world-readable by an older v2h is made 0600 when opened."""
    Ledger(path).close()
    for p in (path, path.with_name("ledger.db-wal"), path.with_name("ledger.db-shm")):
        if not p.exists():
            p.touch()
        p.chmod(0o644)
    led = Ledger(path)
    try:
        assert {p.name: _mode(p) for p in path.parent.iterdir()} == {
            "ledger.db": 0o600, "ledger.db-wal": 0o600, "ledger.db-shm": 0o600}
    finally:
        led.close()
