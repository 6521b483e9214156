"""Run a policy and the oracle on a scenario's plant; score them as firmware_notes/design.md
"Result object" says."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import fast
from controller import plan as planning
from controller.config import Config, core_limits, core_plan

from ._inputs import Inputs, build
from ._plan import SLOT_S, SimPrices, make_planner, scenario_prices
from ._scenario import Scenario

POLICIES = ("v2h", "p-loop", "evcc-like", "none")
# the baseline (#12): setpoint = measured charger power - 0.6 x grid error, the same clamps
# and the same supervisor as v2h (it runs v2h's decision with the step's tracking replaced)
P_LOOP_GAIN = 0.6
TRACE_FIELDS = ("grid_w", "setpoint_w", "ev_w", "soc_pct", "mode", "reasons")


@dataclass
class Run:
    """One policy's pass over a scenario: what the plant saw, and the per-second trace; with
    prices, what it cost per slot and (v2h) what the plan asked in each slot."""

    policy: str
    totals: Any
    soc_end_pct: float
    trace: array | None
    soc_start_pct: float = math.nan
    bill_eur: float | None = None
    slots: list[Any] = field(default_factory=list)
    plan_ms: list[float] = field(default_factory=list)
    soc_slots: list[float] = field(default_factory=list)  # SoC (%) at each slot start
    capacity_kwh: float = math.nan
    ident: Any = None  # v2h's identification (fast.Ident) at the end, when it ran


IDENT_CHUNK_S = 60  # the simulator hands the identifier a minute of cycles at a time


def _shares(cfg: Config) -> tuple[float, float, float]:
    if cfg.charger.phases == 3:
        return (1 / 3, 1 / 3, 1 / 3)
    ph = cfg.charger.phase
    return (float(ph == 1), float(ph == 2), float(ph == 3))


def make_plant(sc: Scenario, cfg: Config, core: Any) -> Any:
    """The plant for a scenario: the scenario's physics, the config's car and charger."""
    p = sc.plant
    ev = _shares(cfg)
    pvs = sc.pv.phase_share
    return core.Plant(
        seed=sc.seed, soc_pct=sc.car.soc_pct, n_sub=p.n_sub, meter_lat_n=p.meter_lat_n,
        meter_noise_w=p.meter_noise_w, dead_s=p.dead_s, tau_s=p.tau_s, ramp_w_s=p.ramp_w_s,
        min_w=p.min_w, max_chg_w=p.max_chg_w, max_dis_w=p.max_dis_w, eff=cfg.car.efficiency,
        meas_gain=p.meas_gain, anti_islanding=p.anti_islanding, watchdog_s=p.watchdog_s,
        cap_wh=cfg.car.capacity_kwh * 1000.0, car_min_soc=p.car_min_soc,
        soc_zero_idle=p.soc_zero_idle, dead_jitter_s=p.dead_jitter_s, meter_avg=p.meter_avg,
        pv_share1=pvs[0], pv_share2=pvs[1], pv_share3=pvs[2],
        ev_share1=ev[0], ev_share2=ev[1], ev_share3=ev[2],
    )


def run_policy(sc: Scenario, cfg: Config, policy: str, inputs: Inputs | None = None,
               core: Any = None, trace: bool = False, prices: SimPrices | None = None,
               slots: list[Any] | None = None) -> Run:
    """Drive the plant with `policy` ("v2h", "p-loop", "evcc-like", "none" or "oracle").

    With `prices` the run is cut at every 15-minute slot: the bill is summed per slot, and
    v2h (when the config plans by price) asks the planner at each slot start what the step
    should aim for. `slots` replays such a sequence of slot plans (the oracle uses v2h's)."""
    core = core or fast.core
    inp = inputs if inputs is not None else build(sc)
    n = len(inp)
    pl = make_plant(sc, cfg, core)
    lim = core_limits(cfg, core)
    lim.meter_interval_s = 1.0  # the plant's meter publishes once a second
    plan = core_plan(cfg, core)
    st = core.CtlState()
    ev = core.EvccState()
    tot = core.Totals(reserve_soc=cfg.limits.reserve_soc, fuse_a=cfg.limits.fuse_a,
                      stop_budget_s=cfg.control.grid_loss_stop_s,
                      stale_budget_s=cfg.control.meter_stale_s + 1.0,
                      nominal_v=cfg.site.nominal_v)
    pid = core.POLICIES.index("v2h" if policy == "p-loop" else policy)
    if policy == "p-loop":
        lim.p_gain = P_LOOP_GAIN
    views = [memoryview(a) for a in (inp.l1, inp.l2, inp.l3, inp.pv, inp.flags)]
    planner = make_planner(sc, cfg, prices) if policy == "v2h" and slots is None else None
    # the trace is kept where v2h plans: each slot places its residual by the last one's
    keep = trace or (prices is not None and planner is not None and cfg.plan.place_residual)
    tr = array("d", bytes(8 * 6 * n)) if keep else array("d")
    trv = memoryview(tr)
    run = Run(policy, tot, math.nan, None, soc_start_pct=pl.soc_pct,
              capacity_kwh=pl.cap_wh / 1000.0)
    soc_slots = run.soc_slots
    cuts = {0, n, *(b for b in inp.returns if 0 < b < n)}
    if prices is not None:
        cuts.update(range(0, n, SLOT_S))
        run.bill_eur = 0.0
    returns = set(inp.returns)
    # v2h identifies the charger and the meter as the live loop does: what each cycle read
    # and wrote goes to the identifier (fast.Ident) a minute at a time, and its model to the
    # step's limits once it has one
    idn = (core.Ident(lim.meter_delay_s, lim.meter_window_s)
           if policy == "v2h" and cfg.control.identify else None)
    facts = array("d")
    if idn is not None:
        cuts.update(range(0, n, IDENT_CHUNK_S))
        facts = array("d", bytes(8 * 5 * n))
    fv = memoryview(facts)
    edges = sorted(cuts)
    for a, b in zip(edges, edges[1:]):
        if a in returns and a > 0:  # the car comes home from a trip
            pl.soc_wh = max(pl.soc_wh - sc.car.trip_kwh * 1000.0,
                            pl.cap_wh * pl.car_min_soc / 100.0)
        if prices is not None and a % SLOT_S == 0:
            k = a // SLOT_S
            soc_slots.append(pl.soc_pct)
            if planner is not None:
                slot = planner(float(a), pl.soc_pct, bool(inp.flags[a] & 1))
            elif slots is not None:
                slot = slots[k]
            else:
                slot = None
            if slot is not None:
                if planner is not None and cfg.plan.place_residual and a >= SLOT_S:
                    # placed by the last slot's residual (a replay aims where v2h did)
                    slot = planning.placed(slot, partial(
                        planning.residual_w, trv, a - SLOT_S, a, plan.grid_target_w))
                plan = planning.step_plan(core, slot, cfg.plan.allow_discharge)
                run.slots.append(slot)
            imp0, exp0 = tot.import_wh, tot.export_wh
            net0 = imp0 - exp0 - (tot.ev_charge_wh - tot.ev_discharge_wh)
        core.run_batch(pid, *(v[a:b] for v in views), pl, lim, plan, st, ev, tot, float(a),
                       trv[6 * a:6 * b] if keep else trv, fv[5 * a:5 * b] if idn else None)
        if idn is not None:
            _identify(idn, facts, a, b, lim)
        if prices is not None and (b % SLOT_S == 0 or b == n):
            k = (b - 1) // SLOT_S
            run.bill_eur += ((tot.import_wh - imp0) * prices.import_eur_kwh[k]
                             - (tot.export_wh - exp0) * prices.export_eur_kwh[k]) / 1000.0
            if planner is not None and b % SLOT_S == 0:
                net = tot.import_wh - tot.export_wh - (tot.ev_charge_wh - tot.ev_discharge_wh)
                planner.learn(float(b), (net - net0) * 3600.0 / SLOT_S)
    run.ident = idn
    run.soc_end_pct = pl.soc_pct
    soc_slots.append(pl.soc_pct)
    run.trace = tr if trace else None
    if planner is not None:
        run.plan_ms = planner.solve_ms
    return run


def _identify(idn: Any, facts: array, a: int, b: int, lim: Any) -> None:
    """Seconds a..b of the batch's facts to the identifier, as the live loop records each
    cycle (the batch reads and writes at the second, the meter read with them); a fit
    when it is due, and its model into the step's limits."""
    for k in range(a, b):
        t, ev_w, sp_w, reg, grid_w = facts[5 * k:5 * k + 5]
        idn.record(t, ev_w, t, sp_w, reg > 0.5, t, grid_w)
    if idn.due(float(b)) and idn.fit():
        idn.apply(lim)


def _ident_json(idn: Any) -> dict[str, Any] | None:
    if idn is None or not idn.ok:
        return None
    return {"dead_s": round(idn.dead_s, 3), "tau_s": round(idn.tau_s, 3),
            "ramp_w_s": None if math.isinf(idn.ramp_w_s) else round(idn.ramp_w_s),
            "gain": round(idn.gain, 4), "meter_delay_s": round(idn.meter_delay_s, 3),
            "meter_window_s": idn.meter_window_s}


def score(sc: Scenario, run: Run, oracle: Run, prices: SimPrices | None = None,
          departures: list[tuple[int, float]] | None = None) -> dict[str, Any]:
    """The result object (firmware_notes/design.md "Result object"; energies in Wh); with
    prices, the money too: `bill_eur` what the supplier is paid, and `cost_eur` that bill
    less the value of the energy the car ends with above its start (at the scenario's mean
    import price), so a policy cannot look cheap by emptying the car or dear by filling it."""
    t, o = run.totals, oracle.totals
    through = o.ev_charge_wh + o.ev_discharge_wh
    loss = (t.export_wh - o.export_wh) + (t.import_wh - o.import_wh)
    r = lambda x: round(x, 3)  # noqa: E731
    out = {
        "scenario": sc.name,
        "policy": run.policy,
        "duration_s": int(t.seconds),
        "pv_wh": r(t.pv_wh),
        "load_wh": r(t.load_wh),
        "import_wh": r(t.import_wh),
        "export_wh": r(t.export_wh),
        "ev_charge_wh": r(t.ev_charge_wh),
        "ev_discharge_wh": r(t.ev_discharge_wh),
        "oracle_import_wh": r(o.import_wh),
        "oracle_export_wh": r(o.export_wh),
        "oracle_ev_charge_wh": r(o.ev_charge_wh),
        "oracle_ev_discharge_wh": r(o.ev_discharge_wh),
        "tracking_efficiency": round(1.0 - loss / through, 5) if through > 0 else None,
        "max_export_w": r(t.max_export_w),
        "safety_violations": int(t.safety_violations),
        "checks": [],
        "safety_detail": {
            "grid_loss": int(t.v_grid), "reserve": int(t.v_reserve), "fuse": int(t.v_fuse),
            "charger_limits": int(t.v_limits), "stale_meter": int(t.v_stale),
        },
        "soc_end_pct": round(run.soc_end_pct, 3),
        "max_phase_a": r(t.max_phase_a),
        "implementation": "compiled" if fast.COMPILED else "pure",
    }
    if run.ident is not None:
        out["identified"] = _ident_json(run.ident)
    if prices is not None and run.bill_eur is not None:
        mean_imp = sum(prices.import_eur_kwh) / len(prices.import_eur_kwh)
        stored = (run.soc_end_pct - run.soc_start_pct) / 100.0 * run.capacity_kwh * mean_imp
        out["bill_eur"] = round(run.bill_eur, 4)
        out["stored_value_eur"] = round(stored, 4)
        out["cost_eur"] = round(run.bill_eur - stored, 4)
        missed = [(k, soc) for k, soc in departures or []
                  if k + 1 < len(run.soc_slots) and run.soc_slots[k + 1] < soc - 0.5]
        out["departures"] = len(departures or [])
        out["departures_missed"] = len(missed)
        if run.plan_ms:
            out["plan_ms_max"] = round(max(run.plan_ms), 2)
    return out


def simulate(sc: Scenario, cfg: Config, policies: tuple[str, ...] = ("v2h",),
             trace: bool = False, core: Any = None
             ) -> tuple[list[dict[str, Any]], dict[str, Run]]:
    """Score each policy against the oracle on one scenario (arrays built once). With
    prices and a price plan, the oracle follows v2h's plan slot by slot (the same discharge
    permission and forced charging), so tracking compares like with like."""
    inp = build(sc)
    prices = scenario_prices(sc, cfg)
    runs = {p: run_policy(sc, cfg, p, inp, core, trace, prices) for p in policies}
    oracle = run_policy(sc, cfg, "oracle", inp, core, trace, prices)
    planned = oracle
    if prices is not None and cfg.plan.by_price and "v2h" in runs:
        # v2h's own yardstick follows v2h's plan; the others' keeps the standing plan
        planned = run_policy(sc, cfg, "oracle", inp, core, trace, prices, runs["v2h"].slots)
    runs["oracle"] = planned if "v2h" in runs else oracle
    extra = _departures(sc, cfg, prices)
    return [score(sc, runs[p], planned if p == "v2h" else oracle, prices, extra)
            for p in policies], runs


def _departures(sc: Scenario, cfg: Config, prices: SimPrices | None) -> list[tuple[int, float]]:
    """The scenario's departures as (slot index, target SoC %), from the plan's schedule."""
    if prices is None:
        return []
    from controller import plan as planning

    n = -(-sc.duration_s // SLOT_S)
    return planning.schedule(cfg, prices.start_utc, n, True)[2]
