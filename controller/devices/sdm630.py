"""Eastron SDM630 over Modbus RTU on its RS-485 port (`meter.serial_port`), or over Modbus
TCP through a gateway: one read of 0x0000..0x004B.

Map (firmware_notes/register-maps.md): input registers, float32, high word first."""

from __future__ import annotations

import time
from collections.abc import Callable

from controller.config import Meter as MeterConfig

from ._modbus import ModbusLink
from ._words import f32
from .base import MeterReading, finite_or_nan

V_L1 = 0x0000      # 2, float32, V; L2 +2, L3 +4
P_L1 = 0x000C      # 2, float32, W (+ import); L2 +2, L3 +4
FREQ = 0x0046      # 2, float32, Hz
E_IMPORT = 0x0048  # 2, float32, kWh
E_EXPORT = 0x004A  # 2, float32, kWh
SPAN = 0x004C      # one request covers all of the above

MAX_W = 100_000.0
MAX_V = 1_000.0


class Sdm630:
    """Meter driver: per-phase power, voltage, frequency and energy in one request."""

    def __init__(self, cfg: MeterConfig, clock: Callable[[], float] = time.monotonic) -> None:
        serial = ({"port": cfg.serial_port, "baudrate": cfg.baudrate, "parity": cfg.parity,
                   "stopbits": cfg.stopbits} if cfg.serial_port else None)
        self.link = ModbusLink("meter sdm630", cfg.host, cfg.port, cfg.unit_id, cfg.timeout_s,
                               serial)
        self.clock = clock

    async def read(self) -> MeterReading:
        r = await self.link.read(4, 0, SPAN)
        w = [finite_or_nan(f32(r, P_L1 + 2 * i), MAX_W) for i in range(3)]
        v = [finite_or_nan(f32(r, V_L1 + 2 * i), MAX_V) for i in range(3)]
        return MeterReading(self.clock(), w[0], w[1], w[2], v[0], v[1], v[2],
                            finite_or_nan(f32(r, FREQ), 100.0),
                            finite_or_nan(f32(r, E_IMPORT) * 1000.0, 1e12),
                            finite_or_nan(f32(r, E_EXPORT) * 1000.0, 1e12))

    async def close(self) -> None:
        await self.link.close()
