"""Sigenergy EVDC, the DC charger module of a Sigen hybrid inverter (Modbus protocol V2.9),
on the inverter's unit id: input registers for what it measures, holding registers for start
/ stop and the two power limits.

Source: evcc `charger/sigenergy-evdc.go` and its template (PR #32023, whose review records
that a 0 W limit puts the car into an error it does not leave and that 1000 W is the
smallest setpoint tested); see firmware_notes/register-maps.md for what that source leaves
open and the reading taken here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes

from ._charger import LOG_ACTION, LOG_POWER, ChargerEmulator, clamp
from ._codec import i16, i32_be

if TYPE_CHECKING:
    from ._bench import Bench

# input registers (FC 4)                  # count, type, scale, unit
VEHICLE_V = 31500       # 1, uint16, 0.1 V
CURRENT = 31501         # 1, uint16, 0.1 A
POWER = 31502           # 2, int32, W (negative while discharging)
SOC = 31504             # 1, uint16, 0.1 % (0: no car or no BMS data)
SESSION_WH = 31505      # 2, uint32, 10 Wh
STATE = 31513           # 1, uint16: see STATES
TOTAL_WH = 31519        # 2, uint32, 10 Wh charged
TOTAL_DIS_WH = 31521    # 2, uint32, 10 Wh discharged
RATED_W = 31523         # 2, uint32, W
RATED_DIS_W = 31525     # 2, uint32, W
INPUT_END = 31527
# holding registers
START_STOP = 41000      # 1, uint16, FC 6 only: 0 start, 1 stop (41001 reserved)
POWER_LIMIT = 41002     # 2, uint32, W: charge power; never 0 (the car latches an error)
DIS_LIMIT = 41004       # 2, uint32, W: discharge power; 0 = no discharge (see the notes)
STATES = {0: "idle", 1: "occupied", 3: "charging", 4: "fault", 6: "ended", 8: "discharging"}
RATED = 12_000
MIN_W = 1_000


class Sigenergy(ChargerEmulator):
    """The EVDC: started by 41000 = 0; charges at 41002 while 41004 is 0, discharges at
    41004 while it is not. A write of 0 to 41002 latches an error (state 4) that only a
    reboot clears, as the car does on the real unit."""

    name = "sigenergy"

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.factory = {START_STOP: 1, POWER_LIMIT: 0, POWER_LIMIT + 1: RATED,
                        DIS_LIMIT: 0, DIS_LIMIT + 1: 0}
        self.holding = ((START_STOP, 6),)
        self.input = ((VEHICLE_V, INPUT_END - VEHICLE_V),)
        self.writable = frozenset(self.factory)
        self.power_register = POWER_LIMIT
        self.latched = False  # a 0 W limit was written: the car is in error until a reboot
        self.limits_set = False  # v2h wrote its limits since the last power-up
        super().__init__(bench, unit_id)

    def _u32(self, addr: int) -> int:
        return (self.reg[addr] << 16) | self.reg[addr + 1]

    def command_w(self) -> float:
        if not self.started or self.latched:
            return 0.0
        dis = self._u32(DIS_LIMIT)
        if dis:
            return -clamp(float(dis), MIN_W, RATED)
        return clamp(float(self._u32(POWER_LIMIT)), MIN_W, RATED)

    def state(self) -> int:
        if not self.car():
            return 0
        if self.bench.faults.charger_error or self.latched:
            return 4
        return self.by_power(3, 8, 1 if self.started else 6)

    def readings(self) -> dict[int, list[int]]:
        pl = self.bench.plant
        chg, dis = self.energy_wh()
        meas = self.measured_w()
        return {VEHICLE_V: [4000 if self.car() else 0],
                CURRENT: [min(0xFFFF, round(abs(meas) / 400.0 * 10))],
                POWER: i32_be(round(meas)), SOC: [round(self.soc_pct() * 10)],
                SESSION_WH: i32_be(int(pl.chg_wh / 10)), STATE: [self.state()],
                TOTAL_WH: i32_be(int(chg / 10)), TOTAL_DIS_WH: i32_be(int(dis / 10)),
                RATED_W: i32_be(RATED), RATED_DIS_W: i32_be(RATED)}

    def on_write(self, address: int, words: list[int]) -> ExcCodes | None:
        span = range(address, address + len(words))
        if START_STOP in span and len(words) != 1:
            return ExcCodes.ILLEGAL_ADDRESS  # 41000 takes a single FC 6 write (41001 reserved)
        new = dict(self.reg)
        for i, w in enumerate(words):
            new[address + i] = w
        if new[START_STOP] not in (0, 1):
            return ExcCodes.ILLEGAL_VALUE
        for a in (POWER_LIMIT, DIS_LIMIT):
            if ((new[a] << 16) | new[a + 1]) > RATED:
                return ExcCodes.ILLEGAL_VALUE
        self.reg = new
        if POWER_LIMIT in span and self._u32(POWER_LIMIT) == 0:
            self.latched = True
            self.forbidden += 1
        if START_STOP in span:
            self.started = new[START_STOP] == 0
        if POWER_LIMIT in span or DIS_LIMIT in span:
            self.limits_set = True
        return None

    def logged(self, address: int, words: list[int]) -> list[tuple[int, int]]:
        """A start or stop; a limit written as the power it asks for (41002 +, 41004 -)."""
        span = range(address, address + len(words))
        out = []
        if START_STOP in span:
            out.append((LOG_ACTION, 1 if self.reg[START_STOP] == 0 else 2))
        if POWER_LIMIT in span:
            out.append((LOG_POWER, i16(self._u32(POWER_LIMIT))))
        if DIS_LIMIT in span and self._u32(DIS_LIMIT):
            out.append((LOG_POWER, i16(-self._u32(DIS_LIMIT))))
        return out

    def control_row(self) -> tuple[int, int, int]:
        """Its limits as v2h set them since the last power-up (1), or the factory's (0)."""
        return (1 if self.limits_set else 0, 0, 0)

    def control_after(self) -> int:
        return 1 if self.started else 0

    def on_fault(self, kind: str, on: bool) -> None:
        if kind == "charger_reboot" and on:
            self.latched = False
            self.limits_set = False
        super().on_fault(kind, on)

    def user_stop(self) -> None:
        self.started = False
        self.reg[START_STOP] = 1
