"""One household's assessment: read, simulate every option at 1 s, age the batteries, price
it all under the tariff (2027 rules unless the config keeps net metering), the coarse
routes beside it, and the figures the report, the JSON and the CSV are made of."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from controller.config import Config
from controller.devices import CHARGER_CAPS

from . import _ageing, _coarse
from ._figures import charts as figure_charts
from ._figures import days_for_charts, label, precheck
from ._household import Household, load
from ._inputs import DAY_S, Home, home_of
from ._options import HB_DEFAULTS, SLOT_S, Pass, local_hours, run_options
from ._prices import net_metering_2027, slot_prices
from ._read import as_dict
from ._types import Arr


def _bill(p: Pass, imp: Arr, exp_: Arr) -> float:
    return float((p.imp * imp).sum() - (p.exp * exp_).sum()) / 1000.0


def _coarse_routes(home: Home, cfg: Config, passes: list[Pass], imp: Arr,
                   exp_: Arr) -> dict[str, Any]:
    """Savings by resolution: the coarse route at 15 and 60 min against the 1-s route
    (EUR over the assessed days; `overstates_pct` how much more the coarse route saves)."""
    by = {p.name: p for p in passes}
    base_1s = _bill(by["none"], imp, exp_)
    one_s = {p.name: base_1s - _bill(p, imp, exp_) for p in passes if p.name != "none"}
    out: dict[str, Any] = {"1s": {n: {"savings_eur": v} for n, v in one_s.items()}}
    lim = cfg.limits
    caps = CHARGER_CAPS[cfg.charger.driver]
    car_w = min(caps.max_charge_w, lim.max_charge_w)
    car = by["none"].totals
    # the car's trips at coarse resolution: the 1-s route's trip energy, spread evenly
    # over the returns (each return takes the same trip)
    if home.trips_min is not None:
        trips_min = home.trips_min
    else:
        back = np.flatnonzero(np.diff(home.home_min.astype(np.int8)) == 1) + 1
        trips_min = np.zeros(len(home.home_min))
        if len(back):
            trips_min[back] = car["trips_wh"] / len(back)
    per = home.interval_s
    for minutes in (15, 60):
        s = minutes * 60
        if s < per or s % per:
            continue
        f_i = s // per
        ld, pv = _coarse.aggregate(home.load_i, f_i), _coarse.aggregate(home.pv_i, f_i)
        hm = _coarse.aggregate(home.home_min.astype(float), minutes)
        tr = _coarse.aggregate(trips_min, minutes) * minutes
        ip, ep = _coarse.aggregate(imp, minutes // 15), _coarse.aggregate(exp_, minutes // 15)
        n = min(len(ld), len(hm), len(ip))
        ld, pv, hm, tr, ip, ep = ld[:n], pv[:n], hm[:n], tr[:n], ip[:n], ep[:n]
        soc0 = home.h.car.soc_pct
        res: dict[str, Any] = {}
        i0, e0, car_p = _coarse.run(ld, pv, hm, tr, s, "nothing", cfg.car.capacity_kwh, car_w,
                                    lim.reserve_soc, lim.max_soc, cfg.car.efficiency, soc0)
        runs = {"none": (i0, e0)}
        need = 5.0 + home.h.car.trip_kwh / cfg.car.capacity_kwh * 100.0 + 5.0
        hours = local_hours(home.start_utc, n, home.tz, s)
        runs["v2h"] = _coarse.run(ld, pv, hm, tr, s, "v2h", cfg.car.capacity_kwh, car_w,
                                  lim.reserve_soc, lim.max_soc, cfg.car.efficiency, soc0,
                                  hours, need)[:2]
        for sz in home.h.battery.sizes_kwh:
            w = min(HB_DEFAULTS["max_w"], sz * 1000.0 * HB_DEFAULTS["c_rate"])
            mn = HB_DEFAULTS["min_soc"] * 100.0
            # the house as in "nothing": the uncontrolled car's charging is part of its load
            runs[f"battery-{sz:g}"] = _coarse.run(ld + car_p, pv, hm, tr * 0.0, s, "battery",
                                                  sz, w, mn, 100.0, 1.0, mn)[:2]
        bills = {k: float((a * ip).sum() - (b * ep).sum()) / 1000.0 for k, (a, b) in runs.items()}
        for k, (a, b) in runs.items():
            res[k] = {"import_kwh": float(a.sum()) / 1000.0, "export_kwh": float(b.sum()) / 1000.0}
            if k != "none":
                sv = bills["none"] - bills[k]
                ref = one_s.get(k)
                res[k]["savings_eur"] = sv
                res[k]["overstates_pct"] = (100.0 * (sv / ref - 1.0)
                                            if ref is not None and abs(ref) > 1e-9 else None)
        out[f"{minutes}min"] = res
    return out


def _month_of_slots(start_utc: float, n: int, tz: str) -> Arr:
    idx = pd.date_range(pd.Timestamp(start_utc, unit="s", tz="UTC"), periods=n, freq="15min")
    return np.asarray(idx.tz_convert(tz).month, dtype=np.int64)


def _age_all(passes: list[Pass], h: Household, start_month: int) -> dict[str, Any]:
    """Capacity lost over the assessed days per option's battery (BLAST-Lite); for the car
    passes, the extra over the car without V2H."""
    out: dict[str, Any] = {}
    for p in passes:
        battery = p.kind == "battery"
        chem = h.battery.chemistry if battery else h.car.chemistry
        a = _ageing.age(p.soc, SLOT_S, chem, start_month, indoor=battery)
        out[p.name] = {"model": _ageing.MODELS[chem], "chemistry": chem,
                       "q_loss_pct": 100.0 * a.q_loss, "efc": a.efc,
                       "cycles": a.cycles[:8]}
    base = out["none"]["q_loss_pct"]
    for p in passes:
        o = out[p.name]
        if p.kind == "battery":
            o["extra_q_loss_pct"] = o["q_loss_pct"]
        else:
            o["extra_q_loss_pct"] = o["q_loss_pct"] - base
    return out


def assess_home(home: Home, cfg: Config, ageing: bool = True, workers: int = 1
                ) -> dict[str, Any]:
    """Every figure of one household's assessment (see the module's docstring); with
    `workers` 2 the price plan's pass runs in a second process."""
    t0 = time.perf_counter()
    h = home.h
    n = home.days * DAY_S // SLOT_S
    imp_l, exp_l, dynamic, source = slot_prices(h, cfg, home.start_utc, n)
    imp, exp_ = np.array(imp_l), np.array(exp_l)
    passes = run_options(home, cfg, (imp_l, exp_l), dynamic, workers)
    t_sim = time.perf_counter() - t0
    scale = 365.0 / home.days
    mean_imp = float(imp.mean())
    months = _month_of_slots(home.start_utc, n, home.tz)
    start_month = int(months[0]) - 1
    age = _age_all(passes, h, start_month) if ageing else {}
    t_age = time.perf_counter() - t0 - t_sim
    base = next(p for p in passes if p.name == "none")
    options = []
    cost_none = None
    for p in passes:
        t = p.totals
        soc0 = HB_DEFAULTS["min_soc"] * 100.0 if p.kind == "battery" else h.car.soc_pct
        stored = (t["soc_end_pct"] - soc0) / 100.0 * p.cap_kwh * mean_imp
        bill = _bill(p, imp, exp_)
        cost = bill - stored
        if p.name == "none":
            cost_none = cost
        pv = base.totals["pv_wh"]
        row: dict[str, Any] = {
            "option": p.name, "label": label(p.name),
            "import_kwh": p.imp.sum() / 1000.0 * scale,
            "export_kwh": p.exp.sum() / 1000.0 * scale,
            "self_consumption_pct": (100.0 * (1.0 - p.exp.sum() / pv) if pv > 0 else None),
            "bill_eur": bill * scale, "stored_value_eur": stored * scale,
            "cost_eur": cost * scale,
            "balance_worst_wh_day": p.balance.worst_wh,
        }
        if p.kind == "battery":
            i = h.battery.sizes_kwh.index(p.cap_kwh)
            row["purchase_eur"] = h.purchase.battery_eur[i] if i < len(h.purchase.battery_eur) \
                else None
            row["throughput_kwh"] = t["ac_out_wh"] / 1000.0 * scale
        elif p.name != "none":
            row["purchase_eur"] = h.purchase.v2h_eur
            row["throughput_kwh"] = t["discharge_wh"] / 1000.0 * scale
        if age:
            a = age[p.name]
            pack = h.battery.pack_eur_kwh if p.kind == "battery" else h.car.pack_eur_kwh
            a["extra_cost_eur"] = a["extra_q_loss_pct"] / 100.0 * p.cap_kwh * pack * scale
            row["ageing"] = a
        options.append(row)
    for row in options:
        row["savings_eur"] = (cost_none or 0.0) - row["cost_eur"]
        wear = 0.0
        if row["option"] not in ("none",) and not row["option"].startswith("battery") and age:
            wear = max(0.0, row["ageing"]["extra_cost_eur"])
            thr = row.get("throughput_kwh") or 0.0
            row["ageing"]["wear_eur_kwh"] = wear / thr if thr > 0 else None
        row["net_savings_eur"] = row["savings_eur"] - wear
        pe = row.get("purchase_eur")
        row["payback_years"] = (pe / row["net_savings_eur"]
                                if pe and row["net_savings_eur"] > 0 else None)
    resolution = _coarse_routes(home, cfg, passes, imp, exp_)
    summer, winter = days_for_charts(home, months)
    charts = figure_charts(passes, months, summer, winter, home)
    verdict = _verdict(options)
    return {
        "household": h.name, "days": home.days, "per_year_scale": scale,
        "start_utc": home.start_utc, "timezone": home.tz,
        "inputs": {"files": [as_dict(s) for s in home.files], "notes": home.notes,
                   "interval_s": home.interval_s,
                   "downscaled": home.one_s is None and home.interval_s > 1},
        "prices": {"source": source, "dynamic": dynamic,
                   "net_metering_2027": net_metering_2027(cfg.tariff),
                   "mean_import_eur_kwh": mean_imp, "mean_export_eur_kwh": float(exp_.mean()),
                   "contract": cfg.tariff.contract},
        "car": {"capacity_kwh": cfg.car.capacity_kwh, "chemistry": h.car.chemistry,
                "reserve_soc": cfg.limits.reserve_soc, "trip_kwh": h.car.trip_kwh,
                "away": list(h.car.away)},
        "options": options, "verdict": verdict, "resolution": resolution,
        "precheck": precheck(home, cfg), "charts": charts,
        "seconds_simulated": int(home.days * DAY_S * len(passes)),
        "timing_s": {"simulate": t_sim, "ageing": t_age,
                     "total": time.perf_counter() - t0},
    }


# a purchase that does not pay back within this many years is not recommended: about the
# warranty of a home battery (10 years) and a bidirectional charger's expected life
PAYBACK_YEARS = 15.0


def _verdict(options: list[dict[str, Any]]) -> str:
    """The answer in one sentence: the option that pays back fastest within PAYBACK_YEARS
    (after the car's extra wear), or why none does."""
    cands = [o for o in options if o["option"] != "none"]
    paying = [o for o in cands if o["payback_years"] is not None
              and o["payback_years"] <= PAYBACK_YEARS]
    if paying:
        best = min(paying, key=lambda o: float(o["payback_years"]))
        return (f"{best['label'][0].upper()}{best['label'][1:]} suits this household best: it "
                f"saves {best['net_savings_eur']:,.0f} EUR a year under the 2027 rules after "
                f"wear, paying back its {best['purchase_eur']:,.0f} EUR in "
                f"{best['payback_years']:.1f} years.")
    if not cands or max(float(o["net_savings_eur"]) for o in cands) <= 0:
        return ("Neither: no option lowers this household's yearly cost under the 2027 rules "
                "(the car battery's extra wear counted).")
    best = max(cands, key=lambda o: float(o["net_savings_eur"]))
    return (f"Neither pays back within {PAYBACK_YEARS:.0f} years: the best, "
            f"{best['label']}, saves {best['net_savings_eur']:,.0f} EUR a year under the 2027 "
            f"rules after wear against {best['purchase_eur'] or 0:,.0f} EUR to buy.")


def assess(folder: str | Path) -> dict[str, Any]:
    """The assessment of a household folder (household.toml, v2h.toml, its data)."""
    h, cfg = load(folder)
    home = home_of(h, cfg.site.timezone)
    return assess_home(home, cfg)
