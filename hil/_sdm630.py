"""Eastron SDM630 grid meter: input registers, IEEE float32, high word first.

Source: Eastron, "SDM630 Modbus Protocol" (input register table); see
firmware_notes/register-maps.md. Powers are signed (+ import), currents are magnitudes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from ._codec import f32_be

if TYPE_CHECKING:
    from ._bench import Bench

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


class Sdm630:
    """The meter as the controller sees it over Modbus TCP, fed by the bench's plant."""

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.bench = bench
        self.unit_id = unit_id
        self._frozen: dict[int, list[int]] | None = None

    def device(self) -> SimDevice:
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        hr = [SimData(0, count=H_END, values=0, datatype=DataType.REGISTERS)]
        ir = [SimData(0, count=INPUT_END, values=0, datatype=DataType.REGISTERS)]
        return SimDevice(self.unit_id, simdata=(bits, list(bits), hr, ir), action=self.action)

    def values(self) -> dict[int, list[int]]:
        """Every measured register pair, from the plant now (with the meter's own noise)."""
        b = self.bench
        f = b.faults
        pl = b.plant
        if f.meter_garbage:
            bad = [math.nan, 1e12, -math.inf][int(b.now() * 4) % 3]
            return {a: f32_be(bad) for a in range(0, 0x004C, 2)}
        v = 0.0 if f.grid_loss else 230.0 + pl.noise(0.5)
        hz = 0.0 if f.grid_loss else 50.0 + pl.noise(0.005)
        noise = pl.meter_noise_w
        p = [g + pl.noise(noise) for g in b.meter_phases()]
        out = {}
        for i in range(3):
            out[V_L1 + 2 * i] = f32_be(v)
            out[I_L1 + 2 * i] = f32_be(abs(p[i]) / v if v > 0 else 0.0)
            out[P_L1 + 2 * i] = f32_be(p[i])
        out[P_TOTAL] = f32_be(sum(p))
        out[FREQ] = f32_be(hz)
        out[E_IMPORT] = f32_be(pl.imp_wh / 1000.0)
        out[E_EXPORT] = f32_be(pl.exp_wh / 1000.0)
        return out

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        """A silent meter sends nothing back."""
        return b"" if sending and self.bench.faults.meter_silent else data

    async def action(self, fc: int, start: int, address: int, count: int,
                     regs: list[int], values: list[int] | list[bool] | None
                     ) -> ExcCodes | None:
        if fc not in READ_FC | WRITE_FC:
            return ExcCodes.ILLEGAL_FUNCTION
        f = self.bench.faults
        if f.meter_exception:
            return ExcCodes.DEVICE_BUSY
        if fc == 4:
            if f.meter_frozen:
                if self._frozen is None:
                    self._frozen = self.values()
                vals = self._frozen
            else:
                self._frozen = None
                vals = self.values()
            for addr, pair in vals.items():
                regs[addr - start: addr - start + 2] = pair
        elif fc == 3 and address <= H_NODE + 1 < address + count:
            regs[H_NODE - start: H_NODE - start + 2] = f32_be(float(self.unit_id))
        return None
