"""Sigenergy EVDC (the DC charger module of a Sigen hybrid inverter, Modbus protocol V2.9)
over Modbus TCP, on the inverter's unit id: start / stop by command, power by two limits.

Map (firmware_notes/register-maps.md): input registers 31500.., holding 41000..; 32-bit
values high word first. 41002 is never written 0 (the car latches an error): every stop
goes through 41000, and a command below 1000 W is a stop."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from controller.config import Charger as ChargerConfig

from ._gate import StartGate
from ._words import s32, u32
from .base import Capabilities, ChargerReading, SocSource, finite_or_nan

BLOCK = 31500           # one FC 4 read of 31500..31526
POWER = 31502           # 2, int32, W (negative while discharging)
SOC = 31504             # 1, uint16, 0.1 % (0: no car or no BMS data)
STATE = 31513           # 1, uint16: 0 idle, 1 occupied, 2 preparing, 3 charging, 4 fault,
                        # 5 scheduled, 6 ended, 7 unavailable, 8 discharging, 9 alarm, 10 iso
TOTAL_WH = 31519        # 2, uint32, 10 Wh charged
TOTAL_DIS_WH = 31521    # 2, uint32, 10 Wh discharged
RATED_W = 31523         # 2, uint32, W
RATED_DIS_W = 31525     # 2, uint32, W
SPAN = RATED_DIS_W + 2 - BLOCK
START_STOP = 41000      # 1, uint16, FC 6 only: 0 start, 1 stop
POWER_LIMIT = 41002     # 2, uint32, W: charge power, >= MIN_W, never 0
DIS_LIMIT = 41004       # 2, uint32, W: discharge power; 0 = none
NO_CAR = (0, 7)
ENDED = 6               # the session ended: by us (a stop), or at the unit or in its app
ERROR_STATES = (4, 7, 9)
MIN_W = 1_000           # the smallest power field-tested (PR #32023); 0 latches an error
LIMIT_W = 12_000

CAPS = Capabilities(
    max_charge_w=LIMIT_W, max_discharge_w=LIMIT_W, min_power_w=MIN_W,
    stop="command", never_write=((POWER_LIMIT, 0),),
    soc=SocSource(SOC, 0.1, session_only=True),
    watchdog_register=None, watchdog_max_s=0,  # the source names no Modbus watchdog
    energy_counters=True, phases=(1, 3))


def _u32_words(value: int) -> list[int]:
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


class Sigenergy(StartGate):
    """Charger driver: ev_w > 0 charges at 41002 (41004 = 0), ev_w < 0 discharges at 41004;
    41000 starts once per run and stops. The limits are read back: a unit that lost them
    (rebooted) is not as we set it, and control is taken again, a stop first."""

    caps = CAPS
    name = "sigenergy"
    limit_w = LIMIT_W

    def __init__(self, cfg: ChargerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(cfg, clock)
        self._limits: tuple[int, int] | None = None  # (41002, 41004) as we last wrote them
        self._rated = (LIMIT_W, LIMIT_W)

    async def read(self) -> ChargerReading:
        r = await self.link.read(4, BLOCK, SPAN)
        h = await self.link.read(3, POWER_LIMIT, 4)
        def at(address: int) -> int:
            return address - BLOCK

        state = r[at(STATE)]
        car = state not in NO_CAR
        soc = r[at(SOC)] / 10.0 if car and 0 < r[at(SOC)] <= 1000 else math.nan
        self._rated = (u32(r, at(RATED_W)) or LIMIT_W, u32(r, at(RATED_DIS_W)) or LIMIT_W)
        return ChargerReading(
            self.clock(), finite_or_nan(float(s32(r, at(POWER))), 2.0 * LIMIT_W), car,
            state not in ERROR_STATES, soc, state, 1 if state in ERROR_STATES else 0,
            # ours: the limits as we wrote them, and no session ended while we run it (41000
            # is write-only: someone's stop shows as state 6; control is taken again)
            (self._limits is None or (u32(h, 0), u32(h, 2)) == self._limits)
            and not (self._running and state == ENDED),
            u32(r, at(TOTAL_WH)) * 10.0, u32(r, at(TOTAL_DIS_WH)) * 10.0)

    async def take_control(self, watchdog_s: int) -> None:
        """No control register, no watchdog: a stop first (new limits on a running unit
        would change its power: a discharge limit cleared turns it to charging), then the
        limits set to a known, safe pair (the smallest charge, no discharge)."""
        await self.stop()
        await self.link.write_words(POWER_LIMIT, _u32_words(MIN_W))
        await self.link.write_words(DIS_LIMIT, _u32_words(0))
        self._limits = (MIN_W, 0)
        self._running = None

    async def stop(self) -> None:
        """41000 = 1 alone: no setpoint is written (0 W on 41002 latches an error)."""
        await self._gate(False)
        self._running = False

    async def _gate(self, start: bool) -> None:
        await self.link.write(START_STOP, 0 if start else 1)

    async def set_power(self, watts: float) -> None:
        w = int(round(watts))
        if abs(w) < MIN_W:  # 0 is never written to 41002: a small command is a stop
            if self._running is not False:
                await self.stop()
            else:
                await self._gate(False)  # traffic, and a stop again
            return
        chg, dis = self._limits or (MIN_W, -1)
        if w > 0:
            chg = max(MIN_W, min(w, self._rated[0]))
            await self.link.write_words(POWER_LIMIT, _u32_words(chg))
            if dis != 0:  # the charge limit first, then out of discharge
                dis = 0
                await self.link.write_words(DIS_LIMIT, _u32_words(0))
        else:
            dis = max(MIN_W, min(-w, self._rated[1]))
            await self.link.write_words(DIS_LIMIT, _u32_words(dis))
        self._limits = (chg, dis)
        await self._started()

    async def release(self) -> None:
        """Stop; there is no control to hand back."""
        await self.stop()
