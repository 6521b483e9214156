"""The bench: the simulator's plant in real time, a fault schedule, and the device
emulators on 127.0.0.1 that read from and write to it."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from pymodbus.server import ModbusTcpServer

import fast
from controller import config as cfgmod
from controller import sim

from ._em24 import Em24
from ._faults import KINDS, Faults
from ._modbus import start_server
from ._quasar import Quasar
from ._sdm630 import Sdm630

log = logging.getLogger("hil.bench")
F_CAR = 1
F_GRID_DOWN = 2
F_CHARGER_ERROR = 64


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
    test can drive it with a fake clock and `advance()` instead of waiting."""

    scenario: sim.Scenario
    config: cfgmod.Config = field(default_factory=cfgmod.defaults)
    meter_kind: str = "sdm630"
    faults_schedule: list[Fault] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    unit_id: int = 1
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.inputs = sim.build(self.scenario)
        self.plant = sim.make_plant(self.scenario, self.config, fast.core)
        self.plant.anti_islanding = True  # the real charger refuses discharge on grid loss
        self.plant.watchdog_s = 1e9  # until the controller sets register 88
        self.h = 1.0 / self.plant.n_sub
        self.t_bench = 0.0
        self._t0 = self.clock()
        self.meter = (Sdm630 if self.meter_kind == "sdm630" else Em24)(self, self.unit_id)
        self.charger = Quasar(self, self.unit_id)
        self.servers: list[ModbusTcpServer] = []
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

    # -- time and state ------------------------------------------------------------------
    def now(self) -> float:
        """Bench time (s since start): the plant's clock."""
        return self.t_bench

    def second(self) -> int:
        return min(int(self.t_bench), len(self.inputs) - 1)

    def meter_phases(self) -> tuple[float, float, float]:
        """Phase powers (W) as the meter shows them: meter_lat_n sub-steps old (DESIGN §7)."""
        lat = self.plant.meter_lat_n
        if lat == 0 or len(self.g_hist) < lat:
            pl = self.plant
            return (pl.g1, pl.g2, pl.g3)
        return self.g_hist[-lat]

    def car_home(self) -> bool:
        return bool(self.inputs.flags[self.second()] & F_CAR)

    def _update_faults(self) -> None:
        t = self.t_bench
        for f in fields(Faults):
            setattr(self.faults, f.name, False)
        for sf in self.faults_schedule:
            if sf.active(t):
                setattr(self.faults, sf.kind, True)

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
        """One plant sub-step at the current bench time."""
        self._update_faults()
        k = self.second()
        inp = self.inputs
        fl = self.flags()
        pl = self.plant
        self.g_hist.append((pl.g1, pl.g2, pl.g3))
        del self.g_hist[:-4]
        pl.tick(self.t_bench, fl, inp.l1[k], inp.l2[k], inp.l3[k], inp.pv[k])
        if self.record:
            self.rec.append((self.t_bench, pl.g1, pl.g2, pl.g3, pl.p,
                             self.charger.command_w(), pl.soc_pct, fl))

    def advance(self, seconds: float) -> None:
        """Run the plant for `seconds` of bench time at once (tests; no waiting)."""
        for _ in range(round(seconds / self.h)):
            self.t_bench += self.h
            self.tick()

    # -- real time -------------------------------------------------------------------------
    async def start(self, meter_port: int = 0, charger_port: int = 0) -> dict[str, int]:
        """Open both emulators on 127.0.0.1 (0 = a free port); returns their ports."""
        srv, port = await start_server(self.meter.device(), meter_port, self.meter.trace_packet)
        self.servers.append(srv)
        self.ports["meter"] = port
        srv, port = await start_server(self.charger.device(), charger_port,
                                       self.charger.trace_packet)
        self.servers.append(srv)
        self.ports["charger"] = port
        return dict(self.ports)

    async def run(self, duration_s: float | None = None) -> None:
        """Tick the plant in real time, by deadline (no drift), for duration_s or forever."""
        end = duration_s if duration_s is not None else math.inf
        t0 = self.clock() - self.t_bench
        while self.t_bench < end:
            nxt = self.t_bench + self.h
            delay = t0 + nxt - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            self.t_bench = nxt
            self.tick()

    async def stop(self) -> None:
        """Close every port this bench opened."""
        for srv in self.servers:
            await srv.shutdown()
        self.servers.clear()

    async def __aenter__(self) -> Bench:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
