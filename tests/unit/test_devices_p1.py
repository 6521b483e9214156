"""The P1 driver against a TCP bridge that the test serves: DSMR 5 telegrams with CRC."""

from __future__ import annotations

import asyncio
import math

import pytest
from dsmr_parser.parsers import TelegramParser

from controller import config
from controller.devices import DeviceError
from controller.devices.p1 import P1

BODY = (
    "/ISK5\\2M550T-1012\r\n\r\n"
    "1-3:0.2.8(50)\r\n"
    "0-0:1.0.0(261127120000W)\r\n"
    "0-0:96.1.1(4B384547303034303436333935353037)\r\n"
    "1-0:1.8.1(001234.567*kWh)\r\n"
    "1-0:1.8.2(002000.000*kWh)\r\n"
    "1-0:2.8.1(000100.000*kWh)\r\n"
    "1-0:2.8.2(000200.500*kWh)\r\n"
    "0-0:96.14.0(0002)\r\n"
    "1-0:1.7.0({imp:06.3f}*kW)\r\n"
    "1-0:2.7.0({exp:06.3f}*kW)\r\n"
    "1-0:32.7.0({v1:05.1f}*V)\r\n"
    "1-0:52.7.0(231.0*V)\r\n"
    "1-0:72.7.0(229.0*V)\r\n"
    "1-0:31.7.0(003*A)\r\n"
    "1-0:51.7.0(001*A)\r\n"
    "1-0:71.7.0(001*A)\r\n"
    "1-0:21.7.0(00.700*kW)\r\n"
    "1-0:41.7.0(00.200*kW)\r\n"
    "1-0:61.7.0(00.000*kW)\r\n"
    "1-0:22.7.0(00.000*kW)\r\n"
    "1-0:42.7.0(00.000*kW)\r\n"
    "1-0:62.7.0({l3_exp:06.3f}*kW)\r\n"
    "!"
)


def telegram(v1: float = 230.0, l3_exp: float = 0.0, corrupt: bool = False) -> bytes:
    body = BODY.format(imp=0.9, exp=l3_exp, v1=v1, l3_exp=l3_exp)
    crc = TelegramParser.crc16(body)
    if corrupt:
        crc ^= 0x1
    return (body + f"{crc:04X}\r\n").encode()


@pytest.fixture
async def bridge():
    """A P1 bridge on a free port sending what the test queues, a telegram at a time."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def serve(reader, writer):
        try:
            while True:
                writer.write(await queue.get())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, queue
    server.close()
    await server.wait_closed()


async def _reading(meter: P1, after: float = -1.0):
    for _ in range(100):
        try:
            r = await meter.read()
            if r.t > after:
                return r
        except DeviceError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError("no reading")


async def test_p1_reads_phase_powers_voltages_energy(bridge):
    """Per-phase power is delivered minus received (W); energy sums both tariffs (Wh)."""
    port, queue = bridge
    meter = P1(config.defaults((f"meter.port={port}", "meter.driver=p1")).meter)
    try:
        with pytest.raises(DeviceError):
            await meter.read()  # nothing yet
        await queue.put(telegram(v1=228.5, l3_exp=1.5))
        r = await _reading(meter)
        assert (r.p1, r.p2, r.p3) == (700.0, 200.0, -1500.0)
        assert (r.v1, r.v2, r.v3) == (228.5, 231.0, 229.0)
        assert math.isnan(r.freq)  # P1 gives no frequency
        assert r.import_wh == pytest.approx(3_234_567.0)
        assert r.export_wh == pytest.approx(300_500.0)
    finally:
        await meter.close()


async def test_p1_drops_telegram_with_bad_crc(bridge):
    """A telegram whose CRC does not match is not used; the reading ages instead."""
    port, queue = bridge
    meter = P1(config.defaults((f"meter.port={port}", "meter.driver=p1")).meter)
    try:
        await queue.put(telegram(v1=230.0))
        first = await _reading(meter)
        await queue.put(telegram(v1=100.0, corrupt=True))
        for _ in range(50):
            if meter.bad_telegrams:
                break
            await asyncio.sleep(0.02)
        assert meter.bad_telegrams == 1
        assert (await meter.read()).t == first.t and (await meter.read()).v1 == 230.0
    finally:
        await meter.close()



def test_p1_declares_its_telegram_interval():
    """DSMR 5 sends one telegram a second: the driver says so, and the loop's meter takes it
    as its interval (the grid watch then takes a sample up to a second old, plus the loss
    budget, as fresh); without it a healthy P1 meter's every 1-s gap latched 'grid unseen'
    and v2h never discharged (hil/scenarios/p1-dark-grid-loss.toml: 0 Wh with every
    charger)."""
    from controller.loop._meter import MeterLink

    cfg = config.defaults(("meter.driver=p1",))
    drv = P1(cfg.meter)
    assert drv.publish_interval_s == 1.0
    assert MeterLink(drv, cfg.meter.timeout_s).interval_s == 1.0
