"""The emulated meter's energy counters agree with the plant over an hour (to 1 Wh)."""

from __future__ import annotations

import struct

import pytest

pytestmark = pytest.mark.hil


def f32(regs: list[int]) -> float:
    return struct.unpack(">f", struct.pack(">HH", *regs))[0]


async def test_energy_counters_match_plant_over_an_hour(make_bench, client_for):
    """One bench hour with the charger stepping through charge and discharge: the SDM630's
    import/export registers (float32 kWh) match the plant's energy to 1 Wh."""
    bench = await make_bench()
    q = await client_for(bench.ports["charger"])
    for reg, val in ((81, 1), (83, 1), (257, 1)):
        await q.write_register(reg, val, device_id=1)
    pl = bench.plant
    imp = exp = 0.0
    h = bench.h
    for minute in range(60):
        sp = [-4000, 7400, 2500, 7000, 0][minute % 5]
        await q.write_register(260, sp & 0xFFFF, device_id=1)
        for _ in range(int(60 / h)):
            bench.advance(h)
            g = pl.g1 + pl.g2 + pl.g3  # integrated here independently of the counters
            imp += max(g, 0.0) * h / 3600
            exp += max(-g, 0.0) * h / 3600
    c = await client_for(bench.ports["meter"])
    r = (await c.read_input_registers(0x48, count=4, device_id=1)).registers
    assert abs(f32(r[0:2]) * 1000 - imp) <= 1.0
    assert abs(f32(r[2:4]) * 1000 - exp) <= 1.0
    assert imp > 300.0 and exp > 300.0  # both directions were exercised
