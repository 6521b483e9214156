"""The report's figures beside the money: the technical pre-check, and the charts' series
(a typical summer and winter day, months, the car's week)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from controller.config import Config
from controller.devices import CHARGER_CAPS

from . import _coarse
from ._inputs import DAY_S, Home
from ._options import SLOT_S, Pass
from ._types import Arr

LABELS = {"none": "nothing", "v2h": "V2H (v2h policy)", "v2h-plan": "V2H + price plan"}


def label(name: str) -> str:
    """An option's name for people."""
    if name.startswith("battery-"):
        return f"home battery {name.split('-', 1)[1]} kWh"
    return LABELS.get(name, name)


def precheck(home: Home, cfg: Config) -> dict[str, Any]:
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


def days_for_charts(home: Home, months: Arr) -> tuple[int, int]:
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


def charts(passes: list[Pass], months: Arr, summer: int, winter: int,
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
            "labels": {p.name: label(p.name) for p in passes}}
