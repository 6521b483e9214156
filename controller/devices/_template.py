"""TEMPLATE for a new charger driver: copy to `controller/devices/<name>.py`, fill in the map
and the five methods, register it in `controller/devices/__init__.py` (CHARGERS and
CHARGER_CAPS), add its name to `controller.config.Charger.driver`, and write its emulator
from `hil/_template.py`. Mirror the map, with its public source, in
firmware_notes/register-maps.md (where the source is thin, say so and take the safe reading).

Rules every driver keeps (tests/unit/test_devices_caps.py checks what it can):
* powers in and out are ev_w (W, + charging): the charger's own sign is translated here;
* a value that is not a finite, physical number is NaN, never 0 and never the last one;
  every failure to answer or a bad reply is a DeviceError (ModbusLink does this);
* `caps` says what the loop must know; a command below `caps.min_power_w` is a stop, and
  nothing in `caps.never_write` is ever written;
* `read().controlled` is False when the charger's configuration is not as `take_control`
  left it (a reboot, someone else): the loop then takes control again, a stop first."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from controller.config import Charger as ChargerConfig

from ._modbus import ModbusLink
from ._words import s32, words_s32
from .base import Capabilities, ChargerReading, SocSource, finite_or_nan

POWER = 100         # 2, int32, W (+ charging): measured          <- address  # count, type
SOC = 102           # 2, int32, 0.1 %                                scale, unit, source
SETPOINT = 200      # 2, int32, W (+ charge)
LIMIT_W = 7_400

CAPS = Capabilities(
    max_charge_w=LIMIT_W, max_discharge_w=LIMIT_W, min_power_w=0.0, stop="zero",
    soc=SocSource(SOC, 0.1, session_only=True),
    watchdog_register=None, watchdog_max_s=0, energy_counters=False, phases=(1, 3))


class Template:
    """Charger driver (template)."""

    caps = CAPS

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.link = ModbusLink("charger template", cfg.host, cfg.port, cfg.unit_id,
                               cfg.timeout_s)
        self.clock = clock

    async def read(self) -> ChargerReading:
        r = await self.link.read(3, POWER, 4)
        soc = s32(r, SOC - POWER) / 10.0
        return ChargerReading(self.clock(), finite_or_nan(float(s32(r, 0)), 2.0 * LIMIT_W),
                              True, True, soc if 0.0 < soc <= 100.0 else math.nan, 0, 0)

    async def take_control(self, watchdog_s: int) -> None:
        """Set and read back what control needs (remote mode, its watchdog); none here."""

    async def stop(self) -> None:
        await self.link.write_words(SETPOINT, words_s32(0))

    async def set_power(self, watts: float) -> None:
        w = int(round(max(-LIMIT_W, min(LIMIT_W, watts))))
        await self.link.write_words(SETPOINT, words_s32(w))

    async def release(self) -> None:
        await self.stop()

    async def close(self) -> None:
        await self.link.close()
