"""The small interfaces every device driver implements (units in the names: W, V, Hz, Wh, %,
s), and the readings they return. A value the device did not give sanely is NaN: the step
treats it as missing data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

NAN = math.nan


class DeviceError(Exception):
    """A device did not answer, answered with an exception, or answered garbage."""

    def __init__(self, device: str, what: str) -> None:
        self.device = device
        self.what = what
        super().__init__(f"{device}: {what}")


@dataclass(frozen=True)
class MeterReading:
    """The grid meter at time t (monotonic s): per-phase power (W, + import), voltage (V),
    frequency (Hz) and energy counters (Wh)."""

    t: float
    p1: float
    p2: float
    p3: float
    v1: float
    v2: float
    v3: float
    freq: float
    import_wh: float = NAN
    export_wh: float = NAN

    @property
    def grid_w(self) -> float:
        return self.p1 + self.p2 + self.p3


@dataclass(frozen=True)
class ChargerReading:
    """The charger at time t: its power (W, + charging), state, car SoC (% or NaN), and
    whether it is under our control as we set it (a driver that cannot tell says True)."""

    t: float
    power_w: float
    car_present: bool
    ready: bool
    soc: float
    state: int
    error: int
    controlled: bool = True


class Meter(Protocol):
    """A grid meter: one complete reading (its t is when it was taken). A driver whose
    meter publishes on its own clock says how often in `publish_interval_s` (s)."""

    async def read(self) -> MeterReading: ...

    async def close(self) -> None: ...


class Charger(Protocol):
    """A bidirectional charger under our control."""

    async def read(self) -> ChargerReading: ...

    async def take_control(self, watchdog_s: int) -> None:
        """Remote control, power setpoints, its own watchdog set to watchdog_s (s); raises
        DeviceError unless a read-back confirms them. Moves no power by itself."""

    async def stop(self) -> None:
        """0 W and the charger's stop command, whatever it was doing."""

    async def set_power(self, watts: float) -> None:
        """The signed setpoint (W, + charge); every call also feeds the watchdog."""

    async def release(self) -> None:
        """0 W, stop, and control handed back to the charger."""

    async def close(self) -> None: ...


def finite_or_nan(x: float, limit: float) -> float:
    """x when it is a number within ±limit, else NaN (garbage is missing data)."""
    return x if math.isfinite(x) and abs(x) <= limit else NAN
