"""The P1 emulator (hil/_p1.py): DSMR 5 telegrams with their CRC, one a bench second to
every client of its TCP bridge, none while the meter is dark; read by dsmr-parser and by
the controller's own P1 driver."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.exceptions import InvalidChecksumError
from dsmr_parser.parsers import TelegramParser

from controller import config
from controller.devices.p1 import P1 as P1Driver  # noqa: N811 - P1 is a class, not a constant
from hil import Fault
from hil._meter import Sample
from hil._p1 import crc16, telegram
from tests.helpers import loop_turns, turns_until

pytestmark = pytest.mark.hil
PARSER = TelegramParser(telegram_specifications.V5)


async def telegrams(reader: asyncio.StreamReader, n: int, timeout: float = 1.0) -> list[str]:
    """The next n telegrams on the stream (fewer when it stays quiet for `timeout` s)."""
    out: list[str] = []
    buf = ""
    with contextlib.suppress(TimeoutError):
        while len(out) < n:
            async with asyncio.timeout(timeout):
                chunk = await reader.read(4096)
            if not chunk:
                break
            buf += chunk.decode("ascii")
            while "!" in buf and "\r\n" in buf[buf.index("!"):]:
                end = buf.index("\r\n", buf.index("!")) + 2
                out.append(buf[:end])
                buf = buf[end:]
    return out


async def shut(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def test_p1_crc_is_dsmr_parsers():
    """Our CRC16 equals dsmr-parser's; a spoiled one is refused."""
    s = Sample((700.0, -1200.5, 33.0), 230.4, 50.0, 1234567.0, 2345.6)
    tg = telegram(s, 65.3, 19 * 3600).decode()
    body = tg[:tg.index("!") + 1]
    assert crc16(body) == TelegramParser.crc16(body) == int(tg[-6:-2], 16)
    p = PARSER.parse(tg)
    assert float(p.INSTANTANEOUS_ACTIVE_POWER_L1_POSITIVE.value) == 0.7
    assert float(p.INSTANTANEOUS_ACTIVE_POWER_L2_NEGATIVE.value) == 1.2
    assert float(p.INSTANTANEOUS_VOLTAGE_L3.value) == 230.4
    assert float(p.ELECTRICITY_USED_TARIFF_2.value) == 1234.567
    with pytest.raises(InvalidChecksumError):
        PARSER.parse(telegram(s, 1.0, 0, corrupt=True).decode())


async def test_p1_one_telegram_a_second(make_bench):
    """A telegram each bench second, per-phase power as the meter sees it (W resolution)."""
    bench = await make_bench("p1")
    reader, writer = await asyncio.open_connection("127.0.0.1", bench.ports["meter"])
    try:
        await loop_turns()  # the bridge has taken the connection
        bench.advance(3)
        got = await telegrams(reader, 3)
        assert len(got) == 3
        p = PARSER.parse(got[-1])
        for i, want in enumerate(bench.meter_phases(), 1):
            pos = float(getattr(p, f"INSTANTANEOUS_ACTIVE_POWER_L{i}_POSITIVE").value)
            neg = float(getattr(p, f"INSTANTANEOUS_ACTIVE_POWER_L{i}_NEGATIVE").value)
            assert abs((pos - neg) * 1000.0 - want) <= bench.plant.meter_noise_w + 0.6
    finally:
        await shut(writer)


async def test_p1_dark_with_grid_loss(make_bench):
    """Dies with the grid: no telegram from the loss until the grid has been back 3 s."""
    bench = await make_bench("p1", faults=[Fault("grid_loss", 5, 5)], meter_dies_with_grid=True)
    reader, writer = await asyncio.open_connection("127.0.0.1", bench.ports["meter"])
    try:
        await loop_turns()
        bench.advance(4.5)
        assert len(await telegrams(reader, 10, timeout=0.2)) == 4
        bench.advance(8)  # 4.5 .. 12.5: dark (the grid back at 10, booted at 13)
        assert await telegrams(reader, 1, timeout=0.2) == []
        bench.advance(2)
        assert len(await telegrams(reader, 10, timeout=0.2)) == 2
    finally:
        await shut(writer)


async def test_p1_refused_closes_bridge(make_bench):
    """The refused variant: the bridge's port closes and opens again after the boot."""
    bench = await make_bench("p1", faults=[Fault("grid_loss", 5, 5)], meter_dies_with_grid=True,
                             meter_dark_kind="meter_refused")
    port = bench.ports["meter"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await loop_turns()
    bench.advance(6)
    assert len(await telegrams(reader, 10, timeout=0.2)) == 4  # then the port closed
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await shut(writer)
    bench.advance(8)
    await bench.settle()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await loop_turns()
    bench.advance(1)
    assert len(await telegrams(reader, 1)) == 1
    await shut(writer)


async def test_p1_controller_driver_reads_bench(make_bench):
    """The controller's P1 driver (dsmr-parser, CRC checked) reads the bench's telegrams."""
    bench = await make_bench("p1")
    cfg = config.defaults(("meter.driver=p1", f"meter.port={bench.ports['meter']}")).meter
    drv = P1Driver(cfg)
    try:
        with contextlib.suppress(Exception):
            await drv.read()  # starts its reader task
        assert await turns_until(lambda: bool(bench.meter.writers))  # connected
        bench.advance(2)
        assert await turns_until(lambda: drv.latest is not None)
        r = await drv.read()
        for got, want in zip((r.p1, r.p2, r.p3), bench.meter_phases()):
            assert abs(got - want) <= bench.plant.meter_noise_w + 0.6
        assert abs(r.v1 - 230.0) <= 0.6 and drv.bad_telegrams == 0
    finally:
        await drv.close()
