"""The planning problem as a linear programme, solved by HiGHS (highspy).

Per slot t: charge c, discharge d, import gi, export ge (kW) and the battery energy s at the
slot's end (kWh); one slack per departure target. Rows: the meter's balance
gi - ge - c + d = net, and the battery s[t] = s[t-1] + eta*dt*c - dt/eta*d - trip. The model is
convex (import price >= export price in every slot, as any Dutch tariff has), so the LP's
optimum is the plan's true optimum; `Problem` documents the rest."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._model import Flows, Problem

INF = 1.0e30


def _highs() -> Any:
    """A silent HiGHS instance. The public `highspy.Highs` prints its banner to stdout when
    built, before any option can be set, which would corrupt `v2h simulate --json`; the core
    class it wraps does not (highspy 1.7 to 1.16 checked)."""
    import highspy

    cls: Any
    try:
        from highspy._core import _Highs

        cls = _Highs
    except ImportError:  # pragma: no cover - a future highspy: accept the banner
        cls = highspy.Highs
    h = cls()
    h.setOptionValue("output_flag", False)
    return h, highspy


@dataclass
class LpResult:
    """The LP's optimum: flows (W, Wh), objective (EUR) and the solver's time (ms); and per
    slot what one more kWh in the battery at that slot's end would save (EUR/kWh): the
    battery row's shadow price, negated (HiGHS's row dual is d objective / d right-hand
    side, and the right-hand side of slot 0's row is the energy in the battery now)."""

    flows: Flows
    objective_eur: float
    solve_ms: float
    status: str
    battery_value_eur_kwh: list[float] = field(default_factory=list)


def solve_lp(p: Problem) -> LpResult:
    """Solve the plan's LP; raises RuntimeError when HiGHS finds no optimum."""
    t0 = time.perf_counter()
    n, dt, eta = p.n, p.dt_h, p.car.efficiency
    k = len(p.targets)
    nv = 5 * n + k
    C, D, GI, GE, S, SL = 0, n, 2 * n, 3 * n, 4 * n, 5 * n  # noqa: N806 - the LP's variable blocks
    imp = np.asarray(p.import_eur_kwh, dtype=float)
    exp_ = np.asarray(p.export_eur_kwh, dtype=float)
    cost = np.zeros(nv)
    cost[C:C + n] = p.wear_eur_kwh * eta * dt
    cost[D:D + n] = p.wear_eur_kwh / eta * dt
    cost[GI:GI + n] = imp * dt
    cost[GE:GE + n] = -exp_ * dt
    cost[S + n - 1] = -p.terminal()
    cost[SL:SL + k] = p.shortfall_eur_kwh
    lo = np.zeros(nv)
    hi = np.full(nv, INF)
    hi[C:C + n] = [p.charge_limit_w(t) / 1000.0 for t in range(n)]
    hi[D:D + n] = [p.discharge_cap_w(t) / 1000.0 for t in range(n)]
    car = p.car
    lo[S:S + n] = np.asarray(p.floor_wh()) / 1000.0
    hi[S:S + n] = max(car.max_wh, car.soc0_wh) / 1000.0
    # rows, CSR: balance (n), battery (n), targets (k)
    starts: list[int] = []
    idx: list[int] = []
    val: list[float] = []
    rlo: list[float] = []
    rhi: list[float] = []
    net = np.asarray(p.net_w, dtype=float) / 1000.0
    for t in range(n):
        starts.append(len(idx))
        idx += [GI + t, GE + t, C + t, D + t]
        val += [1.0, -1.0, -1.0, 1.0]
        rlo.append(net[t])
        rhi.append(net[t])
    for t in range(n):
        starts.append(len(idx))
        idx += [S + t, C + t, D + t]
        val += [1.0, -eta * dt, dt / eta]
        rhs = -p.trip_wh[t] / 1000.0
        if t == 0:
            rhs += car.soc0_wh / 1000.0
        else:
            idx.append(S + t - 1)
            val.append(-1.0)
        rlo.append(rhs)
        rhi.append(rhs)
    for j, tg in enumerate(p.targets):
        starts.append(len(idx))
        idx += [S + tg.slot, SL + j]
        val += [1.0, 1.0]
        rlo.append(tg.soc_wh / 1000.0)
        rhi.append(INF)
    starts.append(len(idx))
    h, hs = _highs()
    lp = hs.HighsLp()
    lp.num_col_ = nv
    lp.num_row_ = len(rlo)
    lp.col_cost_ = cost
    lp.col_lower_ = lo
    lp.col_upper_ = hi
    lp.row_lower_ = np.asarray(rlo)
    lp.row_upper_ = np.asarray(rhi)
    lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(idx, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(val, dtype=float)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != hs.HighsModelStatus.kOptimal:
        raise RuntimeError(f"plan: HiGHS found no optimum ({h.modelStatusToString(status)})")
    x = np.asarray(h.getSolution().col_value) * 1000.0
    fl = Flows(charge_w=list(x[C:C + n]), discharge_w=list(x[D:D + n]),
               import_w=list(x[GI:GI + n]), export_w=list(x[GE:GE + n]),
               soc_wh=list(x[S:S + n]), shortfall_wh=list(x[SL:SL + k]))
    obj = h.getInfo().objective_function_value
    dual = h.getSolution().row_dual
    value = [-float(dual[n + t]) for t in range(n)]
    return LpResult(fl, obj, (time.perf_counter() - t0) * 1000.0, "optimal", value)
