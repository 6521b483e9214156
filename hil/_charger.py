"""What the emulated DC chargers other than the Quasar share: the plant behind their
registers, their own Modbus watchdog (or none), the bench's charger faults, and the
dispatch of reads and writes; each model (`_evtec.py`, `_ambibox.py`, `_sigenergy.py`,
`_sunspec.py`) says how its registers encode and what a write does. A new charger is one
subclass: its map as named constants, `readings()`, `command_w()`, `on_write()`.

Inside, powers are the plant's (`ev_w`, + charging); each model converts at its registers."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

if TYPE_CHECKING:
    from ._bench import Bench

# the command log's vocabulary (hil/_checks.py reads it): the Quasar's registers, in which
# the checks were first written; each model logs its own writes in these terms
LOG_POWER, LOG_ACTION = 260, 257  # (t, 260, int16 W + charging), (t, 257, 1 start / 2 stop)
SOC_JUMP = (0, -2, 0, 2)  # soc_jump: the reading's offset (points), each for SOC_JUMP_S
SOC_JUMP_S = 5.0
MOVING_W = 50.0  # |power| above this is charging or discharging, for the state registers


class ChargerLink:
    """What every emulated charger's Modbus link does with the bench's charger faults (the
    Quasar's and the models' below alike): unreachable or rebooting, nothing comes back and
    the action hears nothing; lost write replies, every other reply to a write (FC 6/16,
    byte 7 after the MBAP header) is never sent, although the write was applied."""

    bench: Bench
    _writes_seen: int
    dials_out = False  # the OCPP station dials the controller; a Modbus charger listens

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        f = self.bench.faults
        if not sending:
            return data
        if f.charger_lost or f.charger_reboot:
            return b""
        if f.charger_reply_lost and len(data) > 7 and data[7] in (6, 16):
            self._writes_seen += 1
            if self._writes_seen % 2:
                return b""
        return data

    def watchdog(self) -> None:
        raise NotImplementedError

    def _fill(self, regs: list[int], start: int) -> None:
        """Serve a read: the registers from `start` as they read now."""
        raise NotImplementedError

    def _written(self, address: int, words: list[int], values: list) -> ExcCodes | None:
        """Serve a write of `words` from `address`; what it stores goes back in `values`."""
        raise NotImplementedError

    async def action(self, fc: int, start: int, address: int, count: int,
                     regs: list[int], values: list[int] | list[bool] | None
                     ) -> ExcCodes | None:
        """pymodbus's hook for every request: heard (or not, in a fault), then served."""
        done, result = self.hear(fc, start, address, regs, values)
        if done:
            return result
        if values is None:
            self._fill(regs, start)
            return None
        return self._written(address, [int(v) for v in values], values)

    def by_power(self, charging: int, discharging: int, idle: int) -> int:
        """A state register's code by the plant's power: charging, discharging, or idle
        (|power| within MOVING_W)."""
        p = self.bench.plant.p
        return charging if p > MOVING_W else discharging if p < -MOVING_W else idle

    def tick(self) -> None:
        """Each plant sub-step: a charger's own timers (an OCPP station's profiles expire);
        a Modbus charger has none that the traffic does not drive."""

    def hear(self, fc: int, start: int, address: int, regs: list[int],
             values: list[int] | list[bool] | None) -> tuple[bool, ExcCodes | None]:
        """(True, what the action returns) when the request is not for it (no coils) or
        not heard (lost, rebooting: a write leaves the registers as they were); else the
        charger's watchdog and the plant hear the traffic, and (False, None): the action
        goes on to serve the request."""
        if fc in (1, 2, 5, 15):
            return True, ExcCodes.ILLEGAL_FUNCTION
        if self.bench.faults.charger_lost or self.bench.faults.charger_reboot:
            if values is not None:
                kept = [regs[address - start + i] for i in range(len(values))]
                values[:] = kept  # type: ignore[assignment]  # registers: words, no coils
            return True, None
        self.watchdog()
        self.bench.plant.heard(self.bench.now())
        return False, None


class ChargerEmulator(ChargerLink):
    """One charger over Modbus TCP, its power handed to the bench's plant.

    A model sets, before this __init__: `factory` (the holding registers it writes to,
    address -> word, as after a power-up), `holding` and `input` (its tables as (first
    address, count) blocks; no input table: FC 4 reads the holding one), `writable` (the
    addresses a write may touch) and `power_register` (where a power setpoint goes: the
    bench's sync_faults waits for a write there). `reg` holds the written registers, reset
    to `factory` by a reboot; `writes` logs every written word as (bench time, address,
    word)."""

    name = "charger"
    forbidden = 0  # writes of what the real unit must never get (each run counts them: 0)
    factory: dict[int, int]
    holding: tuple[tuple[int, int], ...]
    input: tuple[tuple[int, int], ...] = ()
    writable: frozenset[int]
    power_register: int

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.bench = bench
        self.unit_id = unit_id
        self.reg = dict(self.factory)
        self.started = False
        self._applied = 0.0
        self._stuck_w: float | None = None
        self._writes_seen = 0
        self.writes: list[tuple[float, int, int]] = []
        # what v2h commanded, in the log's vocabulary (LOG_POWER, LOG_ACTION)
        self.command_log: list[tuple[float, int, int]] = []
        self.power_clock: list[float] = []  # the bench's clock at each power write
        # (bench time, *control_row()) whenever the configuration v2h sets changes
        self.control_hist: list[tuple[float, int, int, int]] = [(0.0, *self.control_row())]

    # -- the model's part ----------------------------------------------------------------
    def readings(self) -> dict[int, list[int]]:
        """Address -> words of every measured value now (holding and input alike)."""
        raise NotImplementedError

    def command_w(self) -> float:
        """The power its registers ask for now (W, + charging)."""
        raise NotImplementedError

    def on_write(self, address: int, words: list[int]) -> ExcCodes | None:
        """Check and apply a write of `words` from `address` to `self.reg` (the registers
        as they are before it); an exception code refuses it whole."""
        raise NotImplementedError

    def timeout_s(self) -> float:
        """Its own Modbus watchdog as the registers set it (s; 0 = none, or off)."""
        return 0.0

    def user_stop(self) -> None:
        """Someone ends the session at the charger or in its app (charger_user_mode)."""
        self.started = False

    def logged(self, address: int, words: list[int]) -> list[tuple[int, int]]:
        """A write applied, as (LOG_POWER, int16 W) / (LOG_ACTION, 1 or 2) entries."""
        raise NotImplementedError

    def control_row(self) -> tuple[int, int, int]:
        """The configuration v2h sets, as it stands (a model without any: constant)."""
        return (1, 0, 0)

    def control_want(self, watchdog_s: int) -> tuple[int, int, int]:
        """control_row() as v2h configures it."""
        return (1, 0, 0)

    def control_after(self) -> int:
        """0 when left stopped (v2h's release), else 1."""
        return 0 if self.command_w() == 0.0 else 1

    def _note(self) -> None:
        row = (self.bench.now(), *self.control_row())
        if row[1:] != self.control_hist[-1][1:]:
            self.control_hist.append(row)

    # -- the plant behind it ---------------------------------------------------------------
    def car(self) -> bool:
        return not self.bench.faults.car_unplug and self.bench.car_home()

    def measured_w(self) -> float:
        """The plant's power as the charger measures it (W, + charging)."""
        pl = self.bench.plant
        return pl.p * pl.meas_gain + (pl.noise(2.0) if pl.p else 0.0)

    def soc_pct(self) -> float:
        """The car's SoC (%) as the charger shows it: the plant's, unless a fault shows 0
        while idle or jumps by 2 points; 0 without a car."""
        f = self.bench.faults
        if not self.car():
            return 0.0
        soc = self.bench.plant.soc_pct
        if f.soc_zero_idle and abs(self.bench.plant.p) <= MOVING_W:
            return 0.0
        if f.soc_jump:
            soc += SOC_JUMP[int(self.bench.now() / SOC_JUMP_S) % len(SOC_JUMP)]
        return max(0.0, min(100.0, soc))

    def apply(self) -> None:
        """Hand the command to the plant when it changed; a stuck charger keeps its power."""
        sp = self.command_w() if self._stuck_w is None else self._stuck_w
        if sp != self._applied:
            self._applied = sp
            self.bench.plant.write(sp, self.bench.write_time())

    def _arm(self) -> None:
        """The plant's watchdog is the charger's own (none: never)."""
        if self._stuck_w is None:
            wd = self.timeout_s()
            self.bench.plant.watchdog_s = float(wd) if wd > 0 else 1e9

    def watchdog(self) -> None:
        """No traffic for longer than its own timeout: it stops by itself."""
        wd = self.timeout_s()
        if self._stuck_w is not None:
            return
        if wd > 0 and self.started and self.bench.now() - self.bench.plant.last_comm_t > wd:
            self.started = False
            self.apply()

    def on_fault(self, kind: str, on: bool) -> None:
        """A fault starts or ends: a reboot (power gone, factory registers), the session
        ended by someone at the charger, a charger stuck at its power."""
        if kind == "charger_reboot" and on:
            self.reg = dict(self.factory)
            self.started = False
            self.bench.plant.watchdog_s = 1e9
            self.apply()
        elif kind == "charger_user_mode" and on:
            self.user_stop()
            self.apply()
        elif kind == "charger_stuck":
            self._stuck_w = self._applied if on else None
            if on:
                self.bench.plant.watchdog_s = 1e9
            else:
                self._arm()
            self.apply()
        self._note()

    def energy_wh(self) -> tuple[float, float]:
        """Charged and discharged energy as its own metering sees it (Wh)."""
        pl = self.bench.plant
        return (pl.chg_wh * pl.meas_gain, pl.dis_wh * pl.meas_gain)

    # -- Modbus ----------------------------------------------------------------------------
    def device(self) -> SimDevice:
        def table(blocks: tuple[tuple[int, int], ...]) -> list[SimData]:
            return [SimData(a, count=n, values=0, datatype=DataType.REGISTERS)
                    for a, n in blocks]
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        hr = table(self.holding)
        ir = table(self.input) if self.input else list(hr)
        return SimDevice(self.unit_id, simdata=(bits, list(bits), hr, ir), action=self.action)

    def _written(self, address: int, words: list[int], values: list) -> ExcCodes | None:
        b = self.bench
        for i, w in enumerate(words):
            self.writes.append((b.now(), address + i, w))
        if any(address + i not in self.writable for i in range(len(words))):
            return ExcCodes.ILLEGAL_ADDRESS
        err = self.on_write(address, words)
        if err is not None:
            return err
        t = b.now()
        logged = self.logged(address, words)
        self.command_log += [(t, a, w & 0xFFFF) for a, w in logged]
        if any(a == LOG_POWER for a, _ in logged):
            self.power_clock.append(b.clock())
            del self.power_clock[:-10_000]
        self._note()
        stored = [self.reg.get(address + i, 0) for i in range(len(words))]
        values[:] = stored
        self._arm()
        self.apply()
        return None

    def _fill(self, regs: list[int], start: int) -> None:
        items = {**{a: [w] for a, w in self.reg.items()}, **self.readings()}
        for addr, words in items.items():
            for i, w in enumerate(words):
                if 0 <= addr + i - start < len(regs):
                    regs[addr + i - start] = w & 0xFFFF


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0
