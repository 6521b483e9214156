"""Carlo Gavazzi EM24 / EM340 over Modbus TCP: one read of 0x0000..0x004F.

Map (firmware_notes/register-maps.md): int32 low word first, fixed weights."""

from __future__ import annotations

import time
from collections.abc import Callable

from controller.config import Meter as MeterConfig

from ._modbus import ModbusLink
from ._words import s16, s32_low_first
from .base import MeterReading, finite_or_nan

V_L1 = 0x0000      # 2, int32 LSW first, V x 10
P_L1 = 0x0012      # 2, int32 LSW first, W x 10
FREQ = 0x0033      # 1, int16, Hz x 10
E_IMPORT = 0x0034  # 2, int32 LSW first, kWh x 10
E_EXPORT = 0x004E  # 2, int32 LSW first, kWh x 10
SPAN = 0x0050


class Em24:
    """Meter driver: per-phase power, voltage, frequency and energy in one request."""

    def __init__(self, cfg: MeterConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.link = ModbusLink("meter em24", cfg.host, cfg.port, cfg.unit_id, cfg.timeout_s)
        self.clock = clock

    async def read(self) -> MeterReading:
        r = await self.link.read(4, 0, SPAN)
        w = [finite_or_nan(s32_low_first(r, P_L1 + 2 * i) / 10.0, 100_000.0) for i in range(3)]
        v = [finite_or_nan(s32_low_first(r, V_L1 + 2 * i) / 10.0, 1_000.0) for i in range(3)]
        hz = s16(r[FREQ]) / 10.0
        return MeterReading(self.clock(), w[0], w[1], w[2], v[0], v[1], v[2],
                            finite_or_nan(hz, 100.0),
                            s32_low_first(r, E_IMPORT) * 100.0, s32_low_first(r, E_EXPORT) * 100.0)

    async def close(self) -> None:
        await self.link.close()
