"""TEMPLATE for a new charger's emulator: copy to `hil/_<name>.py`, put its map at the top
(the same constants as its driver, with the source), fill in the methods, and add it to
`hil._bench.CHARGER_MODELS` under its driver's name. The base (`hil/_charger.py`) gives it
the plant, the bench's charger faults, its own watchdog (`timeout_s`) and the Modbus
dispatch; `logged` puts its writes in the checks' vocabulary, so every HIL scenario scores
it as it scores the Quasar (`python -m hil run SCENARIO --charger <name>`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes

from ._charger import LOG_ACTION, LOG_POWER, ChargerEmulator, clamp
from ._codec import from_i32_be, i16, i32_be

if TYPE_CHECKING:
    from ._bench import Bench

POWER = 100             # 2, int32, W (+ charging): measured
SOC = 102               # 2, int32, 0.1 %
SETPOINT = 200          # 2, int32, W (+ charge)
LIMIT_W = 7_400


class Template(ChargerEmulator):
    """The charger (template): the setpoint alone runs it."""

    name = "template"

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.factory = {SETPOINT: 0, SETPOINT + 1: 0}
        self.holding = ((POWER, 4), (SETPOINT, 2))
        self.writable = frozenset(self.factory)
        self.power_register = SETPOINT
        super().__init__(bench, unit_id)

    def command_w(self) -> float:
        sp = from_i32_be(self.reg[SETPOINT], self.reg[SETPOINT + 1])
        return clamp(float(sp), -LIMIT_W, LIMIT_W)

    def readings(self) -> dict[int, list[int]]:
        return {POWER: i32_be(round(self.measured_w())), SOC: i32_be(round(self.soc_pct() * 10))}

    def on_write(self, address: int, words: list[int]) -> ExcCodes | None:
        new = dict(self.reg)
        for i, w in enumerate(words):
            new[address + i] = w
        if abs(from_i32_be(new[SETPOINT], new[SETPOINT + 1])) > LIMIT_W:
            return ExcCodes.ILLEGAL_VALUE
        self.reg = new
        return None

    def logged(self, address: int, words: list[int]) -> list[tuple[int, int]]:
        w = round(self.command_w())
        return [(LOG_POWER, i16(w))] + ([(LOG_ACTION, 2)] if w == 0 else [])
