"""`make bench`: the step's cost compiled and pure, and a year of seconds in the batch runner;
the live loop's timing; one OCPP 2.1 setpoint's round trip (`ocpp_setpoint_ms_p99`).

Prints a few readable lines, then one JSON object as the last line."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import fast
from controller import config, sim
from controller.config import core_limits, core_plan


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def step_ns() -> dict[str, float]:
    """ns per control step, compiled and pure (the same source), best of a few runs."""
    impls = fast.implementations()
    if "compiled" not in impls:
        raise SystemExit("bench: the compiled core is not built (make build)")
    n_c, n_p = 2_000_000, 50_000
    tc = _best(lambda: impls["compiled"].bench_steps(n_c, 1), 5) / n_c * 1e9
    tp = _best(lambda: impls["pure"].bench_steps(n_p, 1), 3) / n_p * 1e9
    return {"step_ns_compiled": round(tc, 2), "step_ns_pure": round(tp, 1),
            "speedup": round(tp / tc, 1)}


def year() -> dict[str, float]:
    """365 standard days back to back at 1 s (31.5 M seconds of plant + v2h control), the
    seasons moving sunrise, sunset and peak; inputs are generated per day and timed apart.
    Run twice, best kept: this machine's speed wanders by tens of per cent from minute to
    minute (a shared host), and the minimum is the steadiest estimate of the code's cost."""
    runs = [_year_once() for _ in range(2)]
    best = min(runs, key=lambda r: r["year_1s_sim_s"])
    best["year_1s_sim_s_runs"] = [r["year_1s_sim_s"] for r in runs]
    return best


def _year_once() -> dict[str, Any]:
    core = fast.implementations()["compiled"]
    cfg = config.defaults()
    base = sim.load("standard-day")
    pl = sim.make_plant(base, cfg, core)
    lim, plan = core_limits(cfg, core), core_plan(cfg, core)
    lim.meter_interval_s = 1.0  # the plant's meter publishes once a second (as sim.run)
    st, ev = core.CtlState(), core.EvccState()
    tot = core.Totals(reserve_soc=cfg.limits.reserve_soc, fuse_a=cfg.limits.fuse_a)
    import math

    import msgspec

    t_in = t_sim = 0.0
    for day in range(365):
        season = math.cos(2 * math.pi * (day - 172) / 365)  # 1 at midsummer, -1 midwinter
        pv = msgspec.structs.replace(
            base.pv, peak_w=6000.0 * (0.55 + 0.45 * season),
            sunrise=f"{int(6.5 - 1.5 * season):02d}:{int((6.5 - 1.5 * season) % 1 * 60):02d}",
            sunset=f"{int(19.5 + 2 * season):02d}:{int((19.5 + 2 * season) % 1 * 60):02d}")
        sc = msgspec.structs.replace(base, seed=day + 1, pv=pv)
        t0 = time.perf_counter()
        inp = sim.build(sc)
        t1 = time.perf_counter()
        core.run_batch(1, inp.l1, inp.l2, inp.l3, inp.pv, inp.flags, pl, lim, plan, st, ev,
                       tot, day * 86400.0, memoryview(bytearray()).cast("d"))
        t2 = time.perf_counter()
        t_in += t1 - t0
        t_sim += t2 - t1
    return {"year_1s_sim_s": round(t_sim, 3), "year_1s_inputs_s": round(t_in, 3),
            "year_seconds": int(tot.seconds), "year_safety_violations": int(tot.safety_violations)}


def plan_ms() -> dict[str, float]:
    """Planning 48 h of 15-minute slots (192) on the recorded winter prices, from building
    the problem to the slot decisions: median and worst of 20 (ms)."""
    from controller import plan
    from controller.sim._plan import problem_inputs

    cfg, pr, net, soc = problem_inputs("dynamic-tariff-winter")
    times = []
    for _ in range(20):
        t = time.perf_counter()
        p = plan.build(cfg, pr.start_utc, pr.import_eur_kwh, pr.export_eur_kwh, net, soc, True)
        res = plan.plan(p)
        times.append((time.perf_counter() - t) * 1000.0)
    assert p.n == 192 and res.slots
    times.sort()
    return {"plan_ms": round(times[len(times) // 2], 2), "plan_ms_max": round(times[-1], 2),
            "plan_slots": p.n}


def _sweep_figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    """v2h's worst figures over a sweep's rows, and on how many runs its mean |grid| is
    above the p-loop's; the oracle-meter's settle past the oracle's (the meter's own)."""
    v2h = [r for r in rows if r["policy"] == "v2h"]
    p = {(json.dumps(r["point"]), r["scenario"]): r for r in rows if r["policy"] == "p-loop"}
    worse = sum(1 for r in v2h if r["mean_abs_grid_w"]
                > p[(json.dumps(r["point"]), r["scenario"])]["mean_abs_grid_w"])
    steps = [r for r in v2h if r["scenario"] == "steps"]
    om = [r for r in rows if r["policy"] == "oracle-meter" and r["scenario"] == "steps"]
    return {"worst_overshoot_pct": max(r["overshoot_pct"] for r in steps),
            # settle (under 50 W for 3 s) past the oracle's at the same step, worst (s); and
            # past the oracle-meter's (what the meter lets any controller know, a second on)
            "worst_settle_over_oracle_s": max(r["settle_over_oracle_s"] for r in steps),
            "worst_settle_over_oracle_meter_s": max(r["settle_over_oracle_meter_s"]
                                                    for r in steps),
            "oracle_meter_worst_settle_over_oracle_s": max(r["settle_over_oracle_s"]
                                                           for r in om),
            # from the second step on (2 min in), on the model identified by then
            "worst_overshoot_identified_pct": max(r["overshoot_identified_pct"]
                                                  for r in steps),
            "worst_tracking": min(r["tracking"] for r in steps),
            "v2h_worse_than_p_loop": worse}


# 80 points drawn from the same ranges with other seeds: no change to the step was made for
# them (firmware_notes/regulation.md "A holdout"), so they tell what the 24 do not
HOLDOUT = ((40, 5), (40, 99))


def sweep() -> dict[str, float]:
    """The regulation sweep of issue #12 (24 points): v2h's worst figures over it, and on how
    many points' pulsing evening v2h's mean |grid| is above the p-loop's; the same over the
    80 holdout points (`sweep_holdout_*`)."""
    from controller import config
    from controller.sim import _sweep

    t = time.perf_counter()
    out: dict[str, float] = {"sweep_points": 24}
    for k, v in _sweep_figures(_sweep.sweep(config.defaults(), n=24)).items():
        out[f"sweep_{k}"] = v
    out["sweep_s"] = round(time.perf_counter() - t, 2)
    # the largest |mean signed grid| over any 60 s of a steady surplus, settled
    out["sweep_worst_steady_mean_w"] = round(max(
        abs(x) for pt in _sweep.points(24) for x in _sweep.steady_means(pt, config.defaults())),
        2)
    rows = [r for n, seed in HOLDOUT for r in _sweep.sweep(config.defaults(), n=n, seed=seed)]
    out["sweep_holdout_points"] = sum(n for n, _ in HOLDOUT)
    for k, v in _sweep_figures(rows).items():
        out[f"sweep_holdout_{k}"] = v
    return out


def assess() -> dict[str, Any]:
    """`v2h assess` (issue #15): one full assessment of the example household (a year at
    1 s for each of the six options, ageing, the coarse routes, the report) on one core
    (`assess_home_s`) and on two (`assess_home_2w_s`: the price plan's pass in a second
    process; it gains only while the second core is free), and a portfolio of 20 copies of
    it (other seeds) on 1 and 2 worker processes. The portfolio's homes are
    V2H_BENCH_ASSESS_DAYS long (default 91, to keep the bench short); its rate is given in
    full-year homes per minute (homes x days / 365 per minute). BLAST-Lite is imported
    before the clocks start (about 1.5 s once per process, whichever run came first)."""
    import shutil
    import tempfile
    from pathlib import Path

    from controller.assess import _ageing, assess_one, portfolio

    _ageing.blast()

    example = Path(__file__).resolve().parent.parent / "controller" / "assess" / "example"
    days = int(os.environ.get("V2H_BENCH_ASSESS_DAYS", "91"))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="v2h-bench-assess-") as tmp:
        for key, w in (("assess_home_s", 1), ("assess_home_2w_s", 2)):
            t = time.perf_counter()
            row = assess_one(str(example), tmp, workers=w)
            out[key] = round(time.perf_counter() - t, 2)
            assert row["error"] is None, row["error"]
        root = Path(tmp) / "homes"
        text = (example / "household.toml").read_text(encoding="utf-8")
        for i in range(20):
            d = root / f"home-{i:02d}"
            d.mkdir(parents=True)
            (d / "household.toml").write_text(text.replace("seed = 1", f"seed = {i + 1}"),
                                              encoding="utf-8")
            for f in ("v2h.toml", "grid_15min.csv.gz", "pv_15min.csv.gz"):
                shutil.copy(example / f, d / f)
        for w in (1, 2):
            t = time.perf_counter()
            rows = portfolio(root, Path(tmp) / f"out-{w}", workers=w, days=days)
            dt = time.perf_counter() - t
            assert not any(r["error"] for r in rows)
            out[f"assess_homes_per_min_{w}w"] = round(20 * days / 365 / (dt / 60.0), 2)
    out["assess_portfolio_days"] = days
    out.update(_resolution_error())
    return out


def _resolution_error() -> dict[str, float]:
    """A generated household whose true 1-s year is known (the simulator's own load and
    PV): how far the 15- and 60-min routes' annual import and export are from the 1-s
    route's, in per cent (the issue's acceptance; firmware_notes/assessment.md)."""
    from controller import config
    from controller.assess import Household, assess_home, home_from_seconds
    from controller.assess._generate import household_seconds
    from controller.assess._household import Data, PriceFile

    load, pv = household_seconds(365, seed=1)
    h = Household(data=Data(file="-"), name="generated year",
                  prices=PriceFile(file="generated"))
    cfg = config.defaults(("tariff.contract=dynamic",))
    r = assess_home(home_from_seconds(h, "Europe/Amsterdam", 1_735_686_000.0, load, pv), cfg,
                    ageing=False)
    one = {o["option"]: o for o in r["options"]}
    out = {}
    for route in ("15min", "60min"):
        for name in ("none", "v2h", "battery-10"):
            c = r["resolution"][route][name]
            for f in ("import", "export"):
                out[f"assess_{route}_{name}_{f}_err_pct"] = round(
                    100.0 * (c[f"{f}_kwh"] / one[name][f"{f}_kwh"] - 1.0), 2)
    return out


def main() -> None:
    out: dict[str, float] = {}
    out.update(sweep())
    print(f"sweep: {out['sweep_points']} plants, worst overshoot "
          f"{out['sweep_worst_overshoot_pct']} %, worst tracking {out['sweep_worst_tracking']}, "
          f"v2h's mean |grid| above p-loop's on {out['sweep_v2h_worse_than_p_loop']} runs; "
          f"80 holdout plants: worst overshoot {out['sweep_holdout_worst_overshoot_pct']} %, "
          f"above p-loop on {out['sweep_holdout_v2h_worse_than_p_loop']} runs", flush=True)
    out.update(plan_ms())
    print(f"plan: 48 h of 15-min slots in {out['plan_ms']} ms (worst {out['plan_ms_max']})",
          flush=True)
    out.update(step_ns())
    print(f"step: {out['step_ns_compiled']} ns compiled, {out['step_ns_pure']} ns pure "
          f"(x{out['speedup']})", flush=True)
    out.update(assess())
    print(f"assess: one home (six options, a year at 1 s) in {out['assess_home_s']} s on one "
          f"core, {out['assess_home_2w_s']} s on two; "
          f"portfolio {out['assess_homes_per_min_1w']} / {out['assess_homes_per_min_2w']} "
          "full-year homes per minute on 1 / 2 workers; a generated year's 15-min route "
          f"misses import by {out['assess_15min_none_import_err_pct']} %, export by "
          f"{out['assess_15min_none_export_err_pct']} %", flush=True)
    out.update(year())
    print(f"year at 1 s: {out['year_1s_sim_s']} s plant + control, "
          f"{out['year_1s_inputs_s']} s building inputs", flush=True)
    import asyncio

    from bench.live import measure

    out.update(asyncio.run(measure(float(os.environ.get("V2H_BENCH_LIVE_S", "120")))))
    print(f"live loop: read-to-write p99 {out['read_to_write_ms_p99']} ms, jitter p99 "
          f"{out['period_jitter_ms_p99']} ms, {out['rss_mb']} MB, {out['cpu_pct']} % CPU",
          flush=True)
    from bench.flood import measure as measure_flood

    out.update(asyncio.run(measure_flood()))
    print(f"live loop under an MQTT flood (500 x 1 MB on a command topic): the cycle's start "
          f"late p50 {out['flood_start_late_ms_p50']} ms, p99 {out['flood_start_late_ms_p99']}"
          f" ms, max {out['flood_start_late_ms_max']} ms; memory +{out['flood_rss_growth_mb']}"
          " MB", flush=True)
    from bench.ocpp import measure as measure_ocpp

    out.update(asyncio.run(measure_ocpp()))
    print(f"ocpp 2.1: one setpoint (SetChargingProfile -> Accepted) p50 "
          f"{out['ocpp_setpoint_ms_p50']} ms, p99 {out['ocpp_setpoint_ms_p99']} ms; profile "
          f"accepted -> power moving on the bench's plant {out['ocpp_accept_to_move_ms']} ms",
          flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
