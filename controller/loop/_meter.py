"""The grid meter as the loop sees it: one driver, one connection, one reader at a time.

The control cycle (1 s) and the grid watch (10 Hz) share it: each read goes through one
lock, and both take the freshest sample with its age. A serial (RTU) port or a P1 port can
be opened once only, and a Modbus TCP meter gets half the traffic this way."""

from __future__ import annotations

import asyncio

from controller.devices import DeviceError, Meter, MeterReading


class MeterLink:
    """The meter's freshest sample (`sample`, its t is when it was read) and how to read
    it anew. P1 gives no frequency: then `nominal_hz` stands in for it (voltage decides)."""

    def __init__(self, driver: Meter, timeout_s: float) -> None:
        self.driver = driver
        self.timeout_s = timeout_s
        self.io = asyncio.Lock()
        self.sample: MeterReading | None = None
        self.error: str = "no reading yet"
        self.nominal_hz = None if getattr(driver, "measures_frequency", True) else 50.0
        # how often the meter itself publishes (s): 0 for a polled Modbus meter, 1 for P1
        self.interval_s = float(getattr(driver, "publish_interval_s", 0.0))

    async def read(self, within_s: float | None = None) -> MeterReading | None:
        """One read (bounded by the driver's timeout and ours, and by `within_s` when given:
        the grid watch's deadline); the new sample, or None with `error` saying why. A
        failed read leaves the last sample, which ages."""
        limit = self.timeout_s + 0.2
        if within_s is not None:
            limit = max(0.02, min(limit, within_s))
        async with self.io:
            try:
                async with asyncio.timeout(limit):
                    r = await self.driver.read()
            except (DeviceError, TimeoutError) as exc:
                self.error = str(exc) or "timeout"
                return None
        if self.sample is None or r.t >= self.sample.t:
            self.sample = r
        return r

    def freq(self, r: MeterReading) -> float:
        return r.freq if self.nominal_hz is None else self.nominal_hz

    async def close(self) -> None:
        await self.driver.close()
