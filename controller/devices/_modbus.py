"""A pymodbus TCP client with a timeout on every call, shared by the Modbus drivers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from .base import DeviceError


class ModbusLink:
    """One device over Modbus TCP, or Modbus RTU on a serial port: reconnects on demand,
    every call under asyncio.timeout."""

    def __init__(self, name: str, host: str, port: int, unit_id: int, timeout_s: float,
                 serial: dict[str, Any] | None = None) -> None:
        self.name = name
        self.unit_id = unit_id
        self.timeout_s = timeout_s
        self.client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if serial:
            self.client = AsyncModbusSerialClient(
                serial["port"], framer=FramerType.RTU, baudrate=serial["baudrate"],
                parity=serial["parity"], stopbits=serial["stopbits"], timeout=timeout_s,
                retries=0, reconnect_delay=0.0)
        else:
            self.client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0,
                                               reconnect_delay=0.0)

    async def _ensure(self) -> None:
        if not self.client.connected:
            async with asyncio.timeout(self.timeout_s):
                if not await self.client.connect():
                    raise DeviceError(self.name, "no connection")

    async def _call(self, what: str, request: Callable[[], Awaitable[Any]]) -> Any:
        """One request under the timeout; every way it can fail becomes a DeviceError."""
        try:
            await self._ensure()
            async with asyncio.timeout(self.timeout_s):
                r = await request()
        except (TimeoutError, ModbusException, ConnectionError, OSError) as exc:
            raise DeviceError(self.name, f"{what}: {exc or type(exc).__name__}") from None
        if r.isError():
            raise DeviceError(self.name, f"{what}: exception {r.exception_code}")
        return r

    async def read(self, fc: int, address: int, count: int) -> list[int]:
        """Read `count` registers (FC 3 holding, FC 4 input)."""
        fn = self.client.read_input_registers if fc == 4 else self.client.read_holding_registers
        what = f"read {address:#06x}"
        r = await self._call(what, lambda: fn(address, count=count, device_id=self.unit_id))
        if len(r.registers) != count:
            raise DeviceError(self.name, f"{what}: short reply")
        return list(r.registers)

    async def write(self, address: int, word: int) -> None:
        """Write one holding register (FC 6)."""
        await self._call(f"write {address}", lambda: self.client.write_register(
            address, word & 0xFFFF, device_id=self.unit_id))

    async def write_words(self, address: int, words: list[int]) -> None:
        """Write consecutive holding registers in one request (FC 16): a 32-bit value."""
        await self._call(f"write {address}", lambda: self.client.write_registers(
            address, [w & 0xFFFF for w in words], device_id=self.unit_id))

    async def close(self) -> None:
        self.client.close()
