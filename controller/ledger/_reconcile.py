"""The ledger's minutes against the charger's own energy counters, where the charger has
them (its driver declares `energy_counters`): the car's energy the ledger integrated from
the charger's power, beside the counters' increase over the same minutes.

Only runs of consecutive minutes with counters at both ends are compared: a counter read at
the end of minute m-1 and at the end of minute m brackets exactly minute m's flows. A gap
(no counters, the controller down) starts a new run; what happened in it is not guessed."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ._flows import FLOWS
from ._store import connect


@dataclass(frozen=True)
class Reconciliation:
    """Over the minutes compared: the ledger's car energy and the counters' (Wh), each
    way, and how many minutes were compared."""

    minutes: int
    ledger_charged_wh: float
    ledger_discharged_wh: float
    counter_charged_wh: float
    counter_discharged_wh: float

    @property
    def charged_diff_wh(self) -> float:
        return self.ledger_charged_wh - self.counter_charged_wh

    @property
    def discharged_diff_wh(self) -> float:
        return self.ledger_discharged_wh - self.counter_discharged_wh


def _rows(db: sqlite3.Connection, a: int, b: int) -> list[tuple[int, float, float, float,
                                                                float]]:
    """(minute, ledger charged, ledger discharged, counter charged, counter discharged)."""
    f = FLOWS
    cur = db.execute(
        f"SELECT minute_utc, {f[0]} + {f[1]}, {f[2]} + {f[3]}, charger_charged_wh, "
        "charger_discharged_wh FROM minutes WHERE minute_utc >= ? AND minute_utc < ? "
        "ORDER BY minute_utc", (a, b))
    return list(cur.fetchall())


def reconcile(path: str | Path, since_utc: int = 0, until_utc: int = 2**62
              ) -> Reconciliation:
    """The ledger at `path` over [since_utc, until_utc) against the counters it recorded."""
    db = connect(path, readonly=True)
    try:
        rows = _rows(db, since_utc, until_utc)
    finally:
        db.close()
    n = 0
    lc = ld = cc = cd = 0.0
    prev: tuple[int, float, float, float, float] | None = None
    for row in rows:
        m, chg, dis, c_chg, c_dis = row
        if (prev is not None and m == prev[0] + 60 and _ok(prev[3], prev[4])
                and _ok(c_chg, c_dis) and c_chg >= prev[3] and c_dis >= prev[4]):
            n += 1
            lc += chg
            ld += dis
            cc += c_chg - prev[3]
            cd += c_dis - prev[4]
        prev = row
    return Reconciliation(n, lc, ld, cc, cd)


def _ok(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
