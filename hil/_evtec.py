"""EVtec BiDiPro 10 bidirectional DC charger, the "ECP4 / Modbus 2.0" map: holding
registers, 32-bit values high word first; the ChargePoint object at 0..43, plug X's object
at X x 100.

Source: the map EV2Grid provides "as is" for the BiDiPro, as carried in V2G Liberty
(github V2G-liberty/addon-v2g-liberty, `chargers/evtec_bidipro.py`, PR #496); see
firmware_notes/register-maps.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes

from ._charger import LOG_ACTION, LOG_POWER, ChargerEmulator, clamp
from ._codec import f32_be, i16, i32_be

if TYPE_CHECKING:
    from ._bench import Bench

# holding registers (FC 3 read, FC 16 write)          # count, type, unit / values
TIMEOUT = 42            # 2, int32, s: no Modbus traffic this long -> idle; 0 off, max 600
# plug X's object: these offsets from X x 100
STATE = 0               # 2, int32: see STATES
POWER = 10              # 2, float32, W (+ charging, - discharging): measured
SOC = 12                # 2, int32, per mille (0 without a session)
UPPER_LIMIT = 30        # 2, float32, W: charge ceiling
ERROR = 54              # 4, uint64: 40-bit error mask, 0 = none
CAPACITY = 58           # 2, float32, Wh: the car's battery (type not in the source)
MIN_ENERGY = 62         # 2, float32, Wh: the car's minimum (type not in the source)
SET_POWER = 86          # 2, int32, W (negative = discharge): the setpoint
START = 88              # 2, int32: 1 start (on), 0 stop (off)
STATES = {1: "no car", 2: "unavailable", 7: "charging", 8: "discharging", 9: "stopped",
          10: "idle", 12: "error"}
LIMIT_W = 10_000
TIMEOUT_MAX_S = 600


class Evtec(ChargerEmulator):
    """The BiDiPro with a car on plug `plug` (1 by default)."""

    name = "evtec"

    def __init__(self, bench: Bench, unit_id: int = 1, plug: int = 1) -> None:
        b = self.base = plug * 100
        self.factory = {TIMEOUT: 0, TIMEOUT + 1: 0, b + SET_POWER: 0, b + SET_POWER + 1: 0,
                        b + START: 0, b + START + 1: 0}
        self.holding = ((0, 44), (b, 100))
        self.writable = frozenset(self.factory)
        self.power_register = b + SET_POWER
        super().__init__(bench, unit_id)

    def _i32(self, addr: int) -> int:
        v = (self.reg[addr] << 16) | self.reg[addr + 1]
        return v - (1 << 32) if v >= 1 << 31 else v

    def timeout_s(self) -> float:
        return float(self._i32(TIMEOUT))

    def command_w(self) -> float:
        if not self.started:
            return 0.0
        return clamp(float(self._i32(self.base + SET_POWER)), -LIMIT_W, LIMIT_W)

    def state(self) -> int:
        f = self.bench.faults
        if not self.car():
            return 1
        if f.charger_error:
            return 12
        return self.by_power(7, 8, 10 if self.started else 9)

    def readings(self) -> dict[int, list[int]]:
        b, pl = self.base, self.bench.plant
        car = self.car()
        err = 1 if self.bench.faults.charger_error else 0
        return {b + STATE: i32_be(self.state()), b + POWER: f32_be(self.measured_w()),
                b + SOC: i32_be(round(self.soc_pct() * 10)),
                b + UPPER_LIMIT: f32_be(float(LIMIT_W) if car else 0.0),
                b + ERROR: [0, 0, 0, err],
                b + CAPACITY: f32_be(pl.cap_wh if car else 0.0),
                b + MIN_ENERGY: f32_be(0.0)}

    def on_write(self, address: int, words: list[int]) -> ExcCodes | None:
        new = dict(self.reg)
        for i, w in enumerate(words):
            new[address + i] = w
        old, self.reg = self.reg, new
        t = self._i32(TIMEOUT)
        sp = self._i32(self.base + SET_POWER)
        start = self._i32(self.base + START)
        if not 0 <= t <= TIMEOUT_MAX_S or abs(sp) > LIMIT_W or start not in (0, 1):
            self.reg = old
            return ExcCodes.ILLEGAL_VALUE
        if self.base + START in range(address, address + len(words)):
            self.started = start == 1
        return None

    def logged(self, address: int, words: list[int]) -> list[tuple[int, int]]:
        span = range(address, address + len(words))
        out = []
        if self.base + SET_POWER in span:
            out.append((LOG_POWER, i16(self._i32(self.base + SET_POWER))))
        if self.base + START in span:
            out.append((LOG_ACTION, 1 if self._i32(self.base + START) == 1 else 2))
        return out

    def control_row(self) -> tuple[int, int, int]:
        """Its idle timeout (42) is the only configuration v2h sets."""
        return (1, 1, self._i32(TIMEOUT))

    def control_want(self, watchdog_s: int) -> tuple[int, int, int]:
        return (1, 1, int(watchdog_s))

    def control_after(self) -> int:
        """0 when left stopped: setpoint 0 and the gate closed."""
        b = self.base
        return 0 if self._i32(b + SET_POWER) == 0 and self._i32(b + START) == 0 else 1

    def user_stop(self) -> None:
        self.started = False
        self.reg[self.base + START] = 0
        self.reg[self.base + START + 1] = 0
