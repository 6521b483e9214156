"""A SunSpec EVSE over Modbus TCP (the Fermata FE-20: port 8502): the models found by
walking the chain from "SunS" at 40000, power by the DER controls' setpoint, SoC from the
FE-20's own register 41104.

Map (firmware_notes/register-maps.md): holding registers; offsets from each model's header
(its id register) as below; values x 10^W_SF where so marked."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from controller.config import Charger as ChargerConfig

from ._modbus import ModbusLink
from ._words import s16
from .base import Capabilities, ChargerReading, DeviceError, SocSource, finite_or_nan

SUNS = 40000            # 2: "SunS" (0x5375 0x6E53), then (model id, length) headers
MARKER = [0x5375, 0x6E53]
END_ID = 0xFFFF
INV_ST = 4              # 701 + 4: 1 off, 2 sleeping, 3 starting, 7 fault, 8 standby,
                        # 9 charging, 10 discharging (4..6: running, idle here)
W = 10                  # 701 + 10: int16, W x 10^W_SF (+ charging)
W_SF = 93               # 701 + 93: int16
W_CHA_MAX = 10          # 702 + 10: uint16, W x 10^W_SF
W_DIS_MAX = 11          # 702 + 11: uint16, W x 10^W_SF
W_SET = 10              # 704 + 10: int16, W x 10^W_SF (+ charge, - discharge)
SOC = 41104             # int16, % (FE-20's own; 0 without a car)
NO_CAR = (1, 2, 3)
FAULT = 7
MAX_MODELS = 32
LIMIT_W = 20_000

CAPS = Capabilities(
    max_charge_w=LIMIT_W, max_discharge_w=LIMIT_W,
    min_power_w=0.0,  # the source states none: limits.min_power_w rules
    stop="zero",  # the setpoint 0; no stop command
    soc=SocSource(SOC, 1.0, session_only=True),
    watchdog_register=None, watchdog_max_s=0,  # the source names no Modbus watchdog
    energy_counters=False, phases=(1, 3))


class SunSpec:
    """Charger driver: the model chain is walked once (again after the charger was lost),
    then every set_power() writes the setpoint."""

    caps = CAPS

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.link = ModbusLink("charger sunspec", cfg.host, cfg.port, cfg.unit_id,
                               cfg.timeout_s)
        self.clock = clock
        self.models: dict[int, int] = {}  # model id -> address of its header
        self.scale = 1.0
        self.rated = (float(LIMIT_W), float(LIMIT_W))

    async def discover(self) -> None:
        """Walk the chain from 40000: each model's header (id, length) to the end marker;
        DeviceError unless 701, 702 and 704 are there."""
        if (await self.link.read(3, SUNS, 2)) != MARKER:
            raise DeviceError(self.link.name, "no SunSpec marker at 40000")
        at, models = SUNS + 2, {}
        for _ in range(MAX_MODELS):
            mid, length = await self.link.read(3, at, 2)
            if mid == END_ID:
                break
            models[mid] = at
            at += 2 + length
        missing = {701, 702, 704} - set(models)
        if missing:
            raise DeviceError(self.link.name, f"SunSpec models missing: {sorted(missing)}")
        sf = s16((await self.link.read(3, models[701] + W_SF, 1))[0])
        if not -10 <= sf <= 10:
            raise DeviceError(self.link.name, f"W_SF out of range: {sf}")
        self.scale = 10.0**sf
        r = await self.link.read(3, models[702] + W_CHA_MAX, 2)
        self.rated = (r[0] * self.scale or LIMIT_W, r[1] * self.scale or LIMIT_W)
        self.models = models

    async def read(self) -> ChargerReading:
        if not self.models:
            await self.discover()
        m = await self.link.read(3, self.models[701] + INV_ST, W - INV_ST + 1)
        soc_w = (await self.link.read(3, SOC, 1))[0]
        st = m[0]
        car = st not in NO_CAR
        soc = float(s16(soc_w))
        return ChargerReading(
            self.clock(), finite_or_nan(s16(m[W - INV_ST]) * self.scale, 2.0 * LIMIT_W), car,
            st != FAULT, soc if car and 0.0 < soc <= 100.0 else math.nan, st,
            1 if st == FAULT else 0, True)

    async def take_control(self, watchdog_s: int) -> None:
        """Nothing to configure (no control register, no watchdog): the chain is walked."""
        await self.discover()

    async def stop(self) -> None:
        await self._write(0)

    async def set_power(self, watts: float) -> None:
        w = max(-self.rated[1], min(self.rated[0], watts))
        await self._write(int(round(w / self.scale)))

    async def _write(self, word: int) -> None:
        if not self.models:
            await self.discover()
        await self.link.write(self.models[704] + W_SET, max(-32768, min(32767, word)))

    def forget(self) -> None:
        """After lost replies: walk the chain again (a reboot may have changed it)."""
        self.models = {}

    async def release(self) -> None:
        await self.stop()

    async def close(self) -> None:
        await self.link.close()
