"""Wallbox Quasar 1 bidirectional DC charger: holding registers, signed 16-bit.

Source: the register map Wallbox Chargers S.L. published for the Quasar 1, as carried in
the V2G Liberty project (github V2G-liberty/addon-v2g-liberty, its Wallbox Quasar 1 client);
see firmware_notes/register-maps.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from ._charger import ChargerLink
from ._codec import from_i16, i16

if TYPE_CHECKING:
    from ._bench import Bench

# holding registers (FC 3 read, FC 6/16 write)      # count, type, unit / values
CONTROL = 81            # 1, uint16: 0 user (app), 1 remote (Modbus); writes ignored until 1
AUTOSTART = 82          # 1, uint16: start on plug-in 1 enabled, 0 disabled
SETPOINT_TYPE = 83      # 1, uint16: 0 current, 1 power
WATCHDOG = 88           # 1, uint16, s: no Modbus traffic this long -> it stops by itself
LOCK = 256              # 1, uint16: charger locked 1 / unlocked 0 (read)
ACTION = 257            # 1, uint16: 1 start, 2 stop (dis)charging
CURRENT_SP = 258        # 1, int16, A (negative = discharge)
POWER_SP = 260          # 1, int16, W (negative = discharge)
MAX_POWER = 514         # 1, uint16, W: AC max available power, 1380..7400
ACTUAL_POWER = 526      # 1, int16, W (negative = discharging)
STATE = 537             # 1, uint16: see STATES
SOC = 538               # 1, uint16, %: 0 without a car
ERROR_1 = 539           # 4 x uint16: error registers (0 = none), 539..542

WRITABLE = {CONTROL, AUTOSTART, SETPOINT_TYPE, WATCHDOG, ACTION, CURRENT_SP, POWER_SP,
            MAX_POWER}
READONLY = (LOCK, ACTUAL_POWER, STATE, SOC, ERROR_1, ERROR_1 + 1, ERROR_1 + 2, ERROR_1 + 3)
STATES = {0: "no car", 1: "charging", 2: "waiting for car demand", 4: "paused", 7: "error",
          11: "discharging"}
NOMINAL_V = 230.0
LIMIT_W = 7400
# what it holds after a power-up: user control, autostart on, current setpoints, no watchdog
FACTORY = {CONTROL: 0, AUTOSTART: 1, SETPOINT_TYPE: 0, WATCHDOG: 0, ACTION: 2, CURRENT_SP: 0,
           POWER_SP: 0, MAX_POWER: LIMIT_W}
SOC_JUMP = (0, -2, 0, 2)  # soc_jump: the reading's offset (points), each for SOC_JUMP_S
SOC_JUMP_S = 5.0


class Quasar(ChargerLink):
    """The charger as the controller sees it over Modbus TCP; its power goes to the plant."""

    name = "quasar"
    power_register = POWER_SP
    forbidden = 0  # nothing in its map must never be written

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.bench = bench
        self.unit_id = unit_id
        self.reg = dict(FACTORY)
        self.started = False
        self._applied = 0.0
        self._stuck_w: float | None = None  # the power a stuck charger keeps (W)
        self._writes_seen = 0  # for charger_reply_lost: every other write's reply is lost
        self.writes: list[tuple[float, int, int]] = []  # (bench time, register, value)
        self.power_clock: list[float] = []  # the bench's clock at each power write
        # (bench time, 81, 83, 88) whenever one of them changes: when control was taken
        self.control_hist: list[tuple[float, int, int, int]] = [(0.0, 0, 0, 0)]

    def device(self) -> SimDevice:
        hr = [SimData(a, values=self.reg[a], datatype=DataType.REGISTERS)
              for a in sorted(WRITABLE)]
        hr += [SimData(a, values=0, datatype=DataType.REGISTERS, readonly=True)
               for a in READONLY]
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        return SimDevice(self.unit_id, simdata=(bits, list(bits), hr, list(hr)),
                         action=self.action)

    # -- what the charger does with its registers ------------------------------------------
    def command_w(self) -> float:
        """The power the charger is asked for (W) by its registers now."""
        if self.reg[CONTROL] != 1 or not self.started:
            return 0.0
        if self.reg[SETPOINT_TYPE] == 1:
            sp = float(from_i16(self.reg[POWER_SP]))
        else:
            sp = from_i16(self.reg[CURRENT_SP]) * NOMINAL_V
        lim = float(self.reg[MAX_POWER])
        return max(-lim, min(lim, sp))

    def apply(self) -> None:
        """Hand the command to the plant when it changed (it acts after its dead time); a
        stuck charger keeps the power it had."""
        sp = self.command_w() if self._stuck_w is None else self._stuck_w
        if sp != self._applied:
            self._applied = sp
            self.bench.plant.write(sp, self.bench.write_time())

    def watchdog(self) -> None:
        """No traffic for longer than the watchdog register: stop by itself."""
        wd = self.reg[WATCHDOG]
        pl = self.bench.plant
        if self._stuck_w is not None:
            return  # stuck: its own watchdog does not stop it either
        if wd and self.started and self.bench.now() - pl.last_comm_t > wd:
            self.started = False
            self.reg[ACTION] = 2
            self.apply()

    def state(self) -> int:
        f = self.bench.faults
        if f.car_unplug or not self.bench.car_home():
            return 0
        if f.charger_error:
            return 7
        if not self.started:
            return 4
        return self.by_power(1, 11, 2)

    def readings(self) -> dict[int, int]:
        pl = self.bench.plant
        car = self.state() != 0
        meas = pl.p * pl.meas_gain + (pl.noise(2.0) if pl.p else 0.0)
        err = 1 if self.bench.faults.charger_error else 0
        return {LOCK: 0, ACTUAL_POWER: i16(round(meas)), STATE: self.state(),
                SOC: self.soc_register() if car else 0, ERROR_1: err, ERROR_1 + 1: 0,
                ERROR_1 + 2: 0, ERROR_1 + 3: 0}

    def soc_register(self) -> int:
        """Register 538 with a car present (whole %): the plant's SoC, unless a fault shows
        0 while idle (as some Quasar firmware does) or jumps by 2 points."""
        f = self.bench.faults
        soc = int(self.bench.plant.soc_pct)
        if f.soc_zero_idle and self.state() in (2, 4):
            return 0
        if f.soc_jump:
            soc += SOC_JUMP[int(self.bench.now() / SOC_JUMP_S) % len(SOC_JUMP)]
        return max(0, min(100, soc))

    # -- faults that happen at an instant --------------------------------------------------
    def on_fault(self, kind: str, on: bool) -> None:
        """A fault starts (on) or ends: the charger reboots, is taken to app control, or
        gets stuck at its power."""
        if kind == "charger_reboot" and on:
            # power gone: the output drops and the registers are the factory's on boot
            self.reg = dict(FACTORY)
            self.started = False
            self.bench.plant.watchdog_s = 1e9
            self.apply()
        elif kind == "charger_user_mode" and on:
            # the app takes control: the remote session ends as on a write of 81 = 0
            self.reg.update({CONTROL: 0, ACTION: 2, AUTOSTART: 1})
            self.started = False
            self.apply()
        elif kind == "charger_stuck":
            self._stuck_w = self._applied if on else None
            wd = self.reg[WATCHDOG]
            self.bench.plant.watchdog_s = 1e9 if on or not wd else float(wd)
            self.apply()
        self._note()

    def _note(self) -> None:
        row = (self.bench.now(), self.reg[CONTROL], self.reg[SETPOINT_TYPE], self.reg[WATCHDOG])
        if row[1:] != self.control_hist[-1][1:]:
            self.control_hist.append(row)

    # -- what the checks read (hil/_checks.py): the log is in this charger's own terms ------
    @property
    def command_log(self) -> list[tuple[float, int, int]]:
        """Every written word (bench time, register, word): the checks' vocabulary."""
        return self.writes

    def control_want(self, watchdog_s: int) -> tuple[int, int, int]:
        """control_hist's row as v2h configures it: remote, power setpoints, its watchdog."""
        return (1, 1, int(watchdog_s))

    def control_after(self) -> int:
        """0 when control was handed back (81 = 0)."""
        return self.reg[CONTROL]

    def energy_wh(self) -> tuple[float, float]:
        """Bench only: the charger's energy counters, charged and discharged (Wh). The Quasar
        1's published map has no energy registers, so these are not on Modbus and no driver
        reads them; they are the plant's true energy as the charger's own metering sees it
        (the same gain as register 526), for checking the ledger against (firmware_notes/
        ledger.md)."""
        pl = self.bench.plant
        return (pl.chg_wh * pl.meas_gain, pl.dis_wh * pl.meas_gain)

    # -- Modbus --------------------------------------------------------------------------------
    def _fill(self, regs: list[int], start: int) -> None:
        for addr, word in self.readings().items():
            if start <= addr < start + len(regs):
                regs[addr - start] = word
        for addr in WRITABLE:
            if start <= addr < start + len(regs):
                regs[addr - start] = self.reg[addr]

    def _written(self, address: int, words: list[int], values: list) -> ExcCodes | None:
        b = self.bench
        for i, w in enumerate(words):
            self.writes.append((b.now(), address + i, w))
            if address + i == POWER_SP:
                self.power_clock.append(b.clock())
                del self.power_clock[:-10_000]
        return self._write(address, words, values)

    def _write(self, address: int, words: list[int], values: list) -> ExcCodes | None:
        new = dict(self.reg)
        for i, word in enumerate(words):
            addr = address + i
            if addr not in WRITABLE:
                return ExcCodes.ILLEGAL_ADDRESS
            if addr == CONTROL and word not in (0, 1):
                return ExcCodes.ILLEGAL_VALUE
            if addr == ACTION and word not in (1, 2):
                return ExcCodes.ILLEGAL_VALUE
            if addr in (AUTOSTART, SETPOINT_TYPE) and word not in (0, 1):
                return ExcCodes.ILLEGAL_VALUE
            if addr == POWER_SP and abs(from_i16(word)) > LIMIT_W:
                return ExcCodes.ILLEGAL_VALUE
            if addr == CURRENT_SP and abs(from_i16(word)) > 32:
                return ExcCodes.ILLEGAL_VALUE
            if addr == MAX_POWER and not 1380 <= word <= LIMIT_W:
                return ExcCodes.ILLEGAL_VALUE
            new[addr] = word
        if self.reg[CONTROL] != 1 and new[CONTROL] != 1:
            # in user control the charger takes no orders: acknowledged, ignored
            values[:] = [self.reg[address + i] for i in range(len(words))]
            return None
        if new[CONTROL] == 0 and self.reg[CONTROL] == 1:
            # control handed back: the remote session ends, autostart returns to default
            new.update({ACTION: 2, AUTOSTART: 1})
            self.started = False
        elif new[ACTION] != self.reg[ACTION] or address <= ACTION < address + len(words):
            self.started = new[ACTION] == 1
        self.reg = new
        values[:] = [self.reg[address + i] for i in range(len(words))]
        if self._stuck_w is None:
            wd = self.reg[WATCHDOG]
            self.bench.plant.watchdog_s = float(wd) if wd else 1e9
        self.apply()
        self._note()
        return None
