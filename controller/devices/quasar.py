"""Wallbox Quasar 1 over Modbus TCP: take control, power setpoints, its own watchdog.

Map (firmware_notes/register-maps.md): holding registers, signed 16-bit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from controller.config import Charger as ChargerConfig

from ._gate import StartGate
from ._words import s16
from .base import Capabilities, ChargerReading, DeviceError, SocSource

CONTROL = 81        # 0 user, 1 remote
AUTOSTART = 82      # 1 enabled, 0 disabled
SETPOINT_TYPE = 83  # 0 current, 1 power
WATCHDOG = 88       # s without traffic before it stops by itself
ACTION = 257        # 1 start, 2 stop
POWER_SP = 260      # int16, W (negative = discharge)
ACTUAL_POWER = 526  # int16, W
STATE = 537         # 0 no car, 1 charging, 2 waiting, 4 paused, 7 error, 11 discharging, ...
SOC = 538           # %, 0 without a car
ERRORS = 539        # 4 registers, 0 = no error
NO_CAR = (0, 6)
ERROR = (7, 9)
LIMIT_W = 7400
WATCHDOG_MAX_S = 600  # the map states no maximum: ours (config's ceiling), the EVtec's 600 s

CAPS = Capabilities(
    max_charge_w=LIMIT_W, max_discharge_w=LIMIT_W,
    min_power_w=0.0,  # the map states none: limits.min_power_w rules
    stop="both",  # 0 W on 260 and the stop action (257 = 2)
    soc=SocSource(SOC, 1.0, session_only=True),  # reads 0 while idle
    watchdog_register=WATCHDOG, watchdog_max_s=WATCHDOG_MAX_S,
    energy_counters=False, phases=(1,))


class Quasar(StartGate):
    """Charger driver. Every set_power() writes the setpoint (260), which also feeds the
    charger's watchdog (any traffic does); the action (257) starts once per run and stops,
    a stop preceding any new start after a loss (StartGate)."""

    caps = CAPS
    name = "quasar"
    limit_w = LIMIT_W

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(cfg, clock)
        self._watchdog_s: int | None = None  # as we set it; None before control is taken

    async def read(self) -> ChargerReading:
        p = await self.link.read(3, ACTUAL_POWER, 1)
        s = await self.link.read(3, STATE, 6)
        c = await self._control_regs()
        state = s[0]
        car = state not in NO_CAR
        # the Quasar shows SoC 0 while idle: no reading, not an empty battery
        soc = float(s[1]) if car and 0 < s[1] <= 100 else math.nan
        err = next((w for w in s[2:6] if w), 0)
        return ChargerReading(self.clock(), float(s16(p[0])), car,
                              state not in ERROR and err == 0, soc, state, err,
                              self._as_set(c))

    async def _control_regs(self) -> tuple[int, int, int]:
        """Control (81), setpoint type (83) and watchdog (88); 84..87 are not in the map."""
        c = await self.link.read(3, CONTROL, SETPOINT_TYPE - CONTROL + 1)
        w = await self.link.read(3, WATCHDOG, 1)
        return (c[0], c[SETPOINT_TYPE - CONTROL], w[0])

    def _as_set(self, c: tuple[int, int, int]) -> bool:
        """Control, setpoint type and watchdog as we set them (remote, power, ours)."""
        return self._watchdog_s is not None and c == (1, 1, self._watchdog_s)

    async def take_control(self, watchdog_s: int) -> None:
        await self.link.write(CONTROL, 1)
        await self.link.write(AUTOSTART, 0)
        await self.link.write(SETPOINT_TYPE, 1)
        await self.link.write(WATCHDOG, int(watchdog_s))
        self._watchdog_s = int(watchdog_s)
        c = await self._control_regs()
        if not self._as_set(c):
            raise DeviceError(self.link.name,
                              f"control not taken: registers 81, 83, 88 read {c}")
        self._running = None  # whatever it did before: the next command says it anew

    async def _setpoint(self, watts: int) -> None:
        await self.link.write(POWER_SP, watts)

    async def _gate(self, start: bool) -> None:
        await self.link.write(ACTION, 1 if start else 2)

    async def release(self) -> None:
        await self.stop()
        await self.link.write(CONTROL, 0)
