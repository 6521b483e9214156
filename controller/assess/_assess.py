"""One household's assessment: read, simulate every option at 1 s, age the batteries, price
it all under the tariff (2027 rules unless the config keeps net metering), the coarse
routes beside it, and the figures the report, the JSON and the CSV are made of."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from controller.config import Config, Tariff
from controller.devices import CHARGER_CAPS
from controller.prices import Contract, export_price, import_price, with_tax

from . import _ageing, _coarse
from ._errors import AssessError
from ._generate import price_year
from ._household import Household, load
from ._inputs import DAY_S, Home, home_of
from ._options import HB_DEFAULTS, SLOT_S, Pass, local_hours, run_options
from ._types import Arr

RULES_FROM = date(2027, 1, 1)  # the Dutch net metering ends: the year assessed is after it


def net_metering_2027(t: Tariff) -> bool:
    """Whether the tariff keeps net metering in 2027 (only when told so explicitly)."""
    return t.net_metering and (t.net_metering_until is None or t.net_metering_until > RULES_FROM)


def slot_prices(h: Household, cfg: Config, start_utc: float, n: int
                ) -> tuple[list[float], list[float], bool, str]:
    """(import, export EUR/kWh per slot, dynamic?, where the prices came from)."""
    t = cfg.tariff
    nm = net_metering_2027(t)
    tz = ZoneInfo(cfg.site.timezone)
    if t.contract == "dynamic":
        market, source = _market(h, start_utc, n)
        imp = [import_price(p, t) for p in market]
        exp_ = [export_price(p, t, nm) for p in market]
        return imp, exp_, True, source
    c = Contract(t, cfg.site.timezone)
    imp, exp_ = [], []
    cache: dict[tuple[int, int, int], float] = {}
    for k in range(n):
        local = datetime.fromtimestamp(start_utc + k * SLOT_S, tz)
        key = (local.month, local.weekday(), local.hour)
        if key not in cache:
            s = c.supply_at(local)
            if s is None:
                raise AssessError("v2h.toml", 0, f"tariff: the {t.contract} contract gives no "
                                  f"price for {local:%Y-%m}")
            cache[key] = with_tax(s, t)
        p = cache[key]
        imp.append(p)
        exp_.append(p if nm else t.feed_in_fee_eur_kwh - t.feed_in_cost_eur_kwh)
    return imp, exp_, False, f"{t.contract} contract"


def _market(h: Household, start_utc: float, n: int) -> tuple[list[float], str]:
    """Market prices per slot: the household's price file (CSV start_utc,price_eur_per_kwh
    at 15 or 60 min, used from its first row on, repeated when shorter), or a generated
    year when the file is `generated`."""
    f = h.prices.file
    if f is None:
        raise AssessError(str(Path(h.folder) / "household.toml"), 0, "prices.file: a dynamic "
                          "contract needs a price file (or file = \"generated\")")
    if f == "generated":
        return price_year(start_utc, n), "generated price year (2025 NL statistics)"
    path = Path(h.folder) / f
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise AssessError(str(path), 0, f"cannot read the price file: {exc}") from None
    if "price_eur_per_kwh" not in df.columns:
        raise AssessError(str(path), 1, "needs a price_eur_per_kwh column")
    v = pd.to_numeric(df["price_eur_per_kwh"], errors="coerce")
    v = v.ffill().bfill().to_numpy(dtype=float)
    if "start_utc" in df.columns and len(df) > 1:
        t = pd.to_datetime(df["start_utc"], utc=True)
        step = int((t.iloc[1] - t.iloc[0]).total_seconds())
        if step not in (900, 3600):
            raise AssessError(str(path), 3, f"price slots of {step} s: expected 15 or 60 min")
        v = np.repeat(v, step // SLOT_S)
    reps = -(-n // len(v))
    return [float(x) for x in np.tile(v, reps)[:n]], f"price file {f}"


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


LABELS = {"none": "nothing", "v2h": "V2H (v2h policy)", "v2h-plan": "V2H + price plan"}


def _label(name: str) -> str:
    if name.startswith("battery-"):
        return f"home battery {name.split('-', 1)[1]} kWh"
    return LABELS.get(name, name)


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


def _precheck(home: Home, cfg: Config) -> dict[str, Any]:
    """Fuse and phases against the charger, the car's presence while PV produces, and what
    the meter and the charger must offer."""
    caps = CHARGER_CAPS[cfg.charger.driver]
    ph = cfg.charger.phases
    fuse_w = cfg.limits.fuse_a * cfg.site.nominal_v * ph
    ch_w = min(caps.max_charge_w, cfg.limits.max_charge_w)
    per_min = max(1, 60 // home.interval_s)
    pv_min = (_coarse.aggregate(home.pv_i, per_min) if home.interval_s <= 60
              else np.repeat(home.pv_i, home.interval_s // 60))
    n = min(len(pv_min), len(home.home_min))
    sunny = pv_min[:n] > 50.0
    home_sunny = float((home.home_min[:n][sunny] > 0).mean()) if sunny.any() else None
    return {
        "fuse_a": cfg.limits.fuse_a, "charger_phases": ph, "site_phases": cfg.site.phases,
        "fuse_w": fuse_w, "charger_w": ch_w,
        "fuse_ok": fuse_w >= ch_w and ph <= cfg.site.phases,
        "phases_text": (f"the charger is on {ph} phase(s) of a {cfg.site.phases}-phase "
                        "connection" + ("" if ph <= cfg.site.phases else
                                        ": it needs a 3-phase connection")),
        "fuse_text": (f"{cfg.limits.fuse_a:g} A on {ph} phase(s) carries {fuse_w / 1000:.1f} kW;"
                      f" the charger moves up to {ch_w / 1000:.1f} kW" +
                      ("" if fuse_w >= ch_w else " - v2h limits it to the fuse (and the house "
                       "load on that phase)")),
        "pv_hours": float(sunny.sum()) / 60.0,
        "car_home_when_pv_pct": None if home_sunny is None else 100.0 * home_sunny,
        "charger": cfg.charger.driver,
        "charger_min_w": max(caps.min_power_w, cfg.limits.min_power_w),
        "charger_watchdog": caps.watchdog_register is not None,
        "meter": "a grid meter read every second (v2h drivers: SDM630, EM24 over Modbus, or "
                 "the P1 port at 1 s, DSMR 5)",
        "needs": [f"a bidirectional charger v2h drives ({', '.join(sorted(CHARGER_CAPS))}), "
                  f"here {cfg.charger.driver}, regulating from "
                  f"{max(caps.min_power_w, cfg.limits.min_power_w):g} W",
                  "a car that allows discharge (V2H/V2G) through that charger",
                  "a grid meter at the connection read once a second"],
    }


def _days_for_charts(home: Home, months: Arr) -> tuple[int, int]:
    """A typical summer and winter day: the median-PV day of the sunniest and of the
    darkest month present (by load when there is no PV)."""
    per = DAY_S // home.interval_s
    pv_day = home.pv_i[:home.days * per].reshape(home.days, per).sum(axis=1)
    m_day = months[::96][:home.days]
    key = pv_day if pv_day.sum() > 0 else -home.load_i[:home.days * per].reshape(
        home.days, per).sum(axis=1)
    by_m = {m: key[m_day == m].mean() for m in np.unique(m_day)}
    best, worst = max(by_m, key=lambda m: by_m[m]), min(by_m, key=lambda m: by_m[m])

    def median_day(m: int) -> int:
        days = np.flatnonzero(m_day == m)
        order = days[np.argsort(key[days])]
        return int(order[len(order) // 2])

    return median_day(int(best)), median_day(int(worst))


def assess_home(home: Home, cfg: Config, ageing: bool = True) -> dict[str, Any]:
    """Every figure of one household's assessment (see the module's docstring)."""
    t0 = time.perf_counter()
    h = home.h
    n = home.days * DAY_S // SLOT_S
    imp_l, exp_l, dynamic, source = slot_prices(h, cfg, home.start_utc, n)
    imp, exp_ = np.array(imp_l), np.array(exp_l)
    passes = run_options(home, cfg, (imp_l, exp_l), dynamic)
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
            "option": p.name, "label": _label(p.name),
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
    summer, winter = _days_for_charts(home, months)
    charts = _charts(passes, months, summer, winter, home)
    verdict = _verdict(options)
    return {
        "household": h.name, "days": home.days, "per_year_scale": scale,
        "start_utc": home.start_utc, "timezone": home.tz,
        "inputs": {"files": [_read_dict(s) for s in home.files], "notes": home.notes,
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
        "precheck": _precheck(home, cfg), "charts": charts,
        "seconds_simulated": int(home.days * DAY_S * len(passes)),
        "timing_s": {"simulate": t_sim, "ageing": t_age,
                     "total": time.perf_counter() - t0},
    }


def _read_dict(s: Any) -> dict[str, Any]:
    from ._read import as_dict

    return as_dict(s)


def _charts(passes: list[Pass], months: Arr, summer: int, winter: int,
            home: Home) -> dict[str, Any]:
    per_day = DAY_S // SLOT_S
    show = [p for p in passes if p.kind != "battery"] + \
        [p for p in passes if p.kind == "battery"][1:2]
    days = {}
    for key, d in (("summer", summer), ("winter", winter)):
        sl = slice(d * per_day, (d + 1) * per_day)
        days[key] = {"day": d, "date": str(pd.Timestamp(home.start_utc + d * DAY_S, unit="s",
                                                        tz="UTC").tz_convert(home.tz).date()),
                     "grid_w": {p.name: list((p.imp[sl] - p.exp[sl]) * 4.0) for p in show}}
    monthly = {}
    for p in passes:
        monthly[p.name] = {"import_kwh": [float(p.imp[months == m].sum()) / 1000.0
                                          for m in range(1, 13)],
                           "export_kwh": [float(p.exp[months == m].sum()) / 1000.0
                                          for m in range(1, 13)]}
    week = slice(0, min(len(passes[0].soc), 7 * per_day))
    soc = {p.name: list(p.soc[week]) for p in passes if p.kind != "battery"}
    return {"days": days, "monthly": monthly, "car_week_soc": soc,
            "labels": {p.name: _label(p.name) for p in passes}}


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
