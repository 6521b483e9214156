"""Ambibox ambiCHARGE over Modbus TCP: one target power per connector, whose sign is the
reverse of ours (negative = charge), translated here; measurements from the input block.

Map (firmware_notes/register-maps.md): holding 3000 + (connector - 1) x 100, input
4000 + (connector - 1) x 200; 32-bit values high word first."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from controller.config import Charger as ChargerConfig

from ._modbus import ModbusLink
from ._words import f32, s32, u32, words_s32
from .base import Capabilities, ChargerReading, SocSource, finite_or_nan

TARGET = 0          # holding + 0: 2, int32, W, negative = charge
POWER_AC = 18       # input + 18: 2, int32, W (+ charging)
ENERGY_IN = 26      # 2, float32, Wh charged
ENERGY_OUT = 28     # 2, float32, Wh discharged
SOC = 54            # 2, float32, %
SESSION = 82        # 2, uint32: 5 charge loop, 7 paused, 8 stopped, 9 error
EV_CONNECTED = 84   # 2, uint32: 0 / 1
SPAN = 86           # one read: input + 0 .. + 85
ERROR = 9
LIMIT_W = 11_000

CAPS = Capabilities(
    max_charge_w=LIMIT_W, max_discharge_w=LIMIT_W,
    min_power_w=0.0,  # the source states none: limits.min_power_w rules
    stop="zero",  # the target power 0; there is no stop command
    soc=SocSource(SOC, 1.0, session_only=True),
    watchdog_register=None, watchdog_max_s=0,  # the source names no Modbus watchdog
    energy_counters=True, phases=(1, 3))


class Ambibox:
    """Charger driver: every set_power() writes the target power (ours negated)."""

    caps = CAPS

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.link = ModbusLink("charger ambibox", cfg.host, cfg.port, cfg.unit_id,
                               cfg.timeout_s)
        c = cfg.connector or 1
        self.hold = 3000 + (c - 1) * 100
        self.inp = 4000 + (c - 1) * 200
        self.clock = clock

    async def read(self) -> ChargerReading:
        r = await self.link.read(4, self.inp, SPAN)
        car = u32(r, EV_CONNECTED) != 0
        session = u32(r, SESSION)
        soc = f32(r, SOC)
        return ChargerReading(
            self.clock(), finite_or_nan(float(s32(r, POWER_AC)), 2.0 * LIMIT_W), car,
            session != ERROR, soc if car and 0.0 < soc <= 100.0 else math.nan, session,
            1 if session == ERROR else 0, True,
            finite_or_nan(f32(r, ENERGY_IN), 1e12), finite_or_nan(f32(r, ENERGY_OUT), 1e12))

    async def take_control(self, watchdog_s: int) -> None:
        """Nothing to configure: a read of the target proves it answers; no watchdog."""
        await self.link.read(3, self.hold + TARGET, 2)

    async def stop(self) -> None:
        await self.link.write_words(self.hold + TARGET, words_s32(0))

    async def set_power(self, watts: float) -> None:
        w = int(round(max(-LIMIT_W, min(LIMIT_W, watts))))
        await self.link.write_words(self.hold + TARGET, words_s32(-w))  # its sign: - charge

    async def release(self) -> None:
        await self.stop()

    async def close(self) -> None:
        await self.link.close()
