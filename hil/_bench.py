"""The bench: the simulator's plant in real time, a fault schedule, and the device
emulators on 127.0.0.1 that read from and write to it: Modbus TCP servers, a meter on a
serial line (RTU over a pty pair) or a P1 bridge pushing DSMR telegrams."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from pymodbus.server import ModbusTcpServer

import fast
from controller import config as cfgmod
from controller import sim

from ._ambibox import Ambibox
from ._charger import ChargerEmulator
from ._em24 import Em24
from ._evtec import Evtec
from ._faults import KINDS, Faults
from ._modbus import start_server
from ._p1 import P1
from ._quasar import Quasar
from ._rtu import RtuLine
from ._sdm630 import Sdm630
from ._sigenergy import Sigenergy
from ._sunspec import SunSpec

if TYPE_CHECKING:
    from ._ocpp21 import Ocpp21

log = logging.getLogger("hil.bench")
F_CAR = 1
F_GRID_DOWN = 2
F_CHARGER_ERROR = 64
METERS = {"sdm630": Sdm630, "em24": Em24, "p1": P1}
BENCH_SUB_S = 0.05  # the longest sub-step of the plant in real time (s)


def _ocpp21(bench: Bench, unit_id: int = 1) -> Ocpp21:
    """The OCPP 2.1 station, imported when used: the `ocpp` library's schema classes cost
    half a second of CPU at the start of every Modbus charger's run (the matrix has 135)."""
    from ._ocpp21 import Ocpp21

    return Ocpp21(bench, unit_id)


# the charger models, by the name of their driver (controller.devices.CHARGERS)
CHARGER_MODELS: dict[str, Callable[..., Quasar | ChargerEmulator]] = {
    "quasar": Quasar, "evtec": Evtec, "ambibox": Ambibox, "sigenergy": Sigenergy,
    "sunspec": SunSpec, "ocpp21": _ocpp21}


@dataclass
class Fault:
    """One scheduled fault: kind, from at_s for duration_s (s from the bench's start)."""

    kind: str
    at_s: float
    duration_s: float

    def active(self, t: float) -> bool:
        return self.at_s <= t < self.at_s + self.duration_s


@dataclass
class Bench:
    """Plant + emulators. Time is the bench's own: `clock` (monotonic s) from start, so a
    test can drive it with a fake clock and `advance()` instead of waiting (then `settle()`
    lets a port closed or reopened by a fault edge catch up).

    The meter is `meter_kind` ("sdm630", "em24", "p1") on `meter_link` ("tcp", or "rtu": the
    SDM630 on a serial line, its device in `meter_serial`). With `meter_dies_with_grid` a
    self-powered meter goes dark with every grid loss, as the fault `meter_dark_kind`
    ("meter_dark": no reply; "meter_refused": port closed), until the grid has been back for
    `meter_boot_s` (s). The charger is `charger_kind` ("quasar", "evtec", "ambibox",
    "sigenergy", "sunspec" over Modbus TCP; "ocpp21", the OCPP station that dials the controller
    on ports["charger"], where the controller listens). With `sync_faults` each fault waits,
    from its at_s, for the controller's next write of a power (its power register) and starts on
    the tick after it: the worst phase for a loop that writes once a second (faults due at the
    same at_s move together; the schedule's at_s are moved, so the checks score the real start).
    With `meter_publish_s` > 0 a Modbus meter publishes on a clock of its own, a sample every
    meter_publish_s from meter_publish_phase_s (bench s), and every read until the next returns
    it (0: each read measures anew); `pubs` holds when each was published (the bench's `clock`)."""

    scenario: sim.Scenario
    config: cfgmod.Config = field(default_factory=cfgmod.defaults)
    meter_kind: str = "sdm630"
    faults_schedule: list[Fault] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    unit_id: int = 1
    faults: Faults = field(default_factory=Faults)
    meter_link: str = "tcp"
    meter_dies_with_grid: bool = False
    meter_dark_kind: str = "meter_dark"
    meter_boot_s: float = 3.0
    sync_faults: bool = False
    charger_kind: str = "quasar"
    meter_publish_s: float = 0.0
    meter_publish_phase_s: float = 0.0

    def __post_init__(self) -> None:
        self.inputs = sim.build(self.scenario)
        self.plant = sim.make_plant(self.scenario, self.config, fast.core)
        # in real time the plant moves in sub-steps of BENCH_SUB_S or less: the controller's
        # reads and writes fall anywhere between two (the simulator's only on a sub-step),
        # and a quarter-second step would add up to that much to every dead time, reading
        # and meter sample, by phase alone (session 12: one load-steps run in eight failed)
        k = math.ceil(1.0 / (BENCH_SUB_S * self.plant.n_sub) - 1e-9)
        self.plant.n_sub *= k
        self.plant.meter_lat_n *= k
        self.plant.anti_islanding = True  # the real charger refuses discharge on grid loss
        self.plant.watchdog_s = 1e9  # until the controller sets register 88
        self.h = 1.0 / self.plant.n_sub
        self.t_bench = 0.0
        self._t0 = self.clock()
        self._rt0: float | None = None  # the clock at bench time 0 while run() ticks
        self.tick_late: list[float] = []  # each real-time tick: how late it came (s)
        if self.meter_link == "rtu" and self.meter_kind != "sdm630":
            raise ValueError("the bench's RTU line carries the SDM630 only")
        self.meter = METERS[self.meter_kind](self, self.unit_id)
        if self.charger_kind not in CHARGER_MODELS:
            raise ValueError(f"unknown charger {self.charger_kind!r} (one of "
                             f"{', '.join(CHARGER_MODELS)})")
        self.charger: Quasar | ChargerEmulator = CHARGER_MODELS[self.charger_kind](
            self, self.unit_id)
        self.servers: dict[str, ModbusTcpServer | RtuLine | P1] = {}
        self.meter_serial: str | None = None
        self._pending: set[asyncio.Task] = set()
        # the timeline the checks are scored on: one row a sub-step
        self.rec: list[tuple[float, float, float, float, float, float, float, int]] = []
        self.record = False
        self.g_hist: list[tuple[float, float, float]] = []
        self.ports: dict[str, int] = {}
        for f in self.faults_schedule:
            if f.kind not in KINDS:
                raise ValueError(f"unknown fault kind {f.kind!r} (one of {', '.join(KINDS)})")
        for ev in self.scenario.events:
            at = ev.at_s if ev.at_s is not None else \
                sim.seconds_of_day(ev.at or "00:00") - sim.seconds_of_day(self.scenario.start)
            self.faults_schedule.append(Fault(ev.kind, float(at), float(ev.duration_s)))
        if self.meter_dies_with_grid:
            if self.meter_dark_kind not in ("meter_dark", "meter_refused"):
                raise ValueError(f"a dead meter is meter_dark or meter_refused, not "
                                 f"{self.meter_dark_kind!r}")
            self.faults_schedule += [
                Fault(self.meter_dark_kind, f.at_s, f.duration_s + self.meter_boot_s)
                for f in self.faults_schedule if f.kind == "grid_loss"]
        # sync_faults: each fault's own at_s, until it has started on a write
        self._due = {id(f): f.at_s for f in self.faults_schedule} if self.sync_faults else {}
        self._seen_writes = 0
        self.pubs: list[float] = []
        self._pub_k: int | None = None
        self.asked = False  # a request has reached an emulator (or a client the P1 port)
        if self.meter_publish_s > 0.0 and self.meter_kind == "p1":
            raise ValueError("a P1 meter publishes on its own (every second): "
                             "meter_publish_s is for the Modbus meters")

    # -- time and state ------------------------------------------------------------------
    def now(self) -> float:
        """Bench time (s since start): the plant's clock."""
        return self.t_bench

    def write_time(self) -> float:
        """When a command reaches the charger (bench s): the real time while the bench runs
        in real time, between its ticks (the plant acts on it from the first sub-step that
        starts after its dead time; stamped with the last tick's time, a charger acted up to
        a sub-step early: review R13), else the tick's."""
        if self._rt0 is None:
            return self.t_bench
        return max(self.t_bench, self.clock() - self._rt0)

    def second(self) -> int:
        return min(int(self.t_bench), len(self.inputs) - 1)

    def meter_phases(self) -> tuple[float, float, float]:
        """Phase powers (W) as the meter shows them: meter_lat_n sub-steps old; with
        `plant.meter_avg` the mean of the second (n_sub sub-steps) that ends there, as an
        averaging meter publishes it (firmware_notes/design.md "The plant"; issue #12)."""
        pl = self.plant
        lat = pl.meter_lat_n
        if not pl.meter_avg:
            if lat == 0 or len(self.g_hist) < lat:
                return (pl.g1, pl.g2, pl.g3)
            return self.g_hist[-lat]
        hist = [*self.g_hist, (pl.g1, pl.g2, pl.g3)]
        end = max(0, len(hist) - 1 - lat)
        win = hist[max(0, end - pl.n_sub + 1): end + 1]
        return (sum(g[0] for g in win) / len(win), sum(g[1] for g in win) / len(win),
                sum(g[2] for g in win) / len(win))

    def car_home(self) -> bool:
        return bool(self.inputs.flags[self.second()] & F_CAR)

    def _sync(self, t: float) -> None:
        """sync_faults: the faults due by t wait for the controller's next power write (a
        write between the last tick and this one) and start at this tick."""
        writes = self.charger.command_log  # a power written, in the checks' vocabulary
        wrote = any(w[1] == 260 for w in writes[self._seen_writes:])
        self._seen_writes = len(writes)
        for f in self.faults_schedule:
            if id(f) in self._due and self._due[id(f)] <= t:
                if wrote:
                    f.at_s = t
                    del self._due[id(f)]
                else:
                    f.at_s = math.inf  # held until the controller writes

    def _update_faults(self) -> None:
        t = self.t_bench
        if self._due:
            self._sync(t)
        now = dict.fromkeys((f.name for f in fields(Faults)), False)
        for sf in self.faults_schedule:
            if sf.active(t):
                now[sf.kind] = True
        if now["grid_loss_dark"]:  # the simulator's name for the two together
            now["grid_loss"] = now["meter_dark"] = True
        for kind, on in now.items():
            if getattr(self.faults, kind) != on:
                setattr(self.faults, kind, on)
                self._edge(kind, on)

    def _edge(self, kind: str, on: bool) -> None:
        """A fault starts or ends: what happens at that instant (a port closes, the charger
        reboots or is taken to app control)."""
        self.charger.on_fault(kind, on)
        if kind == "meter_refused":
            self._gate("meter", up=not on)
        elif kind == "charger_reboot":
            self._gate("charger", up=not on)

    def _gate(self, name: str, up: bool) -> None:
        """Close a device's port now (clients dropped, connects refused), or reopen it on the
        same port (a task: see settle())."""
        srv = self.servers.get(name)
        if name == "charger" and self.charger.dials_out:
            return  # the station dials out: it drops and redials by itself (hil/_ocpp21.py)
        if not up:
            if isinstance(srv, P1):
                srv.close()
            elif isinstance(srv, ModbusTcpServer):
                del self.servers[name]
                srv.close()  # what shutdown() does, without waiting for a loop turn
            return
        is_open = srv.server is not None if isinstance(srv, P1) else srv is not None
        if is_open or name not in self.ports:
            return  # open already, or never started (a test without ports)
        task = asyncio.get_running_loop().create_task(self._reopen(name), name=f"hil.{name}.up")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reopen(self, name: str) -> None:
        if name == "meter" and isinstance(self.meter, P1):
            await self.meter.start(self.ports[name])
            return
        dev = self.meter if name == "meter" else self.charger
        srv, _ = await start_server(dev.device(), self.ports[name], self._traced(dev.trace_packet))
        self.servers[name] = srv

    async def settle(self) -> None:
        """Wait for the ports that fault edges reopen (tests on a fake clock)."""
        while self._pending:
            await asyncio.gather(*self._pending)

    def flags(self) -> int:
        fl = self.inputs.flags[self.second()] & F_CAR
        if self.faults.car_unplug:
            fl &= ~F_CAR
        if self.faults.grid_loss:
            fl |= F_GRID_DOWN
        if self.faults.charger_error:
            fl |= F_CHARGER_ERROR
        return fl

    def tick(self) -> None:
        """One plant sub-step up to the current bench time: the plant then stands where it
        is at t_bench, as the emulators read it until the next tick (a sub-step on from
        t_bench, it read a quarter second ahead of real time: a charger that answered a
        command up to a tick early, and a reading from the future)."""
        self._update_faults()
        t0 = self.t_bench - self.h  # the sub-step's start
        k = min(max(int(t0 + 1e-9), 0), len(self.inputs) - 1)
        inp = self.inputs
        fl = self.flags()
        pl = self.plant
        self.g_hist.append((pl.g1, pl.g2, pl.g3))
        del self.g_hist[:-(self.plant.n_sub + self.plant.meter_lat_n + 2)]
        self.charger.tick()
        pl.tick(t0, fl, inp.l1[k], inp.l2[k], inp.l3[k], inp.pv[k])
        if isinstance(self.meter, P1):
            self.meter.on_tick()
        elif self.meter_publish_s > 0.0:
            k = math.floor((self.t_bench - self.meter_publish_phase_s) / self.meter_publish_s
                           + 1e-9)
            if k != self._pub_k:
                self._pub_k = k
                self.meter.publish()
        if self.record:
            self.rec.append((self.t_bench, pl.g1, pl.g2, pl.g3, pl.p,
                             self.charger.command_w(), pl.soc_pct, fl))

    def _next_t(self) -> float:
        """The next sub-step's time, on the grid of whole sub-steps (no drift by addition:
        twenty of 0.05 s make 0.9999999999999999)."""
        n = self.plant.n_sub
        return (round(self.t_bench * n) + 1) / n

    def advance(self, seconds: float) -> None:
        """Run the plant for `seconds` of bench time at once (tests; no waiting)."""
        for _ in range(round(seconds / self.h)):
            self.t_bench = self._next_t()
            self.tick()

    # -- real time -------------------------------------------------------------------------
    async def start(self, meter_port: int = 0, charger_port: int = 0) -> dict[str, int]:
        """Open both emulators on 127.0.0.1 (0 = a free port); returns their ports (an RTU
        meter has none: its line is `meter_serial`). Faults in force at t = 0 apply at once
        (a charger refusing from the start is never opened to the controller)."""
        if isinstance(self.meter, P1):
            self.ports["meter"] = await self.meter.start(meter_port)
            self.servers["meter"] = self.meter
        elif self.meter_link == "rtu":
            line = RtuLine(self.meter.device(), self.config.meter.baudrate,
                           self._traced(self.meter.trace_packet))
            self.meter_serial = await line.start()
            self.servers["meter"] = line
        else:
            srv, self.ports["meter"] = await start_server(
                self.meter.device(), meter_port, self._traced(self.meter.trace_packet))
            self.servers["meter"] = srv
        if self.charger.dials_out:  # v2h listens, the station dials it
            port = charger_port or free_port()
            await self.charger.start(port)  # type: ignore[union-attr]  # the OCPP station
        else:
            srv, port = await start_server(self.charger.device(), charger_port,
                                           self._traced(self.charger.trace_packet))
            self.servers["charger"] = srv
        self.ports["charger"] = port
        self._update_faults()
        return dict(self.ports)

    def _traced(self, trace: Callable[[bool, bytes], bytes]) -> Callable[[bool, bytes], bytes]:
        """An emulator's packet hook that also notes the first request it hears."""
        def hook(sending: bool, data: bytes) -> bytes:
            if not sending:
                self.asked = True
            return trace(sending, data)
        return hook

    async def wait_asked(self, timeout_s: float) -> bool:
        """Wait (real time) until the controller first talks to the bench: a request to a
        Modbus emulator, or a client on the P1 port; False after timeout_s without one."""
        end = time.monotonic() + timeout_s
        while not (self.asked or (isinstance(self.meter, P1) and self.meter.writers)):
            if time.monotonic() >= end:
                return False
            await asyncio.sleep(0.01)
        return True

    async def run(self, duration_s: float | None = None) -> None:
        """Tick the plant in real time, by deadline (no drift), for duration_s or forever."""
        end = duration_s if duration_s is not None else math.inf
        t0 = self._rt0 = self.clock() - self.t_bench
        while self.t_bench < end:
            nxt = self._next_t()
            delay = t0 + nxt - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            # how late this tick came (s): the bench's own process falling behind shows
            # here, the controller's in its loop timings
            self.tick_late.append(max(0.0, self.clock() - (t0 + nxt)))
            self.t_bench = nxt
            self.tick()

    async def stop(self) -> None:
        """Close every port this bench opened."""
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        if self.charger.dials_out:
            await self.charger.stop()  # type: ignore[union-attr]  # the OCPP station
        for srv in self.servers.values():
            if isinstance(srv, P1):
                await srv.stop()
            else:
                await srv.shutdown()
        self.servers.clear()

    async def __aenter__(self) -> Bench:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a peer that listens where we dial)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_to_write_ms(bench: Bench) -> list[float]:
    """For each power write to the charger: how old the meter's sample was (ms) by the last
    meter read before it (a meter with its own clock, `meter_publish_s` > 0): from the
    moment the meter published it to the write."""
    reads = bench.meter.reads
    out: list[float] = []
    i = 0
    last_pub: float | None = None
    for w in bench.charger.power_clock:
        while i < len(reads) and reads[i][0] <= w:
            last_pub = reads[i][1]
            i += 1
        if last_pub is not None:
            out.append((w - last_pub) * 1000.0)
    return out
