"""The SDM630 driver over Modbus RTU on a serial line: two pseudo-terminals joined by a
relay stand in for the RS-485 pair; the emulator answers as a pymodbus serial server."""

from __future__ import annotations

import asyncio
import os

import pytest
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer

from controller import config
from controller.devices import DeviceError, Sdm630
from hil._rtu import _pty, _relay

pytestmark = pytest.mark.hil


async def test_sdm630_over_rtu(make_bench):
    """The same reading over RTU (9600 8N1) as over TCP: phase powers, 230 V, 50 Hz."""
    bench = await make_bench()
    bench.advance(5)
    m1, dev1 = _pty()
    m2, dev2 = _pty()
    loop = asyncio.get_running_loop()
    server = ModbusSerialServer(bench.meter.device(), framer=FramerType.RTU, port=dev1,
                                baudrate=9600)
    await server.serve_forever(background=True)
    loop.add_reader(m1, _relay, m1, m2)
    loop.add_reader(m2, _relay, m2, m1)
    meter = Sdm630(config.defaults((f"meter.serial_port={dev2}", "meter.timeout_s=2.0")).meter)
    try:
        r = await meter.read()
        for got, want in zip((r.p1, r.p2, r.p3), bench.meter_phases()):
            assert abs(got - want) <= bench.plant.meter_noise_w + 0.1
        assert abs(r.v1 - 230.0) <= 0.6 and abs(r.freq - 50.0) <= 0.1
    finally:
        await meter.close()
        await server.shutdown()
        loop.remove_reader(m1)
        loop.remove_reader(m2)
        os.close(m1)
        os.close(m2)


async def test_bench_rtu_line_serves_the_driver(make_bench):
    """The bench's own RTU line (meter_link "rtu"): the driver on `meter_serial` reads the
    plant; a silent meter on the line gives the driver a timeout, not a stale value."""
    from hil import Fault

    bench = await make_bench(meter_link="rtu", faults=[Fault("meter_silent", 10, 5)])
    bench.advance(5)
    assert bench.meter_serial is not None and "meter" not in bench.ports
    meter = Sdm630(config.defaults((f"meter.serial_port={bench.meter_serial}",
                                    "meter.timeout_s=1.0")).meter)
    try:
        r = await meter.read()
        for got, want in zip((r.p1, r.p2, r.p3), bench.meter_phases()):
            assert abs(got - want) <= bench.plant.meter_noise_w + 0.1
        bench.advance(6)
        with pytest.raises(DeviceError):
            await meter.read()
    finally:
        await meter.close()
