"""What the loop counts besides control: the car's energy at home (Wh, from the charger's
reading, cycle by cycle) and one sample a cycle into the energy ledger. Whatever goes wrong
here, control carries on."""

from __future__ import annotations

import math
from collections.abc import Callable

from controller import ledger
from controller.config import Config

# a charger reading older than this (s) is not counted: the energy in a gap is not guessed
FRESH_S = 2.0


class Accounts:
    """Energy counters (Wh) and the ledger's per-cycle samples."""

    def __init__(self, cfg: Config, wall: Callable[[], float],
                 fault: Callable[..., None]) -> None:
        self.cfg = cfg
        self.wall = wall
        self._fault = fault
        self.charged_wh = 0.0
        self.discharged_wh = 0.0
        self.meter_energy: tuple[float, float] = (math.nan, math.nan)
        self.ledger = ledger.from_config(cfg.ledger)
        if self.ledger is not None:  # the car's counters go on from the ledger's totals
            self.charged_wh, self.discharged_wh = self.ledger.car_wh
        self._t_energy: float | None = None
        self._t_ledger: float | None = None

    def count(self, now: float, grid_w: float, meter_t: float, ev_w: float, ev_t: float,
              price_at: Callable[[float], tuple[float, float] | None],
              counters: tuple[float, float] | None = None) -> None:
        """This cycle's energy into the counters and the ledger. With a ledger the counters
        are its committed totals: never less after a restart, even after a crash (Home
        Assistant takes a counter that goes back for a meter reset). `counters` are the
        charger's own (Wh charged, discharged) where it has them: the ledger keeps them
        with each minute, to be reconciled with (ledger.reconcile)."""
        if self.ledger is not None:
            self.charged_wh, self.discharged_wh = self.ledger.car_wh
        elif self._t_energy is not None and math.isfinite(ev_w) and now - ev_t < FRESH_S:
            dt = min(now - self._t_energy, FRESH_S)
            if ev_w > 0:
                self.charged_wh += ev_w * dt / 3600.0
            else:
                self.discharged_wh -= ev_w * dt / 3600.0
        self._t_energy = now
        if self.ledger is None:
            return
        dt = 0.0 if self._t_ledger is None else min(now - self._t_ledger, FRESH_S)
        self._t_ledger = now
        fresh = now - meter_t <= self.cfg.control.meter_stale_s and now - ev_t < FRESH_S
        try:
            t = self.wall()
            self.ledger.add(t, dt, grid_w if fresh else math.nan, ev_w, price_at(t),
                            counters if fresh else None)
        except Exception as exc:  # noqa: BLE001 - bookkeeping never stops the control
            self._fault("ledger", True, str(exc))
        else:
            self._fault("ledger", False)
