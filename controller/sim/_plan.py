"""The price plan in simulated time: the scenario's prices with the config's tariff, and a
planner that runs at every slot start on what the controller would know then (the SoC, the
car's presence, the prices, a forecast learnt from the days before)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from controller import plan as planning
from controller import prices as pricing
from controller.config import Config

from ._inputs import Inputs, build
from ._scenario import Scenario

SLOT_S = planning.SLOT_S


@dataclass
class SimPrices:
    """Import and export prices (EUR/kWh, tariff applied) per 15-minute slot from second 0."""

    start_utc: float
    import_eur_kwh: list[float]
    export_eur_kwh: list[float]

    def slot(self, t_s: float) -> int:
        return min(int(t_s // SLOT_S), len(self.import_eur_kwh) - 1)


def scenario_prices(sc: Scenario, cfg: Config) -> SimPrices | None:
    """The scenario's prices with the config's tariff, from second 0 on; None without."""
    if sc.prices is None:
        return None
    sp = sc.prices
    t0 = datetime.fromisoformat(sp.start_utc.replace("Z", "+00:00")).timestamp()
    if sp.recorded:
        market = pricing.recorded(sp.recorded)
    elif sp.file:
        market = pricing.read_file(Path(sc.base_dir) / sp.file, t0)
    else:
        raise ValueError(f"scenario {sc.name}: prices need `recorded` or `file`")
    p = pricing.apply_tariff(market.quarters(), cfg.tariff, cfg.site.timezone)
    w = p.window(t0, sc.duration_s)
    if not w.import_eur_kwh or w.start_utc != t0:
        raise ValueError(f"scenario {sc.name}: prices do not start at {sp.start_utc}")
    return SimPrices(t0, list(w.import_eur_kwh), list(w.export_eur_kwh))


@dataclass
class SimPlanner:
    """Plans at each slot start, as the live controller would, and remembers its choices."""

    cfg: Config
    prices: SimPrices
    forecaster: planning.Forecaster
    chosen: list[planning.Slot] = field(default_factory=list)
    solve_ms: list[float] = field(default_factory=list)

    def __call__(self, t_s: float, soc_pct: float, present: bool) -> planning.Slot:
        k = self.prices.slot(t_s)
        now = self.prices.start_utc + k * SLOT_S
        n = int(self.cfg.plan.horizon_h * 3600 // SLOT_S)
        problem = planning.build(self.cfg, now, self.prices.import_eur_kwh[k:],
                                 self.prices.export_eur_kwh[k:],
                                 self.forecaster.forecast(now, n), soc_pct, present)
        res = planning.plan(problem)
        self.solve_ms.append(res.lp.solve_ms)
        self.chosen.append(res.slots[0])
        return res.slots[0]

    def learn(self, t_s: float, net_w: float) -> None:
        """The house demand the meter and charger showed over the slot ending at t_s (W)."""
        if math.isfinite(net_w):
            self.forecaster.learn_slots(self.prices.start_utc + t_s - SLOT_S, [net_w])


def history(sc: Scenario, cfg: Config, start_utc: float) -> planning.Forecaster:
    """A forecaster that has seen the household's day before: the same scenario with another
    seed (other appliance times, other clouds), one day, as slot means of load - PV."""
    prev = msgspec.structs.replace(sc, seed=sc.seed + 1000, duration_s=86_400, events=[])
    inp: Inputs = build(prev)
    f = planning.Forecaster(default_w=cfg.plan.default_demand_w)
    means = []
    for k in range(0, len(inp) - SLOT_S + 1, SLOT_S):
        s = 0.0
        for i in range(k, k + SLOT_S):
            s += inp.l1[i] + inp.l2[i] + inp.l3[i] - inp.pv[i]
        means.append(s / SLOT_S)
    f.learn_slots(start_utc - 86_400, means)
    return f


def make_planner(sc: Scenario, cfg: Config, prices: SimPrices | None) -> Any:
    """A SimPlanner when the config plans by price and the scenario has prices, else None."""
    if prices is None or not cfg.plan.by_price:
        return None
    return SimPlanner(cfg, prices, history(sc, cfg, prices.start_utc))


def problem_inputs(name: str) -> tuple[Config, SimPrices, list[float], float]:
    """What the planner has at second 0 of a recorded-price scenario: the config with the
    scenario's settings, the prices, the forecast for the horizon and the SoC (%)."""
    from controller import config
    from controller.sim._scenario import load

    sc = load(name)
    cfg = config.defaults(tuple(sc.set))
    pr = scenario_prices(sc, cfg)
    if pr is None:
        raise ValueError(f"scenario {name} has no prices")
    n = int(cfg.plan.horizon_h * 3600 // SLOT_S)
    net = history(sc, cfg, pr.start_utc).forecast(pr.start_utc, n)
    return cfg, pr, net, sc.car.soc_pct


def scenario_problem(name: str, **over: Any) -> planning.Problem:
    """The problem the planner faces at second 0 of a recorded-price scenario (48 h at most,
    prices beyond the recorded days from the day before), the forecast learnt from the
    household's day before; `over` as for `plan.build` (wear, reserve, departure)."""
    cfg, pr, net, soc = problem_inputs(name)
    return planning.build(cfg, pr.start_utc, pr.import_eur_kwh, pr.export_eur_kwh, net, soc,
                          True, **over)
