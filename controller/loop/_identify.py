"""The live loop's identification (issue #12): each cycle's facts to the core's identifier
(`fast.Ident`, the same the simulator feeds), a fit off the loop when one is due, and its
model into the step's limits.

A fit takes some 10-150 ms compiled with the GIL released, so it runs in a worker thread
while the loop goes on; cycles that happen meanwhile wait in a short list and follow it in
(the identifier's arrays are never written while it reads them)."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import fast

log = logging.getLogger("v2h")


class Identify:
    """The identifier, the fit in flight, and the cycles held back while it runs."""

    def __init__(self, lim: Any) -> None:
        self.ident = fast.Ident(lim.meter_delay_s, lim.meter_window_s)
        self.task: asyncio.Task[bool] | None = None
        self.held: list[tuple[float, float, float, float, bool, float, float]] = []
        self.fits = 0

    def record(self, t_read: float, ev_w: float, t_write: float, sp_w: float,
               regulating: bool, t_meter: float, grid_w: float) -> None:
        row = (t_read, ev_w, t_write, sp_w, regulating, t_meter, grid_w)
        if self.task is not None:
            self.held.append(row)
            del self.held[:-600]
            return
        self.ident.record(*row)

    def poll(self, now: float, on_model: Any) -> None:
        """Start a fit when one is due at now (s); when one has ended, the held cycles in and
        `on_model()` told (when it found a model)."""
        if self.task is not None:
            if not self.task.done():
                return
            found = not self.task.cancelled() and self.task.exception() is None \
                and self.task.result()
            if self.task.exception() is not None:
                log.warning("identify: the fit failed (%s); the model in use stays",
                            self.task.exception())
            self.task = None
            for row in self.held:
                self.ident.record(*row)
            self.held.clear()
            if found:
                self.fits += 1
                self._log()
                on_model()
        if self.ident.due(now):
            self.task = asyncio.get_running_loop().create_task(
                asyncio.to_thread(self.ident.fit), name="v2h.loop.identify")

    def apply(self, lim: Any) -> None:
        self.ident.apply(lim)

    def _log(self) -> None:
        i = self.ident
        ramp = "none" if math.isinf(i.ramp_w_s) else f"{i.ramp_w_s:.0f} W/s"
        log.info("identify: charger dead %.2f s, tau %.2f s, ramp %s, reading gain %.3f; "
                 "meter delay %.2f s, window %.0f s (%d readings)", i.dead_s, i.tau_s, ramp,
                 i.gain, i.meter_delay_s, i.meter_window_s, i.intervals)

    def model(self) -> dict[str, float] | None:
        """The model in use, for the state message and the probe (None before a fit)."""
        i = self.ident
        if not i.ok:
            return None
        return {"charger_dead_s": round(i.dead_s, 3), "charger_tau_s": round(i.tau_s, 3),
                "charger_ramp_w_s": -1.0 if math.isinf(i.ramp_w_s) else round(i.ramp_w_s),
                "charger_gain": round(i.gain, 4), "meter_delay_s": round(i.meter_delay_s, 3),
                "meter_window_s": i.meter_window_s}

    async def close(self) -> None:
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, timeout=5.0)
            except Exception:  # noqa: BLE001 - a fit that failed or hung changes nothing
                log.warning("identify: the last fit did not finish")
