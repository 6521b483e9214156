"""The Dutch smart meter's P1 port (DSMR 5): one telegram a second, from a TCP bridge
(ser2net and the like) or a serial device, parsed and checked (CRC) by `dsmr-parser`.

P1 gives per-phase power delivered and received (kW), voltages (V) and the energy registers
(kWh); it gives no frequency, so with P1 the grid's health is judged on voltage alone (a
lost grid shows as 0 V)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.exceptions import ParseError
from dsmr_parser.parsers import TelegramParser

from controller.config import Meter as MeterConfig

from .base import DeviceError, MeterReading, finite_or_nan

NAN = math.nan
BAUD = 115_200  # DSMR 5: 115200 8N1


def _kw(tg: Any, name: str) -> float:
    obj = getattr(tg, name, None)
    return float(obj.value) * 1000.0 if obj is not None and obj.value is not None else NAN


def _num(tg: Any, name: str) -> float:
    obj = getattr(tg, name, None)
    return float(obj.value) if obj is not None and obj.value is not None else NAN


class P1:
    """Meter driver for a DSMR 5 P1 port: a reader task keeps the newest valid telegram."""

    measures_frequency = False
    # DSMR 5 sends a telegram a second: a sample up to a second old is the newest there is
    # (the loop's meter interval; without it every 1-s gap read as the grid unseen, so v2h
    # never discharged on a P1 meter: hil/scenarios/p1-dark-grid-loss.toml, 0 Wh, as found)
    publish_interval_s = 1.0

    def __init__(self, cfg: MeterConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.clock = clock
        self.parser = TelegramParser(telegram_specifications.V5)
        self.latest: MeterReading | None = None
        self.bad_telegrams = 0
        self._task: asyncio.Task[None] | None = None
        self._error = "no telegram yet"

    def _take(self, text: str) -> None:
        try:
            tg = self.parser.parse(text)
        except (ParseError, ValueError) as exc:  # a bad CRC or a garbled line: dropped
            self.bad_telegrams += 1
            self._error = f"telegram rejected: {exc}"
            return
        p = [finite_or_nan(_kw(tg, f"INSTANTANEOUS_ACTIVE_POWER_L{i}_POSITIVE")
                           - _kw(tg, f"INSTANTANEOUS_ACTIVE_POWER_L{i}_NEGATIVE"), 1e5)
             for i in (1, 2, 3)]
        v = [finite_or_nan(_num(tg, f"INSTANTANEOUS_VOLTAGE_L{i}"), 1e3) for i in (1, 2, 3)]
        imp = _num(tg, "ELECTRICITY_USED_TARIFF_1") + _num(tg, "ELECTRICITY_USED_TARIFF_2")
        exp = (_num(tg, "ELECTRICITY_DELIVERED_TARIFF_1")
               + _num(tg, "ELECTRICITY_DELIVERED_TARIFF_2"))
        self.latest = MeterReading(self.clock(), p[0], p[1], p[2], v[0], v[1], v[2], NAN,
                                   imp * 1000.0, exp * 1000.0)

    async def _lines(self) -> AsyncIterator[bytes]:
        if self.cfg.serial_port:
            import serial  # pyserial, which dsmr-parser brings along

            port = serial.Serial(self.cfg.serial_port, BAUD, timeout=0.5)
            try:
                while True:
                    data = await asyncio.to_thread(port.read, 4096)
                    if data:
                        yield data
            finally:
                port.close()
        else:
            async with asyncio.timeout(self.cfg.timeout_s * 10):
                reader, writer = await asyncio.open_connection(self.cfg.host, self.cfg.port)
            try:
                while True:
                    async with asyncio.timeout(5.0):  # a telegram a second, or the link is dead
                        data = await reader.read(4096)
                    if not data:
                        raise ConnectionError("P1 bridge closed the connection")
                    yield data
            finally:
                writer.close()

    async def _reader(self) -> None:
        while True:
            buf = TelegramBuffer()
            try:
                async for data in self._lines():
                    buf.append(data.decode("ascii", errors="replace"))
                    for telegram in buf.get_all():
                        self._take(telegram)
            except (OSError, TimeoutError, ConnectionError) as exc:
                self._error = f"P1 link: {exc or type(exc).__name__}"
            await asyncio.sleep(1.0)  # reconnect

    async def read(self) -> MeterReading:
        if self._task is None:
            self._task = asyncio.create_task(self._reader(), name="v2h.meter.p1")
        if self.latest is None:
            raise DeviceError("meter p1", self._error)
        return self.latest  # its t says how old it is: the step judges staleness

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
