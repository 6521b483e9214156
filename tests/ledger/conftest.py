"""Hand-made ledgers: rows written straight into the table, every figure known."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from controller.ledger import COLUMNS, FLOWS, Ledger, connect


def utc(*a: int) -> int:
    return int(datetime(*a, tzinfo=UTC).timestamp())


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """A ledger at `path` with these rows: each a dict with `minute_utc` and any columns
    (flows default to 0, prices and counters to NULL, a full minute covered)."""
    Ledger(path).close()
    db = connect(path)
    for r in rows:
        vals = {c: None for c in COLUMNS} | {f: 0.0 for f in FLOWS}
        vals |= {"covered_s": 60.0, "samples": 60, "skipped": 0} | r
        db.execute(f"INSERT INTO minutes VALUES ({','.join('?' * len(COLUMNS))})",
                   [vals[c] for c in COLUMNS])
    db.close()
    return path


@pytest.fixture
def ledger_of(tmp_path: Path) -> Callable[[Iterable[dict[str, Any]]], Path]:
    """Makes a hand-made ledger in the test's directory."""
    return lambda rows: write_rows(tmp_path / "ledger.db", rows)
