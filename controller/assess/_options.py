"""The options of an assessment, simulated together day by day at 1 s: nothing (the car
charges at full power when it comes home); V2H with the v2h policy (the very step the live
loop runs, on the simulator's plant: fast.run_batch); a home battery of each size (fast/
_battery.py, on the grid the house has without one); and, with dynamic prices, V2H with
the price plan (controller.plan) choosing each slot's target.

A day's 1-s inputs are made, run through every option and dropped, so a year needs little
memory. Each pass keeps per 15-minute slot its import and export (Wh) and the battery's SoC,
and per day the terms of its energy balance (Balance)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import msgspec
import numpy as np
import pandas as pd

import fast
from controller import plan as planning
from controller.config import Config, core_limits, core_plan
from controller.devices import CHARGER_CAPS
from controller.sim import Scenario, make_plant
from controller.sim._scenario import Car, Plant

from ._household import Household
from ._inputs import Home
from ._types import Arr

SLOT_S = 900
DAY_S = 86_400
CAR = 1 << fast.FLAGS.index("car")
# the home battery's defaults (firmware_notes/assessment.md, "Home battery"): the measured
# AC-coupled Siemens Junelight Smart Battery 9.9 of HTW Berlin's PerMod database as bslib
# (FZJ, CC BY 4.0) publishes it: loss = a x^2 + b x + c (W) at part load x, here relative
# to the nominal power (charge and discharge averaged), cell efficiency 96.87 %, standby
# 12.1-14.9 W AC (+ 1 W peripherals), dead time 1.6 s (2 s at the 1-s step), time constant
# 0.6 s, no operation below its no-load loss c (~36 W); power 0.4 C as that system's
# 3.5 kW for 8.85 kWh, at most 5 kW
HB_DEFAULTS = {"l0": 0.0103, "l1": 0.0081, "l2": 0.0366, "cell_eff": 0.9687,
               "standby_w": 14.5, "dead_s": 2, "tau_s": 0.6, "min_w": 36.0, "min_soc": 0.05,
               "c_rate": 0.4, "max_w": 5000.0}
# V2H without a plan tops the car up from the grid at full power (issue #15 is silent; the
# car must still drive): at night (NIGHT local hours) when a trip has taken it more than
# BELOW_PCT under its reserve (v2h itself stops discharging at the reserve, a little under
# it by its hysteresis), until TOP_UP_PCT above it; at any hour when it could not make the
# next trip
TOP_UP_PCT = 10.0
BELOW_PCT = 3.0
NIGHT = (1, 6)


def top_up(soc_pct: float, was: bool, hour: int, reserve: float, need: float) -> bool:
    """Whether V2H without a plan charges the car from the grid in this slot: below `need`
    (% for the next trip and the car's own minimum) at any hour; more than BELOW_PCT under
    the reserve at night, until TOP_UP_PCT above it."""
    if soc_pct < need:
        return True
    night = NIGHT[0] <= hour < NIGHT[1]
    return night and (soc_pct < reserve - BELOW_PCT
                      or (was and soc_pct < reserve + TOP_UP_PCT))


def local_hours(start_utc: float, n: int, tz: str, slot_s: int = 900) -> Arr:
    """The local hour (0..23) at the start of each of n slots."""
    idx = pd.date_range(pd.Timestamp(start_utc, unit="s", tz="UTC"), periods=n,
                        freq=f"{slot_s}s").tz_convert(tz)
    return np.asarray(idx.hour, dtype=np.int64)


@dataclass
class Balance:
    """A pass's energy balance over a day (Wh): what went into the grid connection and the
    battery, and what was left unexplained (the residual)."""

    worst_wh: float = 0.0  # the largest |residual| of a day, either side

    def add(self, grid_res: float, store_res: float) -> None:
        self.worst_wh = max(self.worst_wh, abs(grid_res), abs(store_res))


@dataclass
class Pass:
    """One option's year: per-slot import and export (Wh), the SoC (%) at each slot start,
    its battery's size (kWh) and its totals (Wh)."""

    name: str
    kind: str  # "none", "v2h", "battery", "v2h-plan"
    cap_kwh: float
    imp: Arr
    exp: Arr
    soc: Arr
    totals: dict[str, float] = field(default_factory=dict)
    balance: Balance = field(default_factory=Balance)
    state: Any = None


class _Car:
    """The car's pass through run_batch: the plant and the step's objects, carried on."""

    def __init__(self, home: Home, cfg: Config, policy: str) -> None:
        core = fast.core
        caps = CHARGER_CAPS[cfg.charger.driver]
        lim_c = cfg.limits
        plant = msgspec.structs.replace(
            Plant(), max_chg_w=min(caps.max_charge_w, lim_c.max_charge_w),
            max_dis_w=min(caps.max_discharge_w, lim_c.max_discharge_w),
            min_w=max(caps.min_power_w, lim_c.min_power_w))
        self.sc = Scenario(name=home.name, duration_s=DAY_S, seed=home.seed, plant=plant,
                           car=Car(soc_pct=home.h.car.soc_pct, trip_kwh=home.h.car.trip_kwh))
        self.pl = make_plant(self.sc, cfg, core)
        self.lim = core_limits(cfg, core)
        self.lim.meter_interval_s = 1.0
        self.plan0 = core_plan(cfg, core)
        self.plan = self.plan0
        self.st = core.CtlState()
        self.ev = core.EvccState()
        self.tot = core.Totals(reserve_soc=cfg.limits.reserve_soc, fuse_a=cfg.limits.fuse_a,
                               stop_budget_s=cfg.control.grid_loss_stop_s,
                               stale_budget_s=cfg.control.meter_stale_s + 1.0,
                               nominal_v=cfg.site.nominal_v)
        self.pid = core.POLICIES.index(policy)
        self.trips_wh = 0.0
        # the price plan's slot in force, its residual placed by the last slot's seconds:
        # the day's trace behind the last slot of the day before (None: not placed)
        self.slot: Any = None
        self.trace: Arr | None = None
        self.topping = False


def _tot(t: Any) -> dict[str, float]:
    return {"import_wh": t.import_wh, "export_wh": t.export_wh, "load_wh": t.load_wh,
            "pv_wh": t.pv_wh, "charge_wh": t.ev_charge_wh, "discharge_wh": t.ev_discharge_wh}


@dataclass
class Planner:
    """V2H with the price plan: a plan at the start of each simulated day (the data's
    day), 24 h ahead, on what the controller would know (prices, SoC, a forecast learnt from
    the slots already lived); its slot decisions until the next. The live controller plans
    every 15 minutes; once a day keeps a year's 35,040 slots to 365 solves (the plan knows
    the car's departure, return and trip, so a return needs no new plan)."""

    cfg: Config
    imp: list[float]
    exp: list[float]
    start_utc: float
    forecaster: planning.Forecaster
    slots: list[Any] = field(default_factory=list)
    first: int = 0
    solves: int = 0

    def due(self, k: int) -> bool:
        return not self.slots or k - self.first >= len(self.slots) or k % 96 == 0

    def plan_at(self, k: int, soc_pct: float, present: bool) -> None:
        now = self.start_utc + k * SLOT_S
        n = int(self.cfg.plan.horizon_h * 3600 // SLOT_S)
        imp, exp_ = self.imp[k:k + n], self.exp[k:k + n]
        if not imp:
            return
        p = planning.build(self.cfg, now, imp, exp_, self.forecaster.forecast(now, len(imp)),
                           soc_pct, present)
        self.slots = planning.plan(p).slots
        self.first = k
        self.solves += 1

    def slot(self, k: int) -> Any:
        i = k - self.first
        return self.slots[i] if 0 <= i < len(self.slots) else None


def plan_config(cfg: Config, h: Household, windows: list[tuple[set[int], int, int]]) -> Config:
    """The config the price plan runs with: by price, 24 h ahead, the car's first away
    window as its departure and return on those weekdays, the household's trip energy."""
    days, a, b = windows[0] if windows else (set(range(7)), 0, 0)
    def hh(s: int) -> str:
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}"

    pl = msgspec.structs.replace(
        cfg.plan, by_price=True, horizon_h=24,
        departure=hh(a) if windows else None, return_at=hh(b) if windows else None,
        trip_kwh=h.car.trip_kwh, weekdays=sorted(days))
    return msgspec.structs.replace(cfg, plan=pl)


def run_options(home: Home, cfg: Config, prices: tuple[list[float], list[float]] | None,
                dynamic: bool, workers: int = 1) -> list[Pass]:
    """Every option over the home's days; `prices` (import, export EUR/kWh per slot) feed the
    price plan, which runs when the contract is dynamic. The home batteries run on the
    "nothing" pass's grid power, second by second (the trace's mean of each second). With
    `workers` > 1 the price plan's pass runs in a forked second process meanwhile (the
    same seconds, made again there from the same seeds)."""
    plan = dynamic and prices is not None
    if plan and workers > 1:
        return _two_processes(home, cfg, prices)
    return _passes(home, cfg, prices, ("none", "v2h", "battery", "v2h-plan") if plan
                   else ("none", "v2h", "battery"))


# what a forked process inherits instead of receiving it pickled (a generated home's 1-s
# year is hundreds of MB): set just before the fork, read by _plan_child
_FORK_JOB: tuple[Home, Config, Any] | None = None


def _plan_child() -> list[Pass]:
    assert _FORK_JOB is not None
    home, cfg, prices = _FORK_JOB
    return _passes(home, cfg, prices, ("v2h-plan",))


def _two_processes(home: Home, cfg: Config, prices: Any) -> list[Pass]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _FORK_JOB
    _FORK_JOB = (home, cfg, prices)
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            fut = pool.submit(_plan_child)
            here = _passes(home, cfg, prices, ("none", "v2h", "battery"))
            there = fut.result()
    finally:
        _FORK_JOB = None
    return here + there


def _passes(home: Home, cfg: Config, prices: Any, which: tuple[str, ...]) -> list[Pass]:
    """The chosen options ("none", "v2h", "battery": every size, on the none pass's grid;
    "v2h-plan") over the home's days, in the order asked."""
    n_slots = home.days * DAY_S // SLOT_S

    def zeros() -> Arr:
        return np.zeros(n_slots)

    cars = {k: _Car(home, cfg, "none" if k == "none" else "v2h") for k in which
            if k != "battery"}
    if "battery" in which and "none" not in cars:
        raise ValueError("the home batteries run on the none pass's grid")
    planner = None
    if "v2h-plan" in cars:
        pcfg = plan_config(cfg, home.h, home.windows)
        planner = Planner(pcfg, prices[0], prices[1], home.start_utc,
                          planning.Forecaster(default_w=cfg.plan.default_demand_w))
        if cfg.plan.place_residual:
            cars["v2h-plan"].trace = np.zeros(6 * (SLOT_S + DAY_S))
    passes = {k: Pass(k, k, cfg.car.capacity_kwh, zeros(), zeros(), zeros())
              for k in cars}
    hb = []
    for size in home.h.battery.sizes_kwh if "battery" in which else []:
        p = Pass(f"battery-{size:g}", "battery", size, zeros(), zeros(), zeros())
        d = HB_DEFAULTS
        p.state = {"soc_wh": size * 1000.0 * d["min_soc"], "mem": np.zeros(1 + int(d["dead_s"])),
                   "out": np.zeros(fast.battery.OUT_N)}
        hb.append(p)
    hours = local_hours(home.start_utc, n_slots, home.tz)
    trace = np.zeros(6 * DAY_S)  # the "nothing" pass's seconds, each day overwritten
    for day in range(home.days):
        inp = home.day(day)
        for key, car in cars.items():
            _car_day(day, inp, car, passes[key], trace if key == "none" else None,
                     planner if key == "v2h-plan" else None, cfg, hours, home.trip_wh)
        if hb:
            grid0 = trace[0::6].copy()
            for p in hb:
                _battery_day(day, grid0, p)
    for key, car in cars.items():
        passes[key].totals = {**_tot(car.tot), "trips_wh": car.trips_wh,
                              "soc_end_pct": car.pl.soc_pct,
                              "plan_solves": planner.solves if planner and key == "v2h-plan"
                              else 0}
        passes[key].state = None
    for p in hb:
        o = p.state["out"]
        p.totals = {f: float(o[i]) for i, f in enumerate(fast.battery.OUT_FIELDS)}
        p.totals["soc_end_pct"] = o[7] / (p.cap_kwh * 10.0)
        # the house (load, PV) is the same in every option: the none pass's
        p.totals["load_wh"] = passes["none"].totals["load_wh"]
        p.totals["pv_wh"] = passes["none"].totals["pv_wh"]
        p.state = None
    out = []
    for k in which:
        out += hb if k == "battery" else [passes[k]]
    return out


def _car_day(day: int, inp: Any, car: _Car, pas: Pass, trace: Arr | None,
             planner: Planner | None, cfg: Config, hours: Arr,
             trip_wh: Any) -> None:
    """One day of a car pass, cut at each slot and each return of the car."""
    core = fast.core
    pl, tot = car.pl, car.tot
    soc0 = pl.soc_wh
    g0 = _tot(tot)
    trips0 = car.trips_wh
    returns = set(inp.returns)
    cuts = sorted({0, DAY_S, *range(0, DAY_S, SLOT_S), *returns})
    views = [memoryview(a) for a in (inp.l1, inp.l2, inp.l3, inp.pv, inp.flags)]
    if car.trace is not None:
        trace = car.trace[6 * SLOT_S:]  # the day's seconds, behind the last slot's carried
    tv = trace.data if trace is not None else memoryview(array("d"))
    base = day * DAY_S
    reserve = cfg.limits.reserve_soc
    need = pl.car_min_soc + car.sc.car.trip_kwh * 1000.0 / pl.cap_wh * 100.0 + 5.0
    for a, b in zip(cuts, cuts[1:]):
        back = a in returns and (a > 0 or day > 0)
        if back:
            before = pl.soc_wh
            pl.soc_wh = max(pl.soc_wh - trip_wh(day, a),
                            pl.cap_wh * pl.car_min_soc / 100.0)
            car.trips_wh += before - pl.soc_wh
        if a % SLOT_S == 0 or back:
            k = (base + a) // SLOT_S
            present = bool(inp.flags[a] & CAR)
            if a % SLOT_S == 0:
                pas.soc[k] = pl.soc_pct
            if planner is not None:
                if planner.due(k):
                    planner.plan_at(k, pl.soc_pct, present)
                if a % SLOT_S == 0:
                    car.slot = planner.slot(k)
                    if car.slot is not None and car.trace is not None:
                        # the last slot's seconds: [a - SLOT_S, a) of the day, carried
                        car.slot = planning.placed(car.slot, partial(
                            planning.residual_w, car.trace.data, a, a + SLOT_S,
                            car.plan.grid_target_w))
                car.plan = planning.step_plan(core, car.slot, cfg.plan.allow_discharge) \
                    if car.slot else car.plan0
            elif car.pid == core.POLICIES.index("v2h"):
                car.topping = present and top_up(pl.soc_pct, car.topping, int(hours[k]),
                                                 reserve, need)
                car.plan = core.Plan(forced_w=car.lim.max_charge_w) if car.topping \
                    else car.plan0
        imp0, exp0 = tot.import_wh, tot.export_wh
        core.run_batch(car.pid, *(v[a:b] for v in views), pl, car.lim, car.plan, car.st,
                       car.ev, tot, float(base + a),
                       tv[6 * a:6 * b] if trace is not None else tv)
        k = (base + a) // SLOT_S
        pas.imp[k] += tot.import_wh - imp0
        pas.exp[k] += tot.export_wh - exp0
        if planner is not None and b % SLOT_S == 0:
            kk = (base + b) // SLOT_S - 1
            net = (pas.imp[kk] - pas.exp[kk]) * 3600.0 / SLOT_S
            planner.forecaster.learn_slots(planner.start_utc + kk * SLOT_S, [net])
    if car.trace is not None:
        car.trace[:6 * SLOT_S] = car.trace[6 * DAY_S:]  # the day's last slot, for the next
    g1 = _tot(tot)
    d = {k: g1[k] - g0[k] for k in g1}
    grid_res = (d["import_wh"] - d["export_wh"]) - (d["load_wh"] - d["pv_wh"]
                                                    + d["charge_wh"] - d["discharge_wh"])
    eff = pl.eff
    store_res = (pl.soc_wh - soc0) - (d["charge_wh"] * eff - d["discharge_wh"] / eff
                                      - (car.trips_wh - trips0))
    pas.balance.add(grid_res, store_res)


def _battery_day(day: int, grid0: Arr, p: Pass) -> None:
    """One day of a home battery on the house's grid power without it (its state carries
    over from day to day, so the cuts change nothing)."""
    d = HB_DEFAULTS
    cap = p.cap_kwh * 1000.0
    p_nom = min(d["max_w"], cap * d["c_rate"])
    st = p.state
    out = st["out"]
    before = out.copy()
    soc0 = st["soc_wh"]
    n = DAY_S // SLOT_S
    soc = np.zeros(n)
    io = np.zeros(2 * n)
    st["soc_wh"] = fast.battery.run(
        grid0, cap, soc0, cap * d["min_soc"], p_nom, d["min_w"], d["l0"], d["l1"], d["l2"],
        d["cell_eff"], d["standby_w"], int(d["dead_s"]), d["tau_s"], out, soc, SLOT_S,
        st["mem"], io)
    k0 = day * n
    p.soc[k0:k0 + n] = soc / cap * 100.0
    p.imp[k0:k0 + n] = io[0::2]
    p.exp[k0:k0 + n] = io[1::2]
    diff = out - before
    grid_res = (diff[0] - diff[1]) - (grid0.sum() / 3600.0 + diff[2] - diff[3] + diff[4])
    store_res = (st["soc_wh"] - soc0) - (diff[2] - diff[3] - diff[5] - diff[6])
    p.balance.add(grid_res, store_res)

