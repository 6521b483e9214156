"""The grid meter as the loop sees it: one driver, one connection, one reader at a time.

The control cycle (1 s) and the grid watch (10 Hz) share it: each read goes through one
lock, and both take the freshest sample with its age. A serial (RTU) port or a P1 port can
be opened once only, and a Modbus TCP meter gets half the traffic this way."""

from __future__ import annotations

import asyncio
from collections import deque

from controller.devices import DeviceError, Meter, MeterReading

# the meter's phase: detections kept, and how far apart its publications must be (in
# periods) to be a meter with a clock of its own rather than one that is measured per read
PHASE_DETECTIONS = 8
PHASE_MIN_GAP = 0.6


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
        # new samples seen: (t of the last read that still showed the old values, t of the
        # first that showed new ones); the publication fell between
        self.news: deque[tuple[float, float]] = deque(maxlen=PHASE_DETECTIONS)
        self._vals: tuple[float, ...] | None = None
        self._last_t = float("nan")

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
        self._note(r)
        return r

    def _note(self, r: MeterReading) -> None:
        """A read that shows other values than the last one: a new sample, published since
        the last read (NaN compares unequal: garbage is never a phase)."""
        vals = (r.p1, r.p2, r.p3, r.v1, r.freq)
        if vals != self._vals:
            if self._vals is not None and r.t > self._last_t:
                self.news.append((self._last_t, r.t))
            self._vals = vals
        self._last_t = r.t

    def next_publication(self, near: float, period_s: float) -> float | None:
        """When the meter's own clock will publish next, nearest to `near` (s, the loop's
        clock): the latest moment a new sample can be there, from the recent new samples
        intersected modulo the period. None when the meter gives no phase: one that shows a
        new sample at every read (a polled meter measures when asked), one seen publishing
        at another pace than the period, or too few samples seen."""
        news = list(self.news)
        if len(news) < 3:
            return None
        for (_, h0), (lo1, h1) in zip(news, news[1:]):
            # a meter with its own clock: a read in between that still showed the old
            # sample, and publications about a period apart
            if not (lo1 > h0 and h1 - h0 >= PHASE_MIN_GAP * period_s):
                return None
        ref = news[-1][1]
        lo_max = hi_min = None
        for lo, hi in news:
            k = round((ref - hi) / period_s)
            lo, hi = lo + k * period_s, hi + k * period_s
            lo_max = lo if lo_max is None else max(lo_max, lo)
            hi_min = hi if hi_min is None else min(hi_min, hi)
        assert lo_max is not None and hi_min is not None
        if lo_max >= hi_min:  # inconsistent (jitter, another pace): the last one alone
            hi_min = ref
        return hi_min + round((near - hi_min) / period_s) * period_s

    def freq(self, r: MeterReading) -> float:
        return r.freq if self.nominal_hz is None else self.nominal_hz

    async def close(self) -> None:
        await self.driver.close()
