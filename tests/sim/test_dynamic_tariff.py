"""The recorded-price scenarios: v2h costs the least of the three policies, keeps every
departure and stays safe; `v2h simulate --json` reports the money."""

from __future__ import annotations

import json

import pytest

from controller import cli, config, sim

NAMES = ["dynamic-tariff-day", "dynamic-tariff-winter"]


@pytest.fixture(scope="module", params=NAMES)
def results(request) -> dict[str, dict]:
    sc = sim.load(request.param)
    res, _ = sim.simulate(sc, config.defaults(tuple(sc.set)), ("v2h", "evcc-like", "none"))
    return {r["policy"]: r for r in res}


def test_dynamic_tariff_v2h_costs_least(results):
    """v2h's cost (bill less the energy left in the car) is below evcc-like's and none's."""
    v2h = results["v2h"]["cost_eur"]
    assert v2h < results["evcc-like"]["cost_eur"], results
    assert v2h < results["none"]["cost_eur"], results


def test_dynamic_tariff_all_policies_safe(results):
    """No safety violation for any policy."""
    for r in results.values():
        assert r["safety_violations"] == 0, (r["policy"], r["safety_detail"])


def test_dynamic_tariff_v2h_meets_departures(results):
    """v2h leaves with the target SoC at every departure of the scenario."""
    r = results["v2h"]
    assert r["departures"] >= 1
    assert r["departures_missed"] == 0


def test_simulate_json_reports_cost(capsys):
    """The CLI's JSON line carries cost_eur and the bill beside the result object's fields."""
    assert cli.main(["simulate", "--scenario", "dynamic-tariff-day", "--policy", "v2h",
                     "--json"]) == 0
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert obj["scenario"] == "dynamic-tariff-day"
    assert isinstance(obj["cost_eur"], float) and isinstance(obj["bill_eur"], float)
    assert obj["safety_violations"] == 0


def test_simulate_table_shows_money(results):
    """The human table adds the bill, the energy left in the car, the cost and departures."""
    text = sim.table(list(results.values()))
    for row in ("bill (EUR)", "cost (EUR)", "departures missed"):
        assert row in text


def test_residual_placed_by_price_costs_less():
    """Issue #12, point 3. A hob pulsing 2 kW every 6 s while the car covers the evening:
    the loop holds the mean and the grid swings +-1 kW, exporting the car's energy half the
    time at the export price. Placed by price (the LP values the car's kWh near the import
    price), the next slot's target moves up by most of the swing. Measured: cost -5.2864
    EUR placed against -5.2722 EUR not (the control, plan.place_residual=false), 1.4 ct on
    the day; the car ends 0.43 % fuller for 4.8 ct more on the bill."""
    sc = sim.load("dynamic-tariff-hob")
    cost = {}
    for place in ("true", "false"):
        cfg = config.defaults((*sc.set, f"plan.place_residual={place}"))
        res, _ = sim.simulate(sc, cfg, ("v2h",))
        r = res[0]
        assert r["safety_violations"] == 0 and r["departures_missed"] == 0
        cost[place] = r["cost_eur"]
    assert cost["true"] < cost["false"] - 0.01, cost
