"""EVtec BiDiPro 10 over Modbus TCP (default port 5020): the ECP4 / "Modbus 2.0" map, its
idle timeout as our watchdog, the setpoint and the start/stop gate of plug `plug`.

Map (firmware_notes/register-maps.md): holding registers, 32-bit values high word first;
the ChargePoint object at 0..43, plug X's object at X x 100 (offsets below)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from controller.config import Charger as ChargerConfig

from ._gate import StartGate
from ._words import f32, s32, words_s32
from .base import Capabilities, ChargerReading, DeviceError, SocSource, finite_or_nan

TIMEOUT = 42        # 2, int32, s: no Modbus traffic this long -> the charger idles; max 600
STATE = 0           # 2, int32 (plug offset): 1 no car, 2/12 error, 7 charging, 8 discharging
POWER = 10          # 2, float32, W (+ charging): measured
SOC = 12            # 2, int32, per mille; 0 outside a session
ERROR = 54          # 4, uint64: 40-bit error mask, 0 = none
SET_POWER = 86      # 2, int32, W (negative = discharge)
START = 88          # 2, int32: 1 start, 0 stop
SPAN = START + 2    # one read: state .. the start/stop gate
NO_CAR = (0, 1, 4, 5, 6)  # starting up, no car, and plugged but not yet controllable
ERROR_STATES = (2, 12)
LIMIT_W = 10_000
TIMEOUT_MAX_S = 600

CAPS = Capabilities(
    max_charge_w=LIMIT_W, max_discharge_w=LIMIT_W,
    min_power_w=0.0,  # the source states no fixed minimum: limits.min_power_w rules
    stop="both",  # 0 W on the setpoint and 0 on the start/stop gate
    soc=SocSource(SOC, 0.1, session_only=True),
    watchdog_register=TIMEOUT, watchdog_max_s=TIMEOUT_MAX_S,
    energy_counters=False, phases=(1, 3))


class Evtec(StartGate):
    """Charger driver. Every set_power() writes the setpoint (traffic feeds its idle
    timeout); the gate is opened (1) once per run and closed (0) with every stop
    (StartGate)."""

    caps = CAPS
    name = "evtec"
    limit_w = LIMIT_W

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(cfg, clock)
        self.base = (cfg.plug or 1) * 100
        self._timeout_s: int | None = None

    async def read(self) -> ChargerReading:
        r = await self.link.read(3, self.base + STATE, SPAN)
        t = await self.link.read(3, TIMEOUT, 2)
        state = s32(r, STATE)
        car = state not in NO_CAR
        permille = s32(r, SOC)
        soc = permille / 10.0 if car and 0 < permille <= 1000 else math.nan
        err = 1 if any(r[ERROR:ERROR + 4]) else 0
        # ours: the idle timeout as we set it, and the gate open while we run (a session
        # ended at the charger or in its app closes it: control is taken again, a stop first)
        ours = (self._timeout_s is not None and s32(t) == self._timeout_s
                and not (self._running and s32(r, START) != 1))
        return ChargerReading(self.clock(), finite_or_nan(f32(r, POWER), 2.0 * LIMIT_W), car,
                              state not in ERROR_STATES and err == 0, soc, state, err, ours)

    async def take_control(self, watchdog_s: int) -> None:
        w = int(min(watchdog_s, TIMEOUT_MAX_S))
        await self.link.write_words(TIMEOUT, words_s32(w))
        self._timeout_s = w
        t = await self.link.read(3, TIMEOUT, 2)
        if s32(t) != w:
            raise DeviceError(self.link.name, f"idle timeout not set: register 42 reads {s32(t)}")
        self._running = None

    async def _setpoint(self, watts: int) -> None:
        await self.link.write_words(self.base + SET_POWER, words_s32(watts))

    async def _gate(self, start: bool) -> None:
        await self.link.write_words(self.base + START, words_s32(1 if start else 0))

    async def release(self) -> None:
        """0 W and stop; its idle timeout stays (there is no control register to hand back)."""
        await self.stop()
