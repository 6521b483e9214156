"""A Dutch smart meter's P1 port (DSMR 5) behind a TCP bridge (ser2net and the like): every
bench second one telegram, built from the plant, pushed to every connected client.

Source: Netbeheer Nederland, "P1 Companion Standard" (DSMR 5.0.2): the OBIS codes, their
formats and the CRC16 below; see firmware_notes/register-maps.md. The meter is powered by
the grid it measures, so a dark meter (meter_dark, meter_silent) sends nothing and a refused
one (meter_refused) closes the bridge's port."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import TYPE_CHECKING

from ._meter import MeterEmulator, Sample

if TYPE_CHECKING:
    from ._bench import Bench

HEADER = "/XMX5LGBBFG1012345678"  # "/" manufacturer (3), baud id "5", identification
DAY = dt.date(2026, 11, 27)       # the bench's calendar day (winter time: "W")
# OBIS code                       # format (DSMR 5.0.2 §6.12), unit
VERSION = "1-3:0.2.8"             # S2, 50 = DSMR 5.0
TIMESTAMP = "0-0:1.0.0"           # YYMMDDhhmmssX (X = S summer, W winter)
EQUIPMENT = "0-0:96.1.1"          # Sn (n<=96), hex of the serial number
IMPORT_T1 = "1-0:1.8.1"           # F9(3,3), kWh delivered to the client, tariff 1
IMPORT_T2 = "1-0:1.8.2"           # F9(3,3), kWh, tariff 2
EXPORT_T1 = "1-0:2.8.1"           # F9(3,3), kWh delivered by the client, tariff 1
EXPORT_T2 = "1-0:2.8.2"           # F9(3,3), kWh, tariff 2
TARIFF = "0-0:96.14.0"            # S4, tariff indicator
POWER_IMP = "1-0:1.7.0"           # F5(3,3), kW, +P (all phases)
POWER_EXP = "1-0:2.7.0"           # F5(3,3), kW, -P
FAILURES = "0-0:96.7.21"          # F5(0,0), power failures in any phase
VOLTAGE = ("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0")   # F4(1,1), V, L1..L3
CURRENT = ("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0")   # F3(0,0), A, L1..L3
PHASE_IMP = ("1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0")  # F5(3,3), kW, +P L1..L3
PHASE_EXP = ("1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0")  # F5(3,3), kW, -P L1..L3


def crc16(text: str) -> int:
    """CRC16 of a telegram, from "/" to "!" inclusive: polynomial x^16+x^15+x^2+1 (0xA001
    reflected), initial 0, no final xor (CRC-16/ARC), as the companion standard gives it."""
    crc = 0
    for byte in text.encode("ascii"):
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _kw(w: float) -> str:
    return f"{min(99.999, max(0.0, w) / 1000.0):06.3f}"


def telegram(s: Sample, t_bench: float, start_s: int, failures: int = 0,
             corrupt: bool = False) -> bytes:
    """One DSMR 5 telegram of this sample at bench time t_bench (s after start_s, the
    scenario's start in seconds of the day), its CRC spoiled when `corrupt`."""
    when = dt.datetime.combine(DAY, dt.time()) + dt.timedelta(seconds=start_s + int(t_bench))
    imp, exp = s.import_wh / 1000.0, s.export_wh / 1000.0
    lines = [HEADER, "", f"{VERSION}(50)", f"{TIMESTAMP}({when:%y%m%d%H%M%S}W)",
             f"{EQUIPMENT}(4B384547303034303436333935353037)",
             f"{IMPORT_T1}({0.0:010.3f}*kWh)", f"{IMPORT_T2}({imp:010.3f}*kWh)",
             f"{EXPORT_T1}({0.0:010.3f}*kWh)", f"{EXPORT_T2}({exp:010.3f}*kWh)",
             f"{TARIFF}(0002)", f"{POWER_IMP}({_kw(sum(s.p))}*kW)",
             f"{POWER_EXP}({_kw(-sum(s.p))}*kW)", f"{FAILURES}({failures:05d})"]
    lines += [f"{code}({s.v:05.1f}*V)" for code in VOLTAGE]
    lines += [f"{code}({min(999, round(abs(p) / s.v) if s.v > 0 else 0):03d}*A)"
              for code, p in zip(CURRENT, s.p)]
    lines += [f"{code}({_kw(p)}*kW)" for code, p in zip(PHASE_IMP, s.p)]
    lines += [f"{code}({_kw(-p)}*kW)" for code, p in zip(PHASE_EXP, s.p)]
    body = "\r\n".join(lines) + "\r\n!"
    crc = crc16(body) ^ (0x5A5A if corrupt else 0)
    return f"{body}{crc:04X}\r\n".encode("ascii")


class P1(MeterEmulator):
    """The P1 port as a TCP bridge on 127.0.0.1, fed by the bench's plant."""

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        super().__init__(bench, unit_id)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.sent = 0  # telegrams pushed (to any client)
        self._second = 0  # the last whole second a telegram went out for
        self._frozen_tg: bytes | None = None

    async def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:port (0 = a free port); returns the port."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port or self.port)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    def close(self) -> None:
        """The bridge's port closed: every client dropped, new ones refused."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            w.close()
        self.writers.clear()

    async def stop(self) -> None:
        self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while await reader.read(1024):  # P1 is one-way: what a client sends is ignored
                pass
        except ConnectionError:
            pass
        finally:
            self.writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def on_tick(self) -> None:
        """Each whole bench second (1, 2, ...): a telegram, unless the meter is dark."""
        b = self.bench
        sec = int(b.now())
        if sec == self._second:
            return
        self._second = sec
        f = b.faults
        if f.meter_silent or f.meter_dark or f.meter_refused:
            return
        if f.meter_frozen:
            if self._frozen_tg is None:
                self._frozen_tg = self._telegram()
            data = self._frozen_tg
        else:
            self._frozen_tg = None
            data = self._telegram(corrupt=f.meter_garbage)
        self.sent += 1
        for w in list(self.writers):
            if not w.is_closing():
                w.write(data)

    def _telegram(self, corrupt: bool = False) -> bytes:
        b = self.bench
        start = sum(int(x) * m for x, m in zip(b.scenario.start.split(":"), (3600, 60, 1)))
        return telegram(self.sample(), b.now(), start, corrupt=corrupt)
