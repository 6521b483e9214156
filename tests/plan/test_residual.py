"""Where the residual goes (controller/plan/_residual.py, issue #12 point 3): the LP's value
of a battery kWh, the import share it sets, and the move of the target on a residual."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from controller import plan as planning
from controller.plan import _residual


def test_battery_value_is_the_lps_marginal_value(recorded_problem):
    """The value the LP gives a battery kWh now (its row's dual) is what one more kWh in the
    car saves over the horizon: the objective solved again with 0.1 kWh more and less."""
    p = recorded_problem
    lp = planning.solve_lp(p)
    d_wh = 100.0
    more = planning.solve_lp(dataclasses.replace(
        p, car=dataclasses.replace(p.car, soc0_wh=p.car.soc0_wh + d_wh)))
    less = planning.solve_lp(dataclasses.replace(
        p, car=dataclasses.replace(p.car, soc0_wh=p.car.soc0_wh - d_wh)))
    gain = (lp.objective_eur - more.objective_eur) / (d_wh / 1000.0)
    loss = (less.objective_eur - lp.objective_eur) / (d_wh / 1000.0)
    v = lp.battery_value_eur_kwh[0]
    assert min(gain, loss) - 1e-6 <= v <= max(gain, loss) + 1e-6, (gain, v, loss)
    assert len(lp.battery_value_eur_kwh) == p.n


def _problem(buy: float, sell: float, value: float) -> tuple[planning.Problem, planning.LpResult]:
    car = planning.Car(capacity_wh=60_000.0, soc0_wh=30_000.0, reserve_wh=12_000.0,
                       max_wh=54_000.0, efficiency=0.9)
    p = planning.Problem(start_utc=0.0, import_eur_kwh=[buy], export_eur_kwh=[sell],
                         net_w=[500.0], present=[True], car=car, wear_eur_kwh=0.02)
    lp = planning.LpResult(planning.Flows([], [], [], [], [], []), 0.0, 0.0, "optimal",
                           [value])
    return p, lp


def test_import_share_balances_the_prices_against_the_cars_energy():
    """q* = (value at the meter - export) / (import - export): a discharging car's kWh at the
    meter costs (value + wear) / efficiency, a charging one's is worth efficiency x (value -
    wear). Worked by hand: import 0.30, export 0.05, value 0.20, wear 0.02, efficiency 0.9."""
    p, lp = _problem(0.30, 0.05, 0.20)
    dis = _residual.import_share(p, lp, 0, discharging=True)
    chg = _residual.import_share(p, lp, 0, discharging=False)
    assert dis == pytest.approx(((0.22 / 0.9) - 0.05) / 0.25)  # 0.778: import most of the time
    assert chg == pytest.approx((0.9 * 0.18 - 0.05) / 0.25)  # 0.448
    # clipped to the middle: a value beyond either price places by the tails no further
    assert _residual.import_share(*_problem(0.30, 0.05, 0.90), 0, discharging=True) == 0.95
    assert _residual.import_share(*_problem(0.30, 0.05, 0.00), 0, discharging=False) == 0.05
    # net metering (a kWh fed in earns what one bought costs): the residual is left alone
    assert math.isnan(_residual.import_share(*_problem(0.25, 0.25, 0.2), 0, discharging=True))


def test_move_puts_the_swing_where_the_share_says():
    """A hob pulsing 2 kW (the loop holding the mean: the grid swings +-1 kW) with q = 0.9:
    the target moves up by about the swing, and then the grid imports 90 % of the time."""
    rnd = random.Random(1)
    swing = [(1000.0 if k % 4 < 2 else -1000.0) + rnd.gauss(0.0, 20.0) for k in range(900)]
    move = _residual.move_w(swing, 0.9)
    assert 950.0 < move < 1050.0, move
    assert sum(1 for r in swing if r + move > 0) / len(swing) == pytest.approx(0.9, abs=0.01)
    # the other way for a car whose energy is worth little: export 90 % of the time
    assert -1050.0 < _residual.move_w(swing, 0.1) < -950.0


def test_move_ignores_a_steps_transient_and_a_short_record():
    """Noise of 10 W with a step's few seconds of -2.4 kW in the slot: the 5 % quantile is
    the transient, but the move stays within the noise's middle half (no 800 W export for
    a whole slot on the echo of a kettle). Fewer than MIN_SAMPLES seconds: no move."""
    rnd = random.Random(2)
    quiet = [rnd.gauss(0.0, 10.0) for _ in range(850)] + [-2400.0] * 50
    move = _residual.move_w(quiet, 0.95)
    assert 0.0 < move <= 20.0, move
    assert _residual.move_w(quiet[:_residual.MIN_SAMPLES - 1], 0.95) == 0.0
    # no number is no data: NaN and infinities are left out, never a NaN target
    junk = [math.nan, math.inf, -math.inf] * 400 + quiet[:_residual.MIN_SAMPLES - 1]
    assert _residual.move_w(junk, 0.95) == 0.0


def test_placed_slot_never_aims_a_discharging_car_at_export():
    """A discharging car covers the house: however little its energy is worth, the target
    stays at 0 W or above; the share is spent (a replay aims where v2h aimed); a slot with
    nothing to place is returned as it is, its residual not even asked for."""
    swing = [(1000.0 if k % 4 < 2 else -1000.0) for k in range(900)]
    dis = planning.Slot(grid_target_w=0.0, why="discharge", import_share=0.05)
    out = planning.placed(dis, lambda: swing)
    assert out.grid_target_w == 0.0 and math.isnan(out.import_share)
    up = planning.placed(dataclasses.replace(dis, import_share=0.95), lambda: swing)
    assert up.grid_target_w == pytest.approx(1000.0)
    chg = planning.Slot(grid_target_w=-200.0, why="charge-surplus", allow_discharge=False,
                        import_share=0.05)
    assert planning.placed(chg, lambda: swing).grid_target_w == pytest.approx(-1200.0)

    def never() -> list[float]:
        raise AssertionError("asked for a residual with nothing to place")

    hold = planning.Slot(allow_discharge=False, why="hold")
    assert planning.placed(hold, never) is hold


def test_placed_target_stays_within_the_planners_bound():
    """The planner never aims beyond TARGET_MAX_W (10 kW either way, the config's bound on
    a grid target too); a placed target stays within it: a discharge slot planned at the
    bound with its car's energy worth near the import price moves no farther up, a
    charge-surplus slot at the other bound no farther down. Before the fix: 11 kW and
    -11 kW."""
    from controller.plan._planner import TARGET_MAX_W

    swing = [(1000.0 if k % 4 < 2 else -1000.0) for k in range(900)]
    dis = planning.Slot(grid_target_w=TARGET_MAX_W, why="discharge", import_share=0.95)
    assert planning.placed(dis, lambda: swing).grid_target_w <= TARGET_MAX_W
    chg = planning.Slot(grid_target_w=-TARGET_MAX_W, why="charge-surplus",
                        allow_discharge=False, import_share=0.05)
    assert planning.placed(chg, lambda: swing).grid_target_w >= -TARGET_MAX_W
