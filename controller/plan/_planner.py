"""From the LP's optimum to what the step follows each slot, and back: the slot model of the
step that prices a plan the way the controller will carry it out."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._lp import LpResult, solve_lp
from ._model import Flows, Problem, cost_eur
from ._residual import import_share

ON_W = 50.0         # below this a planned charge or discharge is no decision at all
TARGET_MAX_W = 10_000.0


@dataclass(frozen=True)
class Slot:
    """What the step is asked to do in one slot (W; forced_w NaN when not forced).
    `import_share`: the share of the time the grid should import while the loop's
    residual moves it about the target (`_residual.py`); NaN leaves the residual where the
    loop puts it."""

    grid_target_w: float = 0.0
    forced_w: float = math.nan
    allow_charge: bool = True
    allow_discharge: bool = True
    why: str = "self-consumption"
    import_share: float = math.nan


def decide(p: Problem, lp: LpResult) -> list[Slot]:
    """Per slot: charge from the grid at a forced power where the LP buys beyond the PV
    surplus; cover the house where it discharges (at its planned grid import); else follow
    the planned grid exchange with discharge held back, so the car's energy waits for the
    slots where it is worth most."""
    f = lp.flows
    out = []
    for t in range(p.n):
        c, d = f.charge_w[t], f.discharge_w[t]
        surplus = max(0.0, -p.net_w[t])
        grid = max(-TARGET_MAX_W, min(TARGET_MAX_W, f.import_w[t] - f.export_w[t]))
        if not p.present[t]:
            out.append(Slot(why="away"))
        elif c > surplus + ON_W:
            out.append(Slot(forced_w=c, allow_discharge=False, why="charge-cheap"))
        elif d > ON_W:
            out.append(Slot(grid_target_w=max(0.0, grid), why="discharge",
                            import_share=import_share(p, lp, t, discharging=True)))
        elif c > ON_W:
            out.append(Slot(grid_target_w=min(0.0, grid), allow_discharge=False,
                            why="charge-surplus",
                            import_share=import_share(p, lp, t, discharging=False)))
        elif surplus > ON_W:
            out.append(Slot(allow_charge=False, allow_discharge=False, why="export"))
        else:
            out.append(Slot(allow_discharge=False, why="hold"))
    return out


def execute(p: Problem, slots: list[Slot]) -> Flows:
    """What the step does with `slots` when the house demand is as expected: the car's power
    per slot from the target or the forced power, within the charger's, the fuse's and the
    battery's limits, and below the charger's minimum nothing."""
    car, dt, eta = p.car, p.dt_h, p.car.efficiency
    fl = Flows([], [], [], [], [], [])
    s = car.soc0_wh
    floor = p.floor_wh()
    goals = {tg.slot: tg.soc_wh for tg in p.targets}
    for t, sl in enumerate(slots):
        net = p.net_w[t]
        ev = 0.0
        if p.present[t]:
            ev = sl.forced_w if not math.isnan(sl.forced_w) else sl.grid_target_w - net
            if ev > 0.0 and not sl.allow_charge or ev < 0.0 and not sl.allow_discharge:
                ev = 0.0
            room = max(0.0, (max(car.max_wh, car.soc0_wh) - s) / (eta * dt))
            avail = max(0.0, (s - max(floor[t], car.reserve_wh)) * eta / dt)
            ev = min(ev, p.charge_limit_w(t), room)
            ev = max(ev, -car.max_discharge_w, -avail)
            if abs(ev) < car.min_power_w:
                ev = 0.0
        s += (eta * ev if ev > 0.0 else ev / eta) * dt - p.trip_wh[t]
        grid = net + ev
        fl.charge_w.append(max(ev, 0.0))
        fl.discharge_w.append(max(-ev, 0.0))
        fl.import_w.append(max(grid, 0.0))
        fl.export_w.append(max(-grid, 0.0))
        fl.soc_wh.append(s)
        if t in goals:
            fl.shortfall_wh.append(max(0.0, goals[t] - s))
    return fl


@dataclass
class Result:
    """A plan: per-slot decisions, the LP behind them, and its cost as carried out (EUR)."""

    slots: list[Slot]
    lp: LpResult
    flows: Flows
    cost_eur: float


def plan(p: Problem) -> Result:
    """Solve, decide per slot, and price the decisions with the slot model."""
    lp = solve_lp(p)
    slots = decide(p, lp)
    fl = execute(p, slots)
    return Result(slots, lp, fl, cost_eur(p, fl))
