"""The plan against the LP optimum of the same model, the departure target, and the rule that
the car's energy goes back to the house only where the price spread pays for losses and wear."""

from __future__ import annotations

import math

import pytest

from controller import plan
from controller.sim._plan import scenario_problem


def _spread_pays(p: plan.Problem, res: plan.Result, t: int) -> bool:
    """Whether discharging in slot t can beat the cheapest way the energy got into the car:
    charged earlier (from PV at the export price it gave up, or from the grid) through both
    ways' losses plus wear on both passes, or already there (worth its terminal value)."""
    eta, w = p.car.efficiency, p.wear_eur_kwh
    src = [p.export_eur_kwh[s] if p.net_w[s] < 0 else p.import_eur_kwh[s] for s in range(t)]
    via_charge = (min(src) / eta ** 2 + 2 * w / eta) if src else math.inf
    stored = p.terminal() / eta + w / eta
    return p.import_eur_kwh[t] >= min(via_charge, stored) - 1e-9


class TestPlanOnRecordedPrices:
    def test_plan_cost_within_half_a_percent_of_lp(self, recorded_problem):
        """Carried out by the slot model, the plan costs within 0.5 % of the LP optimum."""
        p = recorded_problem
        lp = plan.solve_lp(p)
        res = plan.plan(p)
        gap = res.cost_eur - lp.objective_eur
        assert gap >= -1e-6, "nothing beats the optimum of the same model"
        assert gap <= 0.005 * abs(lp.objective_eur), (res.cost_eur, lp.objective_eur)

    def test_plan_departure_met(self, recorded_problem):
        """Every departure in the horizon leaves with at least its target SoC."""
        p = recorded_problem
        res = plan.plan(p)
        assert p.targets
        for tg in p.targets:
            assert res.flows.soc_wh[tg.slot] >= tg.soc_wh - 1.0, tg
        assert max(res.flows.shortfall_wh) <= 1.0

    def test_plan_discharges_only_where_spread_pays(self, recorded_problem):
        """A slot with planned discharge avoids more than the energy cost it through losses
        and wear."""
        p = recorded_problem
        res = plan.plan(p)
        dis = [t for t in range(p.n) if res.flows.discharge_w[t] > 0.0]
        for t in dis:
            assert _spread_pays(p, res, t), (t, p.import_eur_kwh[t])

    @pytest.mark.parametrize("name", ["dynamic-tariff-day", "dynamic-tariff-winter"])
    def test_plan_never_discharges_when_wear_is_dear(self, name):
        """With wear at 5 EUR/kWh no slot discharges, and the departures still hold."""
        p = scenario_problem(name, wear_eur_kwh=5.0)
        res = plan.plan(p)
        assert max(res.flows.discharge_w) == 0.0
        assert not any(s.allow_discharge for s in res.slots if s.why != "away")
        for tg in p.targets:
            assert res.flows.soc_wh[tg.slot] >= tg.soc_wh - 1.0

    def test_plan_spring_day_buys_low_and_covers_the_peak(self):
        """On the spring day with negative midday prices, the plan charges from the grid in
        cheap slots and discharges at the evening peak."""
        p = scenario_problem("dynamic-tariff-day")
        res = plan.plan(p)
        whys = [s.why for s in res.slots[:96]]
        assert "charge-cheap" in whys or "charge-surplus" in whys
        peak = max(range(96), key=lambda t: p.import_eur_kwh[t])
        assert any(res.flows.discharge_w[t] > 0 for t in range(peak - 4, peak + 5))
