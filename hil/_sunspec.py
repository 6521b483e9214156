"""A SunSpec EVSE as the Fermata FE-20 presents it (Modbus TCP, port 8502 on the real
unit): "SunS" at 40000, then the chain of models (id, length) a client walks to find them:
common (1), DER AC measurement (701), DER capacity (702), DER enter service (703), DER
controls (704), the end (0xFFFF); and the FE-20's own SoC register at 41104.

Source: V2G Liberty (`chargers/base_sunspec_evse.py`, `chargers/fermate_fe20.py`), whose
fixed addresses this layout reproduces; see firmware_notes/register-maps.md for what that
source leaves open (the signs, the 703 and 704 layouts) and the reading taken."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes

from ._charger import LOG_ACTION, LOG_POWER, ChargerEmulator, clamp
from ._codec import from_i16, i16

if TYPE_CHECKING:
    from ._bench import Bench

# holding registers (FC 3; FC 4 reads the same)      # count, type, unit / values
SUNS = 40000            # 2, "SunS"
COMMON = 40002          # model 1, length 66: manufacturer at +2 (16 regs), model at +18
M701 = 40070            # DER AC measurement, length 153
INV_ST = M701 + 4       # 1, uint16: 1 off, 7 fault, 8 standby, 9 charging, 10 discharging
CONN_ST = M701 + 5      # 1, uint16: 0 disconnected, 1 connected
W = M701 + 10           # 1, int16, W x 10^W_SF (+ charging, as V2G Liberty reads it)
W_SF = M701 + 93        # 1, int16 scale factor
M702 = 40225            # DER capacity, length 50
W_CHA_MAX = M702 + 10   # 1, uint16, W x 10^W_SF: most charge
W_DIS_MAX = M702 + 11   # 1, uint16, W x 10^W_SF: most discharge
M703 = 40277            # DER enter service (12 registers here: not used)
M704 = 40291            # DER controls, length 64 here
W_SET = M704 + 10       # 1, int16, W x 10^W_SF (+ charge, - discharge): the setpoint
END = M704 + 2 + 64     # 2, 0xFFFF 0: the end of the chain
SOC = 41104             # 1, int16, %: the FE-20's own register (0 without a car)
MODELS = ((COMMON, 1, 66), (M701, 701, 153), (M702, 702, 50), (M703, 703, 12),
          (M704, 704, 64))
LIMIT_W = 20_000
SCALE = 0  # W_SF: whole watts


def _text(s: str, n: int) -> list[int]:
    raw = s.encode().ljust(2 * n, b"\0")[: 2 * n]
    return list(struct.unpack(f">{n}H", raw))


class SunSpec(ChargerEmulator):
    """The FE-20: the setpoint alone runs it (0 = idle, no start command)."""

    name = "sunspec"

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.factory = {W_SET: 0}
        self.holding = ((SUNS, END + 2 - SUNS), (SOC, 1))
        self.writable = frozenset(self.factory)
        self.power_register = W_SET
        super().__init__(bench, unit_id)
        self.started = True  # no start command: the setpoint is the whole command

    def command_w(self) -> float:
        return clamp(from_i16(self.reg[W_SET]) * 10.0**SCALE, -LIMIT_W, LIMIT_W)

    def inv_st(self) -> int:
        if not self.car():
            return 1
        if self.bench.faults.charger_error:
            return 7
        return self.by_power(9, 10, 8)

    def readings(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {SUNS: [0x5375, 0x6E53], END: [0xFFFF, 0]}
        for at, model, length in MODELS:
            out[at] = [model, length]
        out[COMMON + 2] = _text("Fermata Energy", 16)
        out[COMMON + 18] = _text("FE-20", 16)
        car = self.car()
        out[INV_ST] = [self.inv_st()]
        out[CONN_ST] = [1 if car else 0]
        out[W] = [i16(round(self.measured_w() / 10.0**SCALE))]
        out[W_SF] = [i16(SCALE)]
        out[W_CHA_MAX] = [round(LIMIT_W / 10.0**SCALE)]
        out[W_DIS_MAX] = [round(LIMIT_W / 10.0**SCALE)]
        out[SOC] = [round(self.soc_pct()) if car else 0]
        return out

    def on_write(self, address: int, words: list[int]) -> ExcCodes | None:
        if abs(from_i16(words[0]) * 10.0**SCALE) > LIMIT_W:
            return ExcCodes.ILLEGAL_VALUE
        self.reg[W_SET] = words[0]
        return None

    def logged(self, address: int, words: list[int]) -> list[tuple[int, int]]:
        """The setpoint as ev_w; a 0 is also this charger's stop."""
        w = round(self.command_w())
        return [(LOG_POWER, i16(w))] + ([(LOG_ACTION, 2)] if w == 0 else [])

    def user_stop(self) -> None:
        self.reg[W_SET] = 0
