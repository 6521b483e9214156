"""`v2h simulate --sweep` (issue #12): a grid of plants with v2h, the p-loop baseline and the
oracle, each point's figures from the same batch runner and step."""

from __future__ import annotations

import json

import msgspec
import pytest

from controller import config
from controller.cli import main
from controller.sim import _sweep
from controller.sim._inputs import build
from controller.sim._run import simulate


def test_sweep_points_cover_the_ranges_and_are_seeded():
    """The three fixed corners, then seeded draws within the ranges of issue #12."""
    a, b = _sweep.points(30, seed=3), _sweep.points(30, seed=3)
    assert a == b and len(a) == 30
    assert all(0.1 <= p.dead_s <= 1.5 and 0.2 <= p.tau_s <= 3.0 and 1000 <= p.ramp_w_s
               <= 20_000 and 0.97 <= p.meas_gain <= 1.03 and 0.0 <= p.delay_s <= 0.6
               and p.dead_s + p.jitter_s < 2.0 for p in a)
    assert any(p.meter_avg for p in a) and any(not p.meter_avg for p in a)


def test_sweep_rows_for_every_policy_and_scenario():
    """Each point: steps and pulsing, each with v2h, p-loop, the oracle and the
    oracle-meter; the oracle's mean |grid| is the smallest on the steps (it knows the load),
    and the oracle-meter, a second late, settles a second or two after it."""
    rows = _sweep.run_point(_sweep.points(2)[1], config.defaults())
    assert {(r["scenario"], r["policy"]) for r in rows} == {
        (s, p) for s in ("steps", "pulsing")
        for p in ("v2h", "p-loop", "oracle", "oracle-meter")}
    steps = {r["policy"]: r for r in rows if r["scenario"] == "steps"}
    assert steps["oracle"]["mean_abs_grid_w"] <= min(steps["v2h"]["mean_abs_grid_w"],
                                                     steps["p-loop"]["mean_abs_grid_w"],
                                                     steps["oracle-meter"]["mean_abs_grid_w"])
    assert steps["v2h"]["overshoot_pct"] is not None and steps["v2h"]["settle_s"] >= 0
    assert steps["oracle"]["settle_over_oracle_s"] == 0
    assert 1 <= steps["oracle-meter"]["settle_over_oracle_s"] <= 2


@pytest.mark.once
def test_cli_sweep_prints_a_table_and_json(capsys):
    """The table has a row a point and scenario; --json one object a row."""
    assert main(["simulate", "--sweep", "--points", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 + 3 * 2 and "p" in out[0]
    assert main(["simulate", "--sweep", "--points", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 * 2 * 4  # points x scenarios x (v2h, p-loop, oracle, oracle-meter)


def _overshoots(p: _sweep.Point, cfg: config.Config) -> tuple[float, float]:
    """The worst overshoot (% of the step) of the steps before any fit (the first at 60 s),
    and of the steps after it (from IDENTIFIED_S on)."""
    sc = _sweep._scenario("steps", p)
    _, runs = simulate(sc, cfg, ("v2h",), trace=True)
    trace = runs["v2h"].trace
    assert trace is not None
    grid = list(trace[0::6])
    inp = build(sc)
    load = [inp.l1[k] + inp.l2[k] + inp.l3[k] for k in range(len(inp))]
    steps = _sweep._steps(sc)
    first = [k for k in steps if k < _sweep.IDENTIFIED_S]
    later = [k for k in steps if k >= _sweep.IDENTIFIED_S]
    assert first and later, "no step before or after the first fit"
    return (_sweep._step_figures(grid, first, [load[k] - load[k - 1] for k in first])[0],
            _sweep._step_figures(grid, later, [load[k] - load[k - 1] for k in later])[0])


_DEFAULT_OVERSHOOTS: dict[_sweep.Point, tuple[float, float]] = {}


def _default_overshoots(p: _sweep.Point) -> tuple[float, float]:
    """`_overshoots` with the default config, once per point for the tests below."""
    if p not in _DEFAULT_OVERSHOOTS:
        _DEFAULT_OVERSHOOTS[p] = _overshoots(p, config.defaults())
    return _DEFAULT_OVERSHOOTS[p]


@pytest.mark.once  # the 24 points' runs: parity proves the pure core's bits the same
def test_cold_start_first_step_does_not_overshoot_at_any_point():
    """Before the first fit the model is the config's guess (dead 0, tau 0.7, delay 0.25):
    traced back with, it overshot the first 2-kW step by up to 17.5 % on slow chargers
    behind averaging meters and 9 % on a quick one with a late meter. The step now keeps
    the setpoint in force while the charger's readings bracket it (#12, the cold start):
    the first step overshoots by no more than 5 % at every one of the 24 points."""
    worst = max(_default_overshoots(p)[0] for p in _sweep.points(24))
    assert worst <= 5.0, worst


@pytest.mark.once
def test_cold_start_a_charger_not_yet_moving_is_where_it_stands():
    """Three points drawn outside the 24 (dead time 1.0-1.3 s): the step's write had not
    acted yet when the next sample was taken, and the charger's readings stood still, but
    the guess (dead 0) had it halfway there, so the step took demand for what the charger
    had not yet given and overshot the first step by 5.3-7.2 %. Readings that stood still
    over the sample's span now say where it was (`_bracketed`): 0.9-1.1 %. `once`: the
    pure pass runs the 24 points' tests; these paths are compared step by step in
    tests/unit/test_parity.py."""
    for n, seed, i in ((40, 5, 34), (40, 99, 12), (40, 99, 5)):
        p = _sweep.points(n, seed)[i]
        assert p.dead_s >= 1.0
        assert _default_overshoots(p)[0] <= 5.0, p


@pytest.mark.once  # the 24 points' runs: parity proves the pure core's bits the same
def test_identified_steps_do_not_overshoot_at_any_point():
    """Issue #12: the 2-kW steps after the first fit overshoot by no more than 5 % at every
    one of the 24 points. Measured 2.7 % at worst; 14.7 % before the step timed a moving
    charger by its reading (`charger_jitter_s`), and 7.3 % at the quick corner. Point 12
    (dead 0.3 s with 0.3 s of jitter per write, tau 0.3 s, a plain meter 0.4 s late): 4.3 %
    in session 9, 5.4 % with the fit's meter sample as the step takes it, 1.2 % with the
    hold after a step's write (session 10)."""
    worst = max(_default_overshoots(p)[1] for p in _sweep.points(24))
    assert worst <= 5.0, worst


@pytest.mark.once
def test_identified_steps_trusting_the_dead_time_overshoot():
    """The control of the test above: the model's dead time trusted exactly
    (`charger_jitter_s` 0) at the jittered point, and its steps ring by more than 10 %.
    `once`: that path is compared pure against compiled in tests/unit/test_parity.py."""
    cfg = config.defaults()
    cfg = msgspec.structs.replace(cfg, control=msgspec.structs.replace(
        cfg.control, charger_jitter_s=0.0))
    assert _overshoots(_sweep.points(24)[12], cfg)[1] > 10.0


@pytest.mark.once
def test_the_retiming_stays_out_of_a_pulsing_house():
    """Review R, session 7: a jittered charger (dead 0.7 s with 0.4 s of jitter, tau 0.7 s,
    an averaging meter 0.5 s late) under a hob pulsing every 6 s: retimed at every edge the
    retime did worse than the model's dead time on 10 of 10 seeds (1342 against 1107 W of
    mean |grid| after the fit). It now stays out while the step chases a house switching
    faster than the loop (`st.chase` < 1). `once`: parity covers the path."""
    p = _sweep.Point(0.7, 0.4, 0.7, 5000.0, 0.982, True, 0.5, 6)
    cfg = config.defaults()
    cfg0 = msgspec.structs.replace(cfg, control=msgspec.structs.replace(
        cfg.control, charger_jitter_s=0.0))
    sc0 = _sweep._scenario("pulsing", p)
    tot = {0.3: 0.0, 0.0: 0.0}
    for seed in range(1, 11):
        sc = msgspec.structs.replace(sc0, seed=seed)
        for j, c in ((0.3, cfg), (0.0, cfg0)):
            trace = simulate(sc, c, ("v2h",), trace=True)[1]["v2h"].trace
            assert trace is not None
            grid = list(trace[0::6])[_sweep.IDENTIFIED_S:]
            tot[j] += sum(abs(g) for g in grid) / len(grid)
    assert tot[0.3] <= 1.03 * tot[0.0], tot


@pytest.mark.once
def test_a_late_instant_sample_carries_a_ramp_only_on_three_changes():
    """Two holdout plants (an averaging meter 0.4 s late behind a charger with 0.3 s of
    jitter): the first fit takes the meter for a sample of the instant 0.85-0.93 s late
    (behind a slow charger the two look alike), so a load step split over two samples
    read as a ramp and was carried over the whole lag: 16.7 and 17.4 % overshoot. A meter
    that samples the instant 0.6 s late or more may be a window's mean, and a ramp there
    takes three changes of one sign, as behind an averaging meter. `once`: parity covers
    the path."""
    for seed, i in ((5, 9), (5, 32)):
        p = _sweep.points(40, seed)[i]
        assert p.meter_avg and p.jitter_s == 0.3
        assert _default_overshoots(p)[1] <= 5.0, p


@pytest.mark.once
def test_a_refit_keeps_the_meter_window_it_found():
    """A point drawn outside the 24 (an averaging meter 0.5 s late behind a charger with
    0.3 s of jitter per write and tau 2.2 s): the first fit finds the window, and the refit
    at 11 min once took the grid's moves for a plain sample 1 s late (the two look alike
    behind a slow charger) and the next step overshot by 11.7 %. A refit keeps the window
    unless the other explains the grid clearly better (`Ident._fit_meter`). `once`: the
    identification's pure and compiled paths are compared in tests/sim/test_identify.py."""
    p = _sweep.points(40, seed=99)[35]
    assert p.meter_avg and p.jitter_s == 0.3
    _, runs = simulate(_sweep._scenario("steps", p), config.defaults(), ("v2h",))
    idn = runs["v2h"].ident
    assert idn.ok and idn.meter_window_s == 1.0, idn.meter_window_s
    assert idn.fit_t > 600.0  # refitted
    assert _default_overshoots(p)[1] <= 5.0


def test_cold_start_trusting_the_guess_overshoots():
    """The control of the test above: the same guess declared measured (`model_measured`,
    what `v2h probe`'s lines say) is traced back with from the first cycle, and the slow
    charger behind an averaging meter overshoots its first step by more than 10 %. The
    dead time is trusted exactly here (`charger_jitter_s` 0): the retiming of a moving
    charger by its reading (within 0.3 s) also rescues this guess (1.0 %)."""
    cfg = config.defaults()
    cfg = msgspec.structs.replace(cfg, control=msgspec.structs.replace(
        cfg.control, model_measured=True, charger_jitter_s=0.0))
    assert _overshoots(_sweep.points(24)[21], cfg)[0] > 10.0


@pytest.mark.once  # the 24 points' runs: parity proves the pure core's bits the same
def test_steady_surplus_mean_grid_within_5_w_at_every_point():
    """Issue #12: under a steady surplus (constant PV, a noisy base load) the mean signed
    grid over any 60 s, once settled (2 min in), stays within +-5 W of the target (0 W) at
    every one of the 24 points: no offset, no limit cycle. Measured: -3.4 .. +4.1 W."""
    cfg = config.defaults()
    assert cfg.plan.grid_target_w == 0.0
    for p in _sweep.points(24):
        means = _sweep.steady_means(p, cfg)
        assert len(means) > 700
        assert max(abs(x) for x in means) <= 5.0, (p, min(means), max(means))


def test_steady_surplus_gain_learning_leaves_no_offset_for_the_integral():
    """The gain the step learns (a charger reading 2 % high at point 1) leaves no offset for
    the integral to carry: without the integral (ki = 0) the mean still stays within +-5 W
    (measured: -4.4 .. +1.6 W). Until session 11 it was 88-93 W of import: the learning
    moved the error into the integral whether or not the integral had taken it up, and a
    frozen integral kept it."""
    cfg = config.defaults()
    cfg = msgspec.structs.replace(cfg, control=msgspec.structs.replace(cfg.control, ki=0.0))
    means = _sweep.steady_means(_sweep.points(24)[1], cfg)
    assert max(abs(x) for x in means) <= 5.0, (min(means), max(means))


def test_steady_surplus_deadband_without_the_integral_drifts():
    """The control of the steady check: without the integral a 40-W deadband lets the
    grid's 60-s mean wander (measured: -20.8 .. +21.8 W), which the check sees."""
    cfg = config.defaults()
    cfg = msgspec.structs.replace(cfg, control=msgspec.structs.replace(
        cfg.control, ki=0.0, deadband_w=40.0))
    means = _sweep.steady_means(_sweep.points(24)[1], cfg)
    assert max(abs(x) for x in means) > 5.0, (min(means), max(means))


def _pulsing_means(p: _sweep.Point) -> dict[str, float]:
    """Mean |grid| (W) of v2h and the p-loop over the pulsing evening, from 20 s in."""
    runs = simulate(_sweep._scenario("pulsing", p), config.defaults(), _sweep.POLICIES,
                    trace=True)[1]
    out = {}
    for pol, run in runs.items():
        assert run.trace is not None
        grid = list(run.trace[0::6])[_sweep.SKIP_S:]
        out[pol] = sum(abs(g) for g in grid) / len(grid)
    return out


@pytest.mark.once
def test_a_demand_met_in_phase_is_not_carried_on_as_a_ramp():
    """Session 8: the sluggish corner (dead 1.2 s, tau 2.5 s, 1.5 kW/s) under a hob pulsing
    every 6 s. The periodic feed-forward gave the demand a period back, and the ramp carry
    then added two of the pulse's edges (like changes) times the whole 4.5-s lag on top:
    setpoints of -6 kW where -1.5 kW was due, 1378 W of mean |grid| against the p-loop's
    1082. A demand met in phase is what the next cycles bring; it is not a ramp (802 W).
    `once`: the step's path is compared pure against compiled in tests/unit/test_parity.py."""
    means = _pulsing_means(_sweep.points(3)[2])
    assert means["v2h"] <= 0.8 * means["p-loop"], means


@pytest.mark.once
def test_a_house_switching_faster_than_the_loop_is_not_carried_on_as_a_ramp():
    """Session 8, a holdout plant (dead 1.5 s, tau 2.9 s, 2 kW/s, an averaging meter 0.6 s
    late) under a hob pulsing every 6 s, its period rarely found: the chase held the
    demand's mean (`st.chase` near 0), and the ramp carry then carried two of the hob's
    edges over the 5-s lag (-5.7 kW written where -2.7 kW was due): 1070 W of mean |grid|
    against the p-loop's 1005. The carry now needs the chase to follow the sample more
    than it holds the mean (808 W)."""
    means = _pulsing_means(_sweep.points(40, 5)[37])
    assert means["v2h"] <= 0.9 * means["p-loop"], means


@pytest.mark.once
def test_cold_start_readings_that_barely_moved_bound_the_demand():
    """Session 8, a plant drawn with another seed (dead 1.0 s with 0.3 s of jitter, tau
    0.2 s, an averaging meter 0.5 s late): before the first fit, the charger's readings over
    the sample's span moved 54 W (its noise), past the 30 W that counts as still, and the
    guess's trace-back (dead 0) had the charger moving on a command it had not acted on:
    the demand 100 W low, the first 2-kW step overshot by 5.4 %. Readings that moved less
    than BRACKET_MIN_W now bound the demand too (`_bracketed`): 2.9 %. `once`: parity
    covers the path."""
    p = _sweep.points(40, 2002)[20]
    assert p.meter_avg and p.jitter_s == 0.3
    assert _default_overshoots(p)[0] <= 5.0, p


@pytest.mark.once
def test_a_quick_charger_moving_a_few_hundred_w_is_retimed():
    """Session 8, a holdout plant (dead 0.7 s with 0.4 s of jitter, tau 0.4 s, a plain
    meter 0.5 s late): a write acted 0.35 s sooner than the model's dead time (1.1 s), and
    at the next sample the charger had moved 474 W, under the 500 W the retime asked for.
    Traced back with the model's dead time, the reading's move was taken for demand: the
    step overshot by 8.7 %. A move that began before the model's dead time had passed
    contradicts the model, and a quick charger covers most of a move within the jitter: such
    a move is retimed from 300 W (RETIME_EARLY_W; ten times the reading's noise): 2.8 %.
    (From 300 W on every move, `bench_steps` cost 21 % more a step.) `once`: parity covers
    the path."""
    p = _sweep.points(40, 99)[18]
    assert p.jitter_s == 0.4 and not p.meter_avg
    assert _default_overshoots(p)[1] <= 5.0, p


@pytest.mark.once  # parity covers the path
def test_a_move_too_large_for_the_model_just_after_its_dead_time_is_retimed():
    """Session 14, the same plant (0.7-1.1 s) with the model's dead time inside its jitter,
    0.993 s, as a fit may give it: a step's write acted after 0.75 s, and the reading 1.0 s
    on had moved 450 W, where the model had the charger moving for 7 ms. Only a move read
    before the model's dead time counted as early (retimed from 300 W, else from 500 W):
    traced back with 0.993 s, half the move was taken for demand at the sample and the
    step overshot 5.6 %. A move the model cannot have made by then is early too."""
    p = _sweep.points(40, 99)[18]
    cfg = config.defaults(("control.identify=false", "control.model_measured=true",
                           "control.charger_dead_s=0.993", "control.charger_tau_s=0.405",
                           "control.meter_lag_s=0.54"))
    assert max(_overshoots(p, cfg)) <= 5.0


@pytest.mark.once
@pytest.mark.parametrize(("seed", "i", "before"), [(7007, 17, 8.5), (8008, 13, 8.4),
                                                   (6006, 6, 6.1)])
def test_review_r_jittered_chargers_do_not_overshoot(seed, i, before):
    """Session 10, the plant of each of review R's seeds (drawn in session 8, nothing tuned
    on them) whose steps overshot after the first fit: a dead time jittered by 0.2-0.4 s per
    write. Two causes, each now mended:
    - the fit's meter sample left out what the step adds, the share of the next reading's
      miss (`Ident._corrected`): the jitter then read as an earlier sample (7007: a plain
      meter 0.1 s late fitted 0.0 s late; 6006: its steps 6.1 -> 4.7 %);
    - the cycle after a step's write, on a plain meter: the charger mid-move at the sample,
      timed within its jitter, is a few hundred W from where the model puts it
      (`_track_model`'s hold: the command in force while the readings bracket it; 8008,
      behind an averaging meter the fit takes for a plain one: 5.2 -> 1.3 %).
    `once`: parity covers both paths."""
    p = _sweep.points(40, seed)[i]
    assert p.jitter_s >= 0.2
    assert _default_overshoots(p)[1] <= 5.0, (p, before)


@pytest.mark.once
@pytest.mark.parametrize("i", [4, 6])
def test_a_pattern_of_two_cycles_is_met_as_the_samples_show(i):
    """Session 8, the two points where a hob 1 s on, 1 s off (a pattern of two cycles)
    behind an averaging meter left v2h above the p-loop: dead 1.1 s (+0.2), tau 1.8 s, 0.1 s
    late (1054 W of mean |grid| against 1041) and dead 1.2 s (+0.3), tau 0.8 s, 0.3 s late
    (1157 against 1083). The model, its meter taken for the configured plain one, chose the
    newest sample; the one before was right. Each choice is now tried and the model's kept
    only unless another leaves the error swinging less (958 and 982 W)."""
    means = _pulsing_means(_sweep.points(24)[i])
    assert means["v2h"] <= 0.97 * means["p-loop"], means
