"""What the chargers run by a setpoint and a start/stop command share (Quasar: 260 and 257;
EVtec: X+86 and X+88; Sigenergy: its limits and 41000): the start written once per run, a
stop before any new start after a loss, and every command also feeding the charger's
watchdog. Each driver says how its setpoint and its gate are written."""

from __future__ import annotations

import time
from collections.abc import Callable

from controller.config import Charger as ChargerConfig

from ._modbus import ModbusLink


class StartGate:
    """A charger whose power needs a setpoint and an open gate. `_running` is what we know
    of the gate: True open, False closed by us, None unknown (at start, after lost replies,
    after control was taken): the next zero is then a full stop."""

    name: str  # the charger's name in its errors ("charger NAME: ...")
    limit_w: float

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.link = ModbusLink(f"charger {self.name}", cfg.host, cfg.port, cfg.unit_id,
                               cfg.timeout_s)
        self.clock = clock
        self._running: bool | None = None  # unknown until the first command

    async def _setpoint(self, watts: int) -> None:
        """Write the signed setpoint (W, + charge), in the charger's own terms."""
        raise NotImplementedError

    async def _gate(self, start: bool) -> None:
        """Write the start (True) or stop (False) command."""
        raise NotImplementedError

    async def stop(self) -> None:
        await self._setpoint(0)
        await self._gate(False)
        self._running = False

    async def set_power(self, watts: float) -> None:
        w = int(round(max(-self.limit_w, min(self.limit_w, watts))))
        if w == 0:
            if self._running is not False:
                await self.stop()
            else:
                await self._setpoint(0)  # keeps the watchdog fed
            return
        await self._setpoint(w)
        await self._started()

    async def _started(self) -> None:
        """Open the gate once per run."""
        if not self._running:
            await self._gate(True)
            self._running = True

    def forget(self) -> None:
        """After lost replies nothing is known of the charger: the next command is a stop."""
        self._running = None

    async def close(self) -> None:
        await self.link.close()
