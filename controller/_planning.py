"""The price plan in the live controller: a task that plans at every slot start and on any
change (new prices, the car plugged in, an owner's command), and hands the loop the current
slot's decision. No prices, stale prices or a failed solve give no slot: the loop then runs
the standing plan of the config (plain self-consumption), never a stuck state."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller import plan as planning
from controller.config import Config

log = logging.getLogger("v2h.plan")
SOLVE_TIMEOUT_S = 10.0
HISTORY_DAYS = 7


@dataclass(frozen=True)
class Snapshot:
    """What the planner needs from the loop: the car now and the owner's settings."""

    soc_pct: float
    present: bool
    reserve_soc: float
    max_discharge_w: float
    departure: str | None
    departure_soc: float | None


class LivePlanner:
    """Plans from a price feed (or none) and the house's own history of demand."""

    def __init__(self, cfg: Config, feed, snapshot: Callable[[], Snapshot],
                 wall: Callable[[], float] = time.time,
                 history: Callable[[float], list[tuple[int, float, float]]] | None = None
                 ) -> None:
        self.cfg = cfg
        self.feed = feed
        self.snapshot = snapshot
        self.wall = wall
        self.history = history  # (since_utc) -> the ledger's minutes of house demand
        self.forecaster = planning.Forecaster(default_w=cfg.plan.default_demand_w)
        self.result: planning.Result | None = None
        self.start_utc = 0.0
        self.changed = asyncio.Event()
        self.plans = 0
        self.solve_ms: list[float] = []
        self._trouble: str | None = None

    def observe(self, now_utc: float, net_w: float, dt_s: float) -> None:
        """The house demand the loop measured (grid - car, W) over dt_s seconds."""
        self.forecaster.observe(now_utc, net_w, dt_s)

    def poke(self) -> None:
        """Something changed that the plan depends on: plan again now."""
        self.changed.set()

    def slot(self, now_utc: float) -> planning.Slot | None:
        """The plan's decision for the slot holding now, or None (no usable plan)."""
        if self.result is None:
            return None
        k = int((now_utc - self.start_utc) // planning.SLOT_S)
        if not 0 <= k < len(self.result.slots):
            return None
        return self.result.slots[k]

    def _note(self, trouble: str | None) -> None:
        if trouble != self._trouble:
            if trouble:
                log.warning("plan: none in use: %s; self-consumption", trouble)
            else:
                log.info("plan: in use")
            self._trouble = trouble

    async def plan_now(self) -> None:
        """One plan from the prices as they are now (in a worker thread, bounded in time)."""
        now = self.wall()
        start = now - now % planning.SLOT_S
        prices = self.feed.current(now) if self.feed is not None else None
        snap = self.snapshot()
        if prices is None:
            self.result = None
            self._note("no usable prices")
            return
        if not math.isfinite(snap.soc_pct):
            self.result = None
            self._note("the car's state of charge is unknown")
            return
        w = prices.window(start, self.cfg.plan.horizon_h * 3600.0)
        n = int(self.cfg.plan.horizon_h * 3600 // planning.SLOT_S)
        try:
            problem = planning.build(
                self.cfg, start, list(w.import_eur_kwh), list(w.export_eur_kwh),
                self.forecaster.forecast(start, n), snap.soc_pct, snap.present,
                reserve_soc=snap.reserve_soc, max_discharge_w=snap.max_discharge_w,
                departure=snap.departure, departure_soc=snap.departure_soc)
            res = await asyncio.wait_for(asyncio.to_thread(planning.plan, problem),
                                         timeout=SOLVE_TIMEOUT_S)
        except (ValueError, RuntimeError, TimeoutError) as exc:
            self.result = None
            self._note(f"planning failed: {exc}")
            return
        self.result, self.start_utc = res, start
        self.plans += 1
        self.solve_ms.append(res.lp.solve_ms)
        del self.solve_ms[:-100]
        self._note(None)
        log.info("plan: %d slots, now %s, cost %.2f EUR, solved in %.0f ms", problem.n,
                 res.slots[0].why, res.cost_eur, res.lp.solve_ms)

    async def learn_history(self) -> int:
        """The last HISTORY_DAYS of house demand from the ledger into the forecast (a
        restart keeps what the house taught it); slots learnt, 0 when there is none."""
        if self.history is None:
            return 0
        try:
            rows = await asyncio.wait_for(
                asyncio.to_thread(self.history, self.wall() - HISTORY_DAYS * 86_400.0),
                timeout=SOLVE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - no history is no reason to stop
            log.warning("plan: no history from the ledger (%s); forecasting from defaults", exc)
            return 0
        n = self.forecaster.learn_minutes(rows)
        log.info("plan: forecast learnt %d slots from the ledger", n)
        return n

    async def run(self, stop: asyncio.Event) -> None:
        """Plan at every slot start (and every replan_s) and whenever poked, until `stop`."""
        await self.learn_history()
        every = min(self.cfg.plan.replan_s, float(planning.SLOT_S))
        while not stop.is_set():
            self.changed.clear()
            await self.plan_now()
            now = self.wall()
            delay = every - now % every + 0.5  # just after the slot starts
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(
                self.changed.wait())]
            try:
                await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
