"""The options at 1 s: every energy balance closes to 1 Wh a day, the V2H and "nothing"
passes are the simulator's own runs of the same seconds (same step, same plant), and the
coarse routes' error against a household whose true 1-s days are known is stated."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from controller import config, sim
from controller.assess import Household, assess_home, home_from_seconds, run_options
from controller.assess._generate import household_seconds
from controller.assess._household import Data, PriceFile
from controller.assess._options import _Car
from controller.sim import Inputs

START = 1_750_975_200.0  # 2025-06-27 00:00 local (CEST), a Friday
DAYS = 3


@pytest.fixture(scope="module")
def home():
    load, pv = household_seconds(DAYS, seed=4, start_day=177)
    h = Household(data=Data(file="-"), name="generated", prices=PriceFile(file="generated"))
    return home_from_seconds(h, "Europe/Amsterdam", START, load, pv)


@pytest.fixture(scope="module")
def cfg():
    return config.defaults(("control.identify=false", "tariff.contract=dynamic"))


def test_balance_closes_in_every_option(home, cfg):
    """House, car or battery, grid: each pass's daily balance closes to 1 Wh, the price
    plan's included (dynamic prices)."""
    from controller.assess import slot_prices

    imp, exp_, dyn, _ = slot_prices(home.h, cfg, home.start_utc, DAYS * 96)
    passes = run_options(home, cfg, (imp, exp_), dyn)
    assert [p.name for p in passes] == ["none", "v2h", "battery-5", "battery-10",
                                        "battery-15", "v2h-plan"]
    for p in passes:
        assert p.balance.worst_wh < 1.0, p.name
        assert p.imp.sum() == pytest.approx(p.totals["import_wh"], abs=1e-3)
        assert p.exp.sum() == pytest.approx(p.totals["export_wh"], abs=1e-3)


def test_one_second_route_is_the_simulators_run(home, cfg):
    """The assessment's V2H and "nothing" passes over these days end where the simulator's
    run_policy ends on the same seconds: the same SoC to the bit, the same energies to
    1e-6 Wh (only the order of summing differs: the assessment cuts at every slot)."""
    passes = {p.name: p for p in run_options(home, cfg, None, False)}
    days = [home.day(d) for d in range(DAYS)]
    cat = lambda f: sum((getattr(d, f) for d in days[1:]), getattr(days[0], f))  # noqa: E731
    returns = [r + i * 86_400 for i, d in enumerate(days) for r in d.returns]
    inp = Inputs(cat("l1"), cat("l2"), cat("l3"), cat("pv"), cat("flags"), returns)
    for policy in ("v2h", "none"):
        sc = msgspec.structs.replace(_Car(home, cfg, policy).sc, duration_s=DAYS * 86_400)
        run = sim.run_policy(sc, cfg, policy, inputs=inp)
        mine = passes[policy].totals
        assert run.soc_end_pct == mine["soc_end_pct"], policy
        assert run.totals.import_wh == pytest.approx(mine["import_wh"], abs=1e-6)
        assert run.totals.export_wh == pytest.approx(mine["export_wh"], abs=1e-6)
        assert run.totals.ev_discharge_wh == pytest.approx(mine["discharge_wh"], abs=1e-6)


def test_coarse_routes_error_is_stated(home, cfg):
    """On the generated household (true 1-s days known) the result states the 15- and
    60-min routes' import and export beside the 1-s route's, and how much each over- or
    understates the savings."""
    r = assess_home(home, cfg, ageing=False)
    one_s = {o["option"]: o for o in r["options"]}
    per_year = r["per_year_scale"]
    for route in ("15min", "60min"):
        res = r["resolution"][route]
        for name in ("none", "v2h", "battery-10"):
            coarse = res[name]["import_kwh"] * per_year
            err = coarse / one_s[name]["import_kwh"] - 1.0
            print(f"{route} {name}: import {err:+.1%}, export "
                  f"{res[name]['export_kwh'] * per_year / one_s[name]['export_kwh'] - 1:+.1%}")
            assert np.isfinite(err)
        assert res["v2h"]["overstates_pct"] is not None


def test_car_days_from_charging_sessions(tmp_path, cfg):
    """Measured sessions instead of away windows: the car is home while plugged in, each
    plug-in brings the session's energy back as the trip's use, and the balances still
    close (a plug-in at midnight included)."""
    from controller.assess._inputs import sessions

    csv = tmp_path / "s.csv"
    csv.write_text("user_id,plugin_local,plugout_local,energy_kwh\n"
                   "u,2019-08-09 18:00,2019-08-09 23:30,6.5\n"
                   "u,2019-08-10 00:00,2019-08-10 07:30,0.5\n"
                   "u,2019-08-10 19:10,2019-08-11 08:00,9.25\n"
                   "v,2019-08-06 12:00,2019-08-06 13:00,1\n")
    home_min, trips, note = sessions(csv, "u", START, DAYS, "Europe/Amsterdam")
    assert "3 charging sessions of u" in note
    # the sessions' week (Friday 9 August 2019 on) lands on the data's first week: Friday
    # 27 June 2025 is day 0; every plug-in is in the horizon
    assert trips.sum() == pytest.approx(16_250.0)
    assert home_min[18 * 60] == 1 and home_min[23 * 60 + 45] == 0 and home_min[1440] == 1
    load, pv = household_seconds(DAYS, seed=4, start_day=177)
    h = Household(data=Data(file="-"), name="sessions")
    home = home_from_seconds(h, "Europe/Amsterdam", START, load, pv)
    home.windows, home.home_min, home.trips_min = [], home_min, trips
    passes = run_options(home, cfg, None, False)
    want = trips.sum()
    for p in passes:
        assert p.balance.worst_wh < 1.0, p.name
        if p.kind != "battery":
            assert p.totals["trips_wh"] == pytest.approx(want, abs=1e-6), p.name


def test_fixed_contract_has_no_price_plan(home):
    """A fixed contract: five options (no plan without market prices), every slot priced
    alike, net metering off (the 2027 rules) unless the tariff keeps it past 2027."""
    from controller.assess import slot_prices

    cfg = config.defaults(("control.identify=false", "tariff.contract=fixed",
                           "tariff.rate_eur_kwh=0.12", "tariff.feed_in_fee_eur_kwh=0.05"))
    imp, exp_, dyn, source = slot_prices(home.h, cfg, home.start_utc, 96)
    assert not dyn and source == "fixed contract"
    assert imp == pytest.approx([(0.12 + 0.10154) * 1.21] * 96) and set(exp_) == {0.05}
    r = assess_home(home, cfg, ageing=False)
    assert [o["option"] for o in r["options"]] == ["none", "v2h", "battery-5", "battery-10",
                                                   "battery-15"]
    assert not r["prices"]["net_metering_2027"]


def test_plan_pass_in_a_second_process_gives_the_same(home, cfg):
    """With workers=2 the price plan's pass runs in a forked process: every option's
    figures are those of one process, bit for bit."""
    from controller.assess import slot_prices

    prices = slot_prices(home.h, cfg, home.start_utc, DAYS * 96)
    one = run_options(home, cfg, prices[:2], True)
    two = run_options(home, cfg, prices[:2], True, workers=2)
    assert [p.name for p in one] == [p.name for p in two]
    for a, b in zip(one, two):
        assert a.totals == b.totals, a.name
        assert (a.imp == b.imp).all() and (a.soc == b.soc).all(), a.name
