"""10 000 random and malformed Modbus TCP frames at each emulator: no crash, no hang, and
every port still answers a proper request afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct

import pytest

pytestmark = pytest.mark.hil
FRAMES = 10_000


def frame(rnd: random.Random, unit: int) -> bytes:
    """A frame that is random, truncated, mis-sized, or valid-looking with wild fields."""
    kind = rnd.random()
    if kind < 0.2:
        return rnd.randbytes(rnd.randint(1, 300))
    fc = rnd.choice([1, 2, 3, 4, 5, 6, 15, 16, 17, 22, 23, 43, 0, 0x80, 0xFF])
    body = bytes([fc]) + rnd.randbytes(rnd.randint(0, 12))
    if fc in (3, 4):
        body = struct.pack(">BHH", fc, rnd.randint(0, 0xFFFF), rnd.choice([0, 1, 2, 125, 126,
                                                                          0xFFFF]))
    elif fc == 6:
        body = struct.pack(">BHH", fc, rnd.choice([81, 83, 257, 260, 537, 999]),
                           rnd.randint(0, 0xFFFF))
    elif fc == 16:
        n = rnd.randint(0, 4)
        body = struct.pack(">BHHB", fc, rnd.randint(0, 600), n, 2 * n + rnd.choice([0, 0, 1]))
        body += rnd.randbytes(2 * n)
    length = len(body) + 1
    if kind > 0.9:
        length = rnd.choice([0, 1, 2, 255, 260, 0xFFFF])  # a lying length field
    proto = 0 if rnd.random() < 0.9 else rnd.randint(1, 0xFFFF)
    uid = unit if rnd.random() < 0.8 else rnd.randint(0, 255)
    msg = struct.pack(">HHHB", rnd.randint(0, 0xFFFF), proto, length, uid) + body
    if kind > 0.8:
        msg = msg[: rnd.randint(1, len(msg))]  # cut short
    return msg


async def blast(port: int, rnd: random.Random) -> None:
    """Send the frames over a series of connections, reading whatever comes back."""
    sent = 0
    while sent < FRAMES:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(200):
                writer.write(frame(rnd, 1))
                sent += 1
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(65536), timeout=0.05)
        except (ConnectionError, OSError):
            pass  # the device may drop a connection that sent garbage, as real ones do
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


@pytest.mark.parametrize("meter_kind", ["sdm630", "em24"])
async def test_fuzz_emulators_survive(make_bench, client_for, meter_kind, rnd):
    """Meter and charger both take 10 000 bad frames and still answer."""
    bench = await make_bench(meter_kind)
    bench.advance(5)
    for port in (bench.ports["meter"], bench.ports["charger"]):
        await asyncio.wait_for(blast(port, rnd), timeout=120)
    c = await client_for(bench.ports["meter"])
    r = await c.read_input_registers(0, count=2, device_id=1)
    assert not r.isError()
    q = await client_for(bench.ports["charger"])
    r = await q.read_holding_registers(537, count=2, device_id=1)
    assert not r.isError()


# a proper request each model must still answer after the blast: (FC, address, count)
PROBES = {"evtec": (3, 100, 2), "ambibox": (4, 4000, 2), "sigenergy": (4, 31500, 2),
          "sunspec": (3, 40000, 2)}


@pytest.mark.parametrize("charger_kind", sorted(PROBES))
async def test_fuzz_charger_emulators_survive(make_bench, client_for, charger_kind, rnd):
    """Each charger model takes 10 000 bad frames and still answers."""
    bench = await make_bench(charger_kind=charger_kind)
    bench.advance(5)
    await asyncio.wait_for(blast(bench.ports["charger"], rnd), timeout=120)
    fc, address, count = PROBES[charger_kind]
    q = await client_for(bench.ports["charger"])
    read = q.read_input_registers if fc == 4 else q.read_holding_registers
    r = await read(address, count=count, device_id=1)
    assert not r.isError()
