"""A pymodbus TCP server on 127.0.0.1 for one emulated device, answering like the device."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimDevice
from pymodbus.simulator.simcore import SimCore


class _StrictCore(SimCore):
    """pymodbus falls back to device 0 for an unknown unit id and, lacking one, fails with a
    KeyError that becomes a 'device failure' reply. A real device ignores a request for
    another unit: raise NoSuchIdException so the server stays silent instead."""

    async def async_getValues(self, device_id, func_code, address, count=1):  # noqa: N802
        if device_id not in self.devices:
            raise NoSuchIdException(f"no unit {device_id}")
        return await super().async_getValues(device_id, func_code, address, count)

    async def async_setValues(self, device_id, func_code, address, values):  # noqa: N802
        if device_id not in self.devices:
            raise NoSuchIdException(f"no unit {device_id}")
        return await super().async_setValues(device_id, func_code, address, values)


async def start_server(device: SimDevice, port: int,
                       trace_packet: Callable[[bool, bytes], bytes] | None = None
                       ) -> tuple[ModbusTcpServer, int]:
    """Listen on 127.0.0.1:port (0 = a free port); returns the server and its port."""
    server = ModbusTcpServer(device, address=("127.0.0.1", port), ignore_missing_devices=True,
                             trace_packet=trace_packet)
    server.context = _StrictCore(device)
    await server.serve_forever(background=True)
    # pymodbus types its transport as a BaseTransport; listening, it is the asyncio.Server
    sock = cast("asyncio.Server", server.transport).sockets[0]
    return server, int(sock.getsockname()[1])
