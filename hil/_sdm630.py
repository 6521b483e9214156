"""Eastron SDM630 grid meter: input registers, IEEE float32, high word first.

Source: Eastron, "SDM630 Modbus Protocol" (input register table); see
firmware_notes/register-maps.md. Powers are signed (+ import), currents are magnitudes."""

from __future__ import annotations

import math

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from ._codec import f32_be
from ._meter import MeterEmulator, Sample

# input registers (FC 4)                       # count, type, unit
V_L1 = 0x0000                                   # 2, float32, V (L1-N); L2 0x0002, L3 0x0004
I_L1 = 0x0006                                   # 2, float32, A; L2 0x0008, L3 0x000A
P_L1 = 0x000C                                   # 2, float32, W (+ import); L2 0x000E, L3 0x0010
P_TOTAL = 0x0034                                # 2, float32, W
FREQ = 0x0046                                   # 2, float32, Hz
E_IMPORT = 0x0048                               # 2, float32, kWh imported since reset
E_EXPORT = 0x004A                               # 2, float32, kWh exported since reset
INPUT_END = 0x0180                              # the table's last register + 2
# holding registers (FC 3/16): configuration, answered but not acted upon
H_NODE = 0x0014                                 # 2, float32, Modbus node address
H_END = 0x0040

READ_FC = {3, 4}
WRITE_FC = {6, 16}


class Sdm630(MeterEmulator):
    """The meter as the controller sees it over Modbus TCP, fed by the bench's plant."""

    def device(self) -> SimDevice:
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        hr = [SimData(0, count=H_END, values=0, datatype=DataType.REGISTERS)]
        ir = [SimData(0, count=INPUT_END, values=0, datatype=DataType.REGISTERS)]
        return SimDevice(self.unit_id, simdata=(bits, list(bits), hr, ir), action=self.action)

    def words(self, s: Sample) -> dict[int, list[int]]:
        out = {}
        for i in range(3):
            out[V_L1 + 2 * i] = f32_be(s.v)
            out[I_L1 + 2 * i] = f32_be(abs(s.p[i]) / s.v if s.v > 0 else 0.0)
            out[P_L1 + 2 * i] = f32_be(s.p[i])
        out[P_TOTAL] = f32_be(sum(s.p))
        out[FREQ] = f32_be(s.hz)
        out[E_IMPORT] = f32_be(s.import_wh / 1000.0)
        out[E_EXPORT] = f32_be(s.export_wh / 1000.0)
        return out

    def garbage(self) -> dict[int, list[int]]:
        bad = [math.nan, 1e12, -math.inf][int(self.bench.now() * 4) % 3]
        return {a: f32_be(bad) for a in range(0, E_EXPORT + 2, 2)}

    async def action(self, fc: int, start: int, address: int, count: int,
                     regs: list[int], values: list[int] | list[bool] | None
                     ) -> ExcCodes | None:
        if fc not in READ_FC | WRITE_FC:
            return ExcCodes.ILLEGAL_FUNCTION
        if self.bench.faults.meter_exception:
            return ExcCodes.DEVICE_BUSY
        if fc == 4:
            self.fill(regs, start)
        elif fc == 3 and address <= H_NODE + 1 < address + count:
            regs[H_NODE - start: H_NODE - start + 2] = f32_be(float(self.unit_id))
        return None
