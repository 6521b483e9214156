"""Carlo Gavazzi EM24 (and EM340) grid meter: signed 32-bit, low word first, fixed scales.

Source: Carlo Gavazzi, "EM24 DIN / EM340 communication protocol" (the same map appears in
Victron's dbus-cgwacs); see firmware_notes/register-maps.md."""

from __future__ import annotations

import math

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from ._codec import i16, i32_lsw
from ._meter import MeterEmulator, Sample

# input and holding registers (FC 3 and 4 read the same table)   # count, type, scale, unit
V_L1 = 0x0000                 # 2, int32 LSW first, /10, V (L1-N); L2 0x0002, L3 0x0004
I_L1 = 0x000C                 # 2, int32 LSW first, /1000, A; L2 0x000E, L3 0x0010
P_L1 = 0x0012                 # 2, int32 LSW first, /10, W (+ import); L2 0x0014, L3 0x0016
P_TOTAL = 0x0028              # 2, int32 LSW first, /10, W
FREQ = 0x0033                 # 1, int16, /10, Hz
E_IMPORT = 0x0034             # 2, int32 LSW first, /10, kWh (+) TOT
E_EXPORT = 0x004E             # 2, int32 LSW first, /10, kWh (-) TOT
TABLE_END = 0x0060


class Em24(MeterEmulator):
    """The meter as the controller sees it over Modbus TCP, fed by the bench's plant."""

    def device(self) -> SimDevice:
        table = [SimData(0, count=TABLE_END, values=0, datatype=DataType.REGISTERS)]
        return SimDevice(self.unit_id, simdata=table, action=self.action)

    def words(self, s: Sample) -> dict[int, list[int]]:
        out = {}
        for i in range(3):
            out[V_L1 + 2 * i] = i32_lsw(round(s.v * 10))
            out[I_L1 + 2 * i] = i32_lsw(round(abs(s.p[i]) / s.v * 1000) if s.v > 0 else 0)
            out[P_L1 + 2 * i] = i32_lsw(round(s.p[i] * 10))
        out[P_TOTAL] = i32_lsw(round(sum(s.p) * 10))
        out[FREQ] = [i16(round(s.hz * 10))]
        out[E_IMPORT] = i32_lsw(math.floor(s.import_wh / 100.0))
        out[E_EXPORT] = i32_lsw(math.floor(s.export_wh / 100.0))
        return out

    def garbage(self) -> dict[int, list[int]]:
        return {a: [0xFFFF, 0x7FFF] for a in range(0, P_TOTAL + 2, 2)}

    async def action(self, fc: int, start: int, address: int, count: int,
                     regs: list[int], values: list[int] | list[bool] | None
                     ) -> ExcCodes | None:
        if fc not in (3, 4):
            return ExcCodes.ILLEGAL_FUNCTION  # the measurement table is read-only
        if self.bench.faults.meter_exception:
            return ExcCodes.DEVICE_BUSY
        self.fill(regs, start)
        return None
