"""Carlo Gavazzi EM24 (and EM340) grid meter: signed 32-bit, low word first, fixed scales.

Source: Carlo Gavazzi, "EM24 DIN / EM340 communication protocol" (the same map appears in
Victron's dbus-cgwacs); see firmware_notes/register-maps.md."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from ._codec import i16, i32_lsw

if TYPE_CHECKING:
    from ._bench import Bench

# input and holding registers (FC 3 and 4 read the same table)   # count, type, scale, unit
V_L1 = 0x0000                 # 2, int32 LSW first, /10, V (L1-N); L2 0x0002, L3 0x0004
I_L1 = 0x000C                 # 2, int32 LSW first, /1000, A; L2 0x000E, L3 0x0010
P_L1 = 0x0012                 # 2, int32 LSW first, /10, W (+ import); L2 0x0014, L3 0x0016
P_TOTAL = 0x0028              # 2, int32 LSW first, /10, W
FREQ = 0x0033                 # 1, int16, /10, Hz
E_IMPORT = 0x0034             # 2, int32 LSW first, /10, kWh (+) TOT
E_EXPORT = 0x004E             # 2, int32 LSW first, /10, kWh (-) TOT
TABLE_END = 0x0060


class Em24:
    """The meter as the controller sees it over Modbus TCP, fed by the bench's plant."""

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.bench = bench
        self.unit_id = unit_id
        self._frozen: list[tuple[int, list[int]]] | None = None

    def device(self) -> SimDevice:
        table = [SimData(0, count=TABLE_END, values=0, datatype=DataType.REGISTERS)]
        return SimDevice(self.unit_id, simdata=table, action=self.action)

    def values(self) -> list[tuple[int, list[int]]]:
        b = self.bench
        f = b.faults
        pl = b.plant
        if f.meter_garbage:
            return [(a, [0xFFFF, 0x7FFF]) for a in range(0, 0x002A, 2)]
        v = 0.0 if f.grid_loss else 230.0 + pl.noise(0.5)
        hz = 0.0 if f.grid_loss else 50.0 + pl.noise(0.05)
        noise = pl.meter_noise_w
        p = [g + pl.noise(noise) for g in b.meter_phases()]
        out = []
        for i in range(3):
            out.append((V_L1 + 2 * i, i32_lsw(round(v * 10))))
            out.append((I_L1 + 2 * i, i32_lsw(round(abs(p[i]) / v * 1000) if v > 0 else 0)))
            out.append((P_L1 + 2 * i, i32_lsw(round(p[i] * 10))))
        out.append((P_TOTAL, i32_lsw(round(sum(p) * 10))))
        out.append((FREQ, [i16(round(hz * 10))]))
        out.append((E_IMPORT, i32_lsw(math.floor(pl.imp_wh / 100.0))))
        out.append((E_EXPORT, i32_lsw(math.floor(pl.exp_wh / 100.0))))
        return out

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        return b"" if sending and self.bench.faults.meter_silent else data

    async def action(self, fc: int, start: int, address: int, count: int,
                     regs: list[int], values: list[int] | list[bool] | None
                     ) -> ExcCodes | None:
        if fc not in (3, 4):
            return ExcCodes.ILLEGAL_FUNCTION  # the measurement table is read-only
        if self.bench.faults.meter_exception:
            return ExcCodes.DEVICE_BUSY
        if self.bench.faults.meter_frozen:
            if self._frozen is None:
                self._frozen = self.values()
            vals = self._frozen
        else:
            self._frozen = None
            vals = self.values()
        for addr, words in vals:
            regs[addr - start: addr - start + len(words)] = words
        return None
