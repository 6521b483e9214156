"""The small interfaces every device driver implements (units in the names: W, V, Hz, Wh, %,
s), and the readings they return. A value the device did not give sanely is NaN: the step
treats it as missing data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

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
    charged_wh: float = NAN  # the charger's own energy counters (Wh), where it has them
    discharged_wh: float = NAN


@dataclass(frozen=True)
class SocSource:
    """Where a charger's car SoC comes from: `register` (None: none to read; the charger
    gives none, or sends it in a message, as OCPP's MeterValues SoC measurand) read
    as count x `scale` %, and whether it reads only during a session (`session_only`: a 0 or
    a missing value outside one is no reading, not an empty battery)."""

    register: int | None
    scale: float = 1.0
    session_only: bool = False


@dataclass(frozen=True)
class Capabilities:
    """What a charger driver declares and the loop, the supervisor's limits, `check-config`
    and the ledger read: nothing outside `devices/` asks which charger it is.

    * `max_charge_w`, `max_discharge_w` (W): the most it moves each way;
    * `min_power_w` (W): the smallest |power| it regulates; a command below it is a stop;
    * `stop`: how it stops: "zero" (a 0 W setpoint), "command" (a stop command), "both";
    * `never_write`: (register, value) pairs the driver must never write, the value whole
      (a 32-bit value is one value at its first register; e.g. a 0 W limit that latches an
      error in the car);
    * `soc`: where the SoC comes from (SocSource);
    * `watchdog_register`, `watchdog_max_s` (s): the register of its own Modbus watchdog or
      idle timeout and the longest value it takes; None and 0 when it has none;
    * `watchdog_profile`: its watchdog is no register but the validity of each command
      (OCPP: every charging profile expires after watchdog_s), up to `watchdog_max_s`;
    * `energy_counters`: it reports charged and discharged energy (Wh) in its reading;
    * `phases`: the AC connections it comes in (1 and/or 3)."""

    max_charge_w: float
    max_discharge_w: float
    min_power_w: float
    stop: Literal["zero", "command", "both"]
    soc: SocSource
    watchdog_register: int | None
    watchdog_max_s: int
    never_write: tuple[tuple[int, int], ...] = ()
    watchdog_profile: bool = False
    energy_counters: bool = False
    phases: tuple[int, ...] = (1,)

    @property
    def has_watchdog(self) -> bool:
        return ((self.watchdog_register is not None or self.watchdog_profile)
                and self.watchdog_max_s > 0)


class Meter(Protocol):
    """A grid meter: one complete reading (its t is when it was taken). A driver whose
    meter publishes on its own clock says how often in `publish_interval_s` (s)."""

    async def read(self) -> MeterReading: ...

    async def close(self) -> None: ...


@runtime_checkable
class Charger(Protocol):
    """A bidirectional charger under our control; `caps` says what it can do (Capabilities).
    Its signs are translated at its edge: power in and out is `ev_w` (W, + charging)."""

    caps: Capabilities

    async def read(self) -> ChargerReading: ...

    async def take_control(self, watchdog_s: int) -> None:
        """Remote control, power setpoints, its own watchdog set to watchdog_s (s); raises
        DeviceError unless a read-back confirms them. Moves no power by itself."""

    async def stop(self) -> None:
        """0 W and the charger's stop command, whatever it was doing."""

    async def set_power(self, watts: float) -> None:
        """The signed setpoint (W, + charge); every call also feeds the watchdog. A value
        below `caps.min_power_w` in magnitude is a stop."""

    async def release(self) -> None:
        """0 W, stop, and control handed back to the charger."""

    async def close(self) -> None: ...


def finite_or_nan(x: float, limit: float) -> float:
    """x when it is a number within ±limit, else NaN (garbage is missing data)."""
    return x if math.isfinite(x) and abs(x) <= limit else NAN
