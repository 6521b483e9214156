"""Run a policy and the oracle on a scenario's plant; score them as DESIGN.md §6 says."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import fast
from controller.config import Config, core_limits, core_plan

from ._inputs import Inputs, build
from ._scenario import Scenario

POLICIES = ("v2h", "evcc-like", "none")
TRACE_FIELDS = ("grid_w", "setpoint_w", "ev_w", "soc_pct", "mode", "reasons")


@dataclass
class Run:
    """One policy's pass over a scenario: what the plant saw, and the per-second trace."""

    policy: str
    totals: Any
    soc_end_pct: float
    trace: array | None


def _shares(cfg: Config) -> tuple[float, float, float]:
    if cfg.charger.phases == 3:
        return (1 / 3, 1 / 3, 1 / 3)
    return tuple(1.0 if cfg.charger.phase == i else 0.0 for i in (1, 2, 3))  # type: ignore


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
        pv_share1=pvs[0], pv_share2=pvs[1], pv_share3=pvs[2],
        ev_share1=ev[0], ev_share2=ev[1], ev_share3=ev[2],
    )


def run_policy(sc: Scenario, cfg: Config, policy: str, inputs: Inputs | None = None,
               core: Any = None, trace: bool = False) -> Run:
    """Drive the plant with `policy` ("v2h", "evcc-like", "none" or "oracle")."""
    core = core or fast.core
    inp = inputs if inputs is not None else build(sc)
    n = len(inp)
    pl = make_plant(sc, cfg, core)
    lim = core_limits(cfg, core)
    plan = core_plan(cfg, core)
    st = core.CtlState()
    ev = core.EvccState()
    tot = core.Totals(reserve_soc=cfg.limits.reserve_soc, fuse_a=cfg.limits.fuse_a,
                      stop_budget_s=cfg.control.grid_loss_stop_s,
                      stale_budget_s=cfg.control.meter_stale_s + 1.0,
                      nominal_v=cfg.site.nominal_v)
    tr = array("d", bytes(8 * 6 * n)) if trace else array("d")
    pid = core.POLICIES.index(policy)
    views = [memoryview(a) for a in (inp.l1, inp.l2, inp.l3, inp.pv, inp.flags)]
    trv = memoryview(tr)
    cuts = [0, *[b for b in inp.returns if 0 < b < n], n]
    for a, b in zip(cuts, cuts[1:]):
        if a > 0:  # the car comes home from a trip
            pl.soc_wh = max(pl.soc_wh - sc.car.trip_kwh * 1000.0,
                            pl.cap_wh * pl.car_min_soc / 100.0)
        core.run_batch(pid, *(v[a:b] for v in views), pl, lim, plan, st, ev, tot, float(a),
                       trv[6 * a:6 * b] if trace else trv)
    return Run(policy, tot, pl.soc_pct, tr if trace else None)


def score(sc: Scenario, run: Run, oracle: Run) -> dict[str, Any]:
    """The result object of DESIGN.md §6 (energies in Wh)."""
    t, o = run.totals, oracle.totals
    through = o.ev_charge_wh + o.ev_discharge_wh
    loss = (t.export_wh - o.export_wh) + (t.import_wh - o.import_wh)
    r = lambda x: round(x, 3)  # noqa: E731
    return {
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


def simulate(sc: Scenario, cfg: Config, policies: tuple[str, ...] = ("v2h",),
             trace: bool = False, core: Any = None
             ) -> tuple[list[dict[str, Any]], dict[str, Run]]:
    """Score each policy against the oracle on one scenario (arrays built once)."""
    inp = build(sc)
    oracle = run_policy(sc, cfg, "oracle", inp, core, trace)
    runs = {p: run_policy(sc, cfg, p, inp, core, trace) for p in policies}
    runs["oracle"] = oracle
    return [score(sc, runs[p], oracle) for p in policies], runs
