"""`v2h simulate` against the oracle and evcc-like (issue acceptance), and the result JSON."""

from __future__ import annotations

import json

import pytest

from controller import cli, config, sim

FIELDS = ("scenario", "policy", "duration_s", "pv_wh", "load_wh", "import_wh", "export_wh",
          "ev_charge_wh", "ev_discharge_wh", "oracle_import_wh", "oracle_export_wh",
          "oracle_ev_charge_wh", "oracle_ev_discharge_wh", "tracking_efficiency",
          "max_export_w", "safety_violations", "checks")


@pytest.fixture(scope="module")
def results():
    """Each acceptance scenario with v2h and evcc-like, simulated once."""
    cfg = config.defaults()
    out = {}
    for name in ("standard-day", "load-steps", "cloud-transients"):
        res, _ = sim.simulate(sim.load(name), cfg, ("v2h", "evcc-like", "none"))
        out[name] = {r["policy"]: r for r in res}
    return out


@pytest.mark.parametrize("scenario", ["standard-day", "load-steps", "cloud-transients"])
def test_simulate_v2h_tracks_within_3_percent_of_oracle(results, scenario):
    """tracking_efficiency >= 0.97, no safety violation, less export than evcc-like."""
    r = results[scenario]
    assert r["v2h"]["tracking_efficiency"] >= 0.97, r["v2h"]
    assert r["v2h"]["safety_violations"] == 0, r["v2h"]["safety_detail"]
    assert r["v2h"]["export_wh"] < r["evcc-like"]["export_wh"]


@pytest.mark.parametrize("scenario", ["standard-day", "load-steps", "cloud-transients"])
def test_simulate_energy_balance(results, scenario):
    """At the meter: import - export = load + charge - discharge - PV, for every policy."""
    for r in results[scenario].values():
        lhs = r["import_wh"] - r["export_wh"]
        rhs = r["load_wh"] + r["ev_charge_wh"] - r["ev_discharge_wh"] - r["pv_wh"]
        assert abs(lhs - rhs) < 0.01 * max(1.0, r["pv_wh"]) + 1.0, r


def test_simulate_json_contract(capsys):
    """--json prints one object with the fields of firmware_notes/design.md "Result object"."""
    assert cli.main(["simulate", "--scenario", "load-steps", "--policy", "v2h", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    for f in FIELDS:
        assert f in obj, f
    assert obj["scenario"] == "load-steps" and obj["policy"] == "v2h"
    assert obj["duration_s"] == 7200 and obj["checks"] == []


@pytest.mark.once
def test_simulate_all_policies_table_and_chart(tmp_path, capsys):
    """--policy all prints the comparison table and writes a PNG chart."""
    png = tmp_path / "day.png"
    assert cli.main(["simulate", "--scenario", "load-steps", "--policy", "all",
                     "--chart", str(png)]) == 0
    out = capsys.readouterr().out
    for word in ("v2h", "evcc-like", "none", "oracle", "tracking efficiency"):
        assert word in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_is_deterministic():
    """The same scenario twice: the same figures."""
    cfg = config.defaults()
    a, _ = sim.simulate(sim.load("load-steps"), cfg)
    b, _ = sim.simulate(sim.load("load-steps"), cfg)
    assert a == b


@pytest.mark.once  # two whole days on the core: parity proves the pure core's bits the same
def test_simulate_other_builtins_are_safe():
    """commuter-day and winter-day: v2h safe and well ahead of evcc-like."""
    cfg = config.defaults()
    for name in ("commuter-day", "winter-day"):
        res, _ = sim.simulate(sim.load(name), cfg, ("v2h", "evcc-like"))
        v2h, evcc = res
        assert v2h["safety_violations"] == 0, (name, v2h["safety_detail"])
        assert v2h["import_wh"] + v2h["export_wh"] < evcc["import_wh"] + evcc["export_wh"]
