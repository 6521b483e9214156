"""A meter on an RS-485 line, for the bench: two raw pseudo-terminals joined by a relay stand
in for the pair; the emulator answers on one end as a pymodbus serial (RTU) server, the
controller opens the other (`meter.serial_port`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable

from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import SimDevice

from ._modbus import _StrictCore


def _pty() -> tuple[int, str]:
    """A raw pseudo-terminal: (non-blocking master fd, slave device path)."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    name = os.ttyname(slave)
    os.close(slave)
    os.set_blocking(master, False)
    return master, name


def _relay(src: int, dst: int) -> None:
    try:
        data = os.read(src, 4096)
    except OSError:  # nothing yet, or the far end not open yet
        return
    with contextlib.suppress(OSError):
        os.write(dst, data)


class RtuLine:
    """The line: `start()` opens the server's end and returns the controller's end (a path)."""

    def __init__(self, device: SimDevice, baudrate: int = 9600,
                 trace_packet: Callable[[bool, bytes], bytes] | None = None) -> None:
        self.device = device
        self.baudrate = baudrate
        self.trace_packet = trace_packet
        self.server: ModbusSerialServer | None = None
        self._fds: list[int] = []

    async def start(self) -> str:
        m1, dev1 = _pty()
        m2, dev2 = _pty()
        self._fds = [m1, m2]
        loop = asyncio.get_running_loop()
        self.server = ModbusSerialServer(self.device, framer=FramerType.RTU, port=dev1,
                                         baudrate=self.baudrate, ignore_missing_devices=True,
                                         trace_packet=self.trace_packet)
        self.server.context = _StrictCore(self.device)
        await self.server.serve_forever(background=True)
        loop.add_reader(m1, _relay, m1, m2)
        loop.add_reader(m2, _relay, m2, m1)
        return dev2

    async def shutdown(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None
        loop = asyncio.get_running_loop()
        for fd in self._fds:
            loop.remove_reader(fd)
            os.close(fd)
        self._fds = []
