"""The expected house demand (load - PV, W) per 15-minute slot of the day, learnt from what
the meter and the charger saw on recent days."""

from __future__ import annotations

import math

from ._model import SLOT_S

SLOTS_PER_DAY = 86_400 // SLOT_S


class Forecaster:
    """Per slot of the (UTC) day, an exponentially weighted mean over recent days: `weight`
    0.3 gives the last day 30 %, the one before 21 %, ... A slot never seen yet is expected at
    `default_w`. (UTC, not local time: a daylight-saving change shifts the profile by an hour
    for a few days, which the weighting soon forgets.)"""

    def __init__(self, default_w: float = 400.0, weight: float = 0.3) -> None:
        self.default_w = default_w
        self.weight = weight
        self.mean_w: list[float | None] = [None] * SLOTS_PER_DAY
        self._slot: int | None = None
        self._sum = 0.0
        self._dt = 0.0

    def observe(self, t_utc: float, net_w: float, dt_s: float) -> None:
        """One measurement of the house demand (W) over dt_s seconds ending at t_utc."""
        if not (math.isfinite(net_w) and math.isfinite(t_utc)) or dt_s <= 0.0:
            return
        slot = int((t_utc - 0.5 * dt_s) // SLOT_S)  # where the interval mostly lies
        if slot != self._slot:
            self._close()
            self._slot = slot
        self._sum += net_w * dt_s
        self._dt += dt_s

    def _close(self) -> None:
        if self._slot is not None and self._dt >= 0.5 * SLOT_S:
            k = self._slot % SLOTS_PER_DAY
            x = self._sum / self._dt
            old = self.mean_w[k]
            self.mean_w[k] = x if old is None else old + self.weight * (x - old)
        self._sum = self._dt = 0.0

    def learn_slots(self, start_utc: float, net_w: list[float]) -> None:
        """Whole slots of history at once (W, slot means from start_utc)."""
        for i, x in enumerate(net_w):
            self.observe(start_utc + i * SLOT_S + SLOT_S - 1, x, SLOT_S)
        self._close()
        self._slot = None

    def learn_minutes(self, rows: list[tuple[int, float, float]]) -> int:
        """History by the minute: (minute_utc, Wh, seconds covered), oldest first, as the
        ledger keeps it. Returns the number of slots learnt."""
        slots: dict[int, list[float]] = {}
        for minute, wh, covered in rows:
            if covered > 0.0 and math.isfinite(wh):
                acc = slots.setdefault(int(minute // SLOT_S), [0.0, 0.0])
                acc[0] += wh * 3600.0
                acc[1] += covered
        n = 0
        for slot in sorted(slots):
            ws, cov = slots[slot]
            if cov >= 0.5 * SLOT_S:
                self.observe(slot * SLOT_S + SLOT_S, ws / cov, cov)
                n += 1
        self._close()
        self._slot = None
        return n

    def forecast(self, start_utc: float, n: int) -> list[float]:
        """Expected demand (W) for n slots from the slot holding start_utc."""
        first = int(start_utc // SLOT_S)
        out = []
        for i in range(n):
            v = self.mean_w[(first + i) % SLOTS_PER_DAY]
            out.append(self.default_w if v is None else v)
        return out
