"""Ambibox ambiCHARGE bidirectional DC charger (ISO 15118): per connector a holding block
(the target power, negative = charge, and a wake-up) and an input block of what it
measures; 32-bit values high word first.

Source: evcc `charger/ambibox.go` and its template (PR #31464); see
firmware_notes/register-maps.md for what that source leaves open and the reading taken."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes

from ._charger import LOG_ACTION, LOG_POWER, ChargerEmulator, clamp
from ._codec import f32_be, from_i32_be, i16, i32_be

if TYPE_CHECKING:
    from ._bench import Bench

# holding registers, from 3000 + (connector - 1) x 100   # count, type, unit / values
TARGET = 0              # 2, int32, W: NEGATIVE = CHARGE, positive = discharge; 0 = idle
WAKE_UP = 2             # 2, uint32: 1 wakes the car
# input registers (FC 4), from 4000 + (connector - 1) x 200
CURRENT_L1 = 4          # 2, float32, A; L2 +6, L3 +8
VOLTAGE_L1 = 12         # 2, float32, V; L2 +14, L3 +16
POWER_AC = 18           # 2, int32, W (+ charging, as evcc reads it)
ENERGY_IN = 26          # 2, float32, Wh imported (charged)
ENERGY_OUT = 28         # 2, float32, Wh exported (discharged)
PHASES = 36             # 2, uint32: 1..3
CAPACITY = 48           # 2, float32, Wh
SOC = 54                # 2, float32, %
SESSION = 82            # 2, uint32: 5 charge loop, 7 paused, 8 stopped, 9 error; see STATES
EV_CONNECTED = 84       # 2, uint32: 0 / 1
INPUT_LEN = 104
STATES = {0: "session setup", 1: "authorization", 2: "charge parameter discovery",
          3: "cable check", 4: "pre-charge", 5: "charge loop", 6: "post-charge",
          7: "paused", 8: "stopped", 9: "error"}
LIMIT_W = 11_000


class Ambibox(ChargerEmulator):
    """The ambiCHARGE with a car on connector `connector` (1 by default). It runs on the
    target power alone: 0 is idle, a value is a session's power (no start command)."""

    name = "ambibox"

    def __init__(self, bench: Bench, unit_id: int = 1, connector: int = 1) -> None:
        self.hold = 3000 + (connector - 1) * 100
        self.inp = 4000 + (connector - 1) * 200
        h = self.hold
        self.factory = {h + TARGET: 0, h + TARGET + 1: 0, h + WAKE_UP: 0, h + WAKE_UP + 1: 0}
        self.holding = ((h, 4),)
        self.input = ((self.inp, INPUT_LEN),)
        self.writable = frozenset(self.factory)
        self.power_register = h + TARGET
        super().__init__(bench, unit_id)
        self.started = True  # no start command: the target power is the whole command

    def command_w(self) -> float:
        t = from_i32_be(self.reg[self.hold + TARGET], self.reg[self.hold + TARGET + 1])
        return clamp(-float(t), -LIMIT_W, LIMIT_W)  # its sign is ours reversed

    def session(self) -> int:
        if self.bench.faults.charger_error:
            return 9
        return self.by_power(5, 5, 7)

    def readings(self) -> dict[int, list[int]]:
        i, car = self.inp, self.car()
        chg, dis = self.energy_wh()
        meas = self.measured_w()
        out = {i + POWER_AC: i32_be(round(meas)), i + ENERGY_IN: f32_be(chg),
               i + ENERGY_OUT: f32_be(dis), i + PHASES: i32_be(3),
               i + CAPACITY: f32_be(self.bench.plant.cap_wh if car else 0.0),
               i + SOC: f32_be(self.soc_pct() if car else 0.0),
               i + SESSION: i32_be(self.session() if car else 8),
               i + EV_CONNECTED: i32_be(1 if car else 0)}
        for k in range(3):
            out[i + VOLTAGE_L1 + 2 * k] = f32_be(230.0)
            out[i + CURRENT_L1 + 2 * k] = f32_be(abs(meas) / 3 / 230.0)
        return out

    def on_write(self, address: int, words: list[int]) -> ExcCodes | None:
        new = dict(self.reg)
        for k, w in enumerate(words):
            new[address + k] = w
        h = self.hold
        if abs(from_i32_be(new[h + TARGET], new[h + TARGET + 1])) > LIMIT_W:
            return ExcCodes.ILLEGAL_VALUE
        self.reg = new
        return None

    def logged(self, address: int, words: list[int]) -> list[tuple[int, int]]:
        """The target as ev_w; a 0 is also this charger's stop."""
        if self.hold + TARGET not in range(address, address + len(words)):
            return []
        w = round(self.command_w())
        return [(LOG_POWER, i16(w))] + ([(LOG_ACTION, 2)] if w == 0 else [])

    def user_stop(self) -> None:
        """The session ended at the charger: the target back to 0."""
        self.reg[self.hold + TARGET] = 0
        self.reg[self.hold + TARGET + 1] = 0
