"""The energy ledger: one SQLite row per UTC minute with the six flows (Wh), the prices of
that minute and the charger's own counters, written so that a crash loses at most the
minute being written (firmware_notes/ledger.md).

The control loop only adds numbers to the open minute in memory (`add`, microseconds). When a
minute closes, its row goes to one worker thread that owns the connection and commits it in
its own transaction (WAL, synchronous=FULL: on disk when the commit returns). A commit never
holds up the loop, however slow the storage; a failed commit is kept and retried with the
next one."""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller._files import create_private, narrow, sidecars

from ._flows import FLOWS, split

if TYPE_CHECKING:  # for the annotations only: the ledger runs without the config package
    from controller.config._schema import Ledger as LedgerConfig

Row = tuple[Any, ...]  # one minute's row of the ledger table, in its column order

log = logging.getLogger("v2h.ledger")

SCHEMA_VERSION = 1  # PRAGMA user_version
COUNTERS = ("charger_charged_wh", "charger_discharged_wh")
COLUMNS = ("minute_utc", *FLOWS, "import_eur_kwh", "export_eur_kwh", *COUNTERS, "covered_s",
           "first_utc", "last_utc", "samples", "skipped")
_SCHEMA = f"""
CREATE TABLE minutes (
    minute_utc INTEGER PRIMARY KEY,  -- start of the UTC minute, Unix s (a multiple of 60)
    {", ".join(f"{f} REAL NOT NULL DEFAULT 0" for f in FLOWS)},  -- Wh
    import_eur_kwh REAL,             -- the minute's prices, NULL when unknown
    export_eur_kwh REAL,
    charger_charged_wh REAL,         -- the charger's own counters at the end of the minute
    charger_discharged_wh REAL,      -- (Wh), NULL when the charger has none
    covered_s REAL NOT NULL DEFAULT 0,  -- seconds of this minute the flows cover
    first_utc REAL,                  -- the covered span's first and last instant (Unix s)
    last_utc REAL,
    samples INTEGER NOT NULL DEFAULT 0,  -- samples taken, and bad ones skipped
    skipped INTEGER NOT NULL DEFAULT 0
)"""
# the same minute written again (a restart within it, or a retried commit) adds up
_UPSERT = (
    f"INSERT INTO minutes ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT(minute_utc) DO UPDATE SET "
    + ", ".join(f"{f} = {f} + excluded.{f}" for f in (*FLOWS, "covered_s", "samples",
                                                      "skipped"))
    + ", import_eur_kwh = COALESCE(import_eur_kwh, excluded.import_eur_kwh)"
    + ", export_eur_kwh = COALESCE(export_eur_kwh, excluded.export_eur_kwh)"
    + "".join(f", {c} = COALESCE(excluded.{c}, {c})" for c in COUNTERS)
    + ", first_utc = min(COALESCE(first_utc, excluded.first_utc),"
      " COALESCE(excluded.first_utc, first_utc))"
    + ", last_utc = max(COALESCE(last_utc, excluded.last_utc),"
      " COALESCE(excluded.last_utc, last_utc))")
MAX_W = 1.0e6  # a power beyond this is garbage, not a sample
CONTIGUOUS_S = 0.5  # a sample this close to where the previous one ended continues it


class LedgerError(Exception):
    """The ledger file cannot be used (not a ledger, or from a newer v2h)."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        super().__init__(f"{path}: {what}")


def state_dir() -> Path:
    """v2h's state directory: systemd's StateDirectory ($STATE_DIRECTORY, /var/lib/v2h under
    the shipped unit), else $XDG_STATE_HOME/v2h or ~/.local/state/v2h. The ledger and the
    owner's settings (controller/_owner.py) live here unless the config says otherwise."""
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "v2h"


def default_path() -> Path:
    """Where the ledger lives when the config does not say: state_dir()/ledger.db."""
    return state_dir() / "ledger.db"


def connect(path: str | os.PathLike[str], readonly: bool = False) -> sqlite3.Connection:
    """A connection to the ledger at `path`, the schema created or checked (WAL mode,
    synchronous=FULL). Read-only connections never create anything."""
    p = Path(path)
    if readonly:
        if not p.is_file():
            raise FileNotFoundError(2, "no ledger here", str(p))
        db = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=5.0)
    else:
        p.parent.mkdir(parents=True, exist_ok=True)
        # 0600 before SQLite sees it: SQLite gives its -wal and -shm the database's mode
        create_private(p)
        for f in sidecars(p):
            narrow(f)
        db = sqlite3.connect(p, timeout=5.0, isolation_level=None)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LedgerError(p, f"schema version {version} is newer than this v2h's "
                                 f"({SCHEMA_VERSION})")
        if readonly:
            if version != SCHEMA_VERSION:
                raise LedgerError(p, "not a v2h ledger (no schema)")
            return db
        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
            raise LedgerError(p, "WAL journal mode refused")
        db.execute("PRAGMA synchronous=FULL")
        if version == 0:
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise LedgerError(p, "not a v2h ledger (other tables, no schema version)")
            db.execute("BEGIN IMMEDIATE")
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise LedgerError(p, f"not a v2h ledger ({exc})") from exc
    except BaseException:
        db.close()
        raise
    return db


_CAR_SUMS = ("SELECT COALESCE(SUM(pv_to_car + grid_to_car), 0.0),"
             " COALESCE(SUM(car_to_house + car_to_grid), 0.0) FROM minutes")


def _car_sums(db: sqlite3.Connection) -> tuple[float, float]:
    charged, discharged = db.execute(_CAR_SUMS).fetchone()
    return float(charged), float(discharged)


def lifetime_totals(path: str | os.PathLike[str]) -> tuple[float, float]:
    """(charged_wh, discharged_wh): the car's energy at home over the whole ledger, as
    Home Assistant's `total_increasing` counters continue it across restarts. One pass
    over the table (a year of minutes: tens of ms)."""
    db = connect(path, readonly=True)
    try:
        return _car_sums(db)
    finally:
        db.close()


def _car_wh(row: Row) -> tuple[float, float]:
    """(charged, discharged) Wh of one row (the flows follow minute_utc in FLOWS order)."""
    return row[1] + row[2], row[3] + row[4]


@dataclass
class _Minute:
    """One UTC minute being summed in memory."""

    minute_utc: int
    wh: list[float] = field(default_factory=lambda: [0.0] * len(FLOWS))
    prices: tuple[float | None, float | None] = (None, None)
    counters: tuple[float | None, float | None] = (None, None)
    covered_s: float = 0.0
    first_utc: float | None = None
    last_utc: float | None = None
    samples: int = 0
    skipped: int = 0

    def span(self, a: float, b: float) -> None:
        self.first_utc = a if self.first_utc is None else min(self.first_utc, a)
        self.last_utc = b if self.last_utc is None else max(self.last_utc, b)

    def row(self) -> Row:
        return (self.minute_utc, *self.wh, *self.prices, *self.counters, self.covered_s,
                self.first_utc, self.last_utc, self.samples, self.skipped)


def _num(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _merge(old: Row, new: Row) -> Row:
    """Two rows of the same minute as one (what the upsert does in SQL)."""
    n = len(FLOWS)
    wh = [a + b for a, b in zip(old[1:1 + n], new[1:1 + n])]
    i = 1 + n
    prices = [a if a is not None else b for a, b in zip(old[i:i + 2], new[i:i + 2])]
    counters = [b if b is not None else a for a, b in zip(old[i + 2:i + 4], new[i + 2:i + 4])]
    cov, f0, l0, s0, k0 = old[i + 4:]
    cov1, f1, l1, s1, k1 = new[i + 4:]
    first = min((x for x in (f0, f1) if x is not None), default=None)
    last = max((x for x in (l0, l1) if x is not None), default=None)
    return (old[0], *wh, *prices, *counters, cov + cov1, first, last, s0 + s1, k0 + k1)


class Ledger:
    """The energy ledger of one running controller. `add` once per control cycle; `flush`
    (or `close`) on shutdown writes the minute still open. Never raises from `add`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="v2h.ledger.writer")
        try:
            # the connection belongs to the worker thread: opened, used and closed there
            self._db: sqlite3.Connection = self._pool.submit(connect, self.path).result(10.0)
            self._car = self._pool.submit(_car_sums, self._db).result(10.0)
        except BaseException:
            self._pool.shutdown(wait=False)
            raise
        self._open: dict[int, _Minute] = {}
        self._prev: tuple[float, float, float] | None = None  # (t_utc, grid_w, ev_w)
        self._futures: list[Future[None]] = []
        self._unsaved: dict[int, Row] = {}  # the worker's: rows whose commit failed
        self.skipped = 0  # bad samples (NaN, out of range) since start
        self.commits = 0
        self.failed_commits = 0
        self.commit_ms: list[float] = []  # the last 1000 commits' durations (ms)
        self._failing = False
        self._closed = False

    @property
    def car_wh(self) -> tuple[float, float]:
        """(charged_wh, discharged_wh) of the car over the whole ledger as committed: what a
        restart, even after a crash, reads back with lifetime_totals(), so a counter built on
        it never goes back (the open minute joins it when its row is on disk)."""
        return self._car

    # -- the loop's side: memory only ----------------------------------------------------
    def add(self, t_utc: float, dt_s: float, grid_w: float, ev_w: float,
            prices: tuple[float, float] | None = None,
            counters: tuple[float, float] | None = None) -> None:
        """One sample at UTC time t_utc (Unix s): grid and car power (W, signed as
        firmware_notes/design.md "Signs and units" says), covering the dt_s seconds before
        it; the prices (€/kWh import, export) in force, and the charger's energy counters (Wh
        charged, discharged) when it has them."""
        if self._closed:
            return
        if not (math.isfinite(t_utc) and math.isfinite(dt_s) and 0.0 <= dt_s <= 3600.0
                and math.isfinite(grid_w) and math.isfinite(ev_w)
                and abs(grid_w) < MAX_W and abs(ev_w) < MAX_W):
            self.skipped += 1
            self._prev = None
            if math.isfinite(t_utc):
                self._minute(int(t_utc // 60) * 60).skipped += 1
            return
        g, e = grid_w, ev_w
        prev = self._prev
        if prev is not None and abs(prev[0] - (t_utc - dt_s)) < CONTIGUOUS_S:
            g, e = (prev[1] + grid_w) / 2.0, (prev[2] + ev_w) / 2.0  # trapezoid
        self._prev = (t_utc, grid_w, ev_w)
        flows = split(g, e)
        a = t_utc - dt_s
        while a < t_utc:  # the interval spread over the minutes it touches
            m = int(a // 60) * 60
            b = min(t_utc, m + 60.0)
            acc = self._minute(m)
            k = (b - a) / 3600.0
            for i, p in enumerate(flows):
                acc.wh[i] += p * k
            acc.covered_s += b - a
            acc.span(a, b)
            a = b
        now = int(t_utc // 60) * 60
        acc = self._minute(now)
        acc.samples += 1
        acc.span(t_utc, t_utc)
        if prices is not None and acc.prices == (None, None):
            acc.prices = (_num(prices[0]), _num(prices[1]))
        if counters is not None:
            acc.counters = (_num(counters[0]), _num(counters[1]))
        for m in [m for m in self._open if m != now]:
            self._submit([self._open.pop(m).row()])

    def _minute(self, m: int) -> _Minute:
        acc = self._open.get(m)
        if acc is None:
            acc = self._open[m] = _Minute(m)
        return acc

    def _submit(self, rows: list[Row]) -> None:
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._pool.submit(self._commit, rows))

    # -- the worker's side ---------------------------------------------------------------
    def _commit(self, rows: Iterable[Row]) -> None:
        for r in rows:
            old = self._unsaved.get(r[0])
            self._unsaved[r[0]] = r if old is None else _merge(old, r)
        t0 = time.perf_counter()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(_UPSERT, list(self._unsaved.values()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self.failed_commits += 1
            if not self._failing:
                log.error("fault start ledger_write %s (%d minute(s) kept in memory)",
                          exc, len(self._unsaved))
                self._failing = True
            return
        self.commit_ms.append((time.perf_counter() - t0) * 1000.0)
        del self.commit_ms[:-1000]
        car = [_car_wh(r) for r in self._unsaved.values()]
        self._car = (self._car[0] + sum(c for c, _ in car),  # one assignment: the loop
                     self._car[1] + sum(d for _, d in car))  # reads it from its thread
        self.commits += 1
        self._unsaved.clear()
        if self._failing:
            log.info("fault end ledger_write")
            self._failing = False

    def _close_db(self) -> None:
        self._db.close()

    # -- shutdown --------------------------------------------------------------------------
    def drain(self, timeout_s: float = 3.0) -> bool:
        """Wait until every minute handed to the worker is committed (or failed)."""
        deadline = time.monotonic() + timeout_s
        for f in list(self._futures):
            try:
                f.result(max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                return False
        return True

    def flush(self, timeout_s: float = 3.0) -> bool:
        """Write the minutes still open (the partial one too) and wait for the commit; a
        later sample of the same minute adds to that row. True when all is on disk."""
        if self._closed:
            return True
        if self._open:
            self._submit([acc.row() for acc in self._open.values()])
            self._open.clear()
        self._prev = None
        ok = self.drain(timeout_s)
        return ok and not self._unsaved

    def close(self, timeout_s: float = 3.0) -> bool:
        """Flush, then close the database; bounded by timeout_s. True when all was saved."""
        ok = self.flush(timeout_s)
        if self._closed:
            return ok
        self._closed = True
        if self._unsaved:
            log.error("ledger: %d minute(s) could not be written", len(self._unsaved))
        fut = self._pool.submit(self._close_db)
        try:
            fut.result(timeout_s)
        except FutureTimeout:
            ok = False
        self._pool.shutdown(wait=False)
        return ok


def path_of(section: LedgerConfig) -> Path:
    """The ledger file a config's [ledger] section names (default_path() when empty)."""
    return Path(section.path).expanduser() if section.path else default_path()


def from_config(section: LedgerConfig) -> Ledger | None:
    """The ledger a config asks for, or None when it is disabled or cannot be opened (logged:
    the controller runs on without it)."""
    if not section.enabled:
        return None
    path = path_of(section)
    try:
        led = Ledger(path)
    except (OSError, sqlite3.Error, LedgerError, FutureTimeout) as exc:
        log.error("ledger: cannot open %s (%s); running without a ledger", path, exc)
        return None
    log.info("ledger: %s", path)
    return led


def demand_history(path: str | os.PathLike[str], since_utc: float
                   ) -> list[tuple[int, float, float]]:
    """The house's demand (load − PV) per minute since `since_utc`: (minute_utc, Wh, covered
    s). From the flows: what grid and car gave the house, less what PV gave grid and car."""
    db = connect(path, readonly=True)
    try:
        return [(int(m), float(wh), float(cov)) for m, wh, cov in db.execute(
            "SELECT minute_utc, grid_to_house + car_to_house - pv_to_grid - pv_to_car,"
            " covered_s FROM minutes WHERE minute_utc >= ? AND covered_s > 0"
            " ORDER BY minute_utc", (int(since_utc),))]
    finally:
        db.close()
