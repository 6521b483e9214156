"""A planning problem from the config, the prices, the forecast and the car as measured now:
the car's days (departure, return, trip) in local time, the fuse's room for charging, and
prices beyond the published day taken from the same slot a day earlier."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from controller.config import Config

from ._model import SLOT_S, Car, Problem, Target


def _at(day: datetime, hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return day + timedelta(hours=h, minutes=m)  # 24:00 is the next midnight


def schedule(cfg: Config, start_utc: float, n: int, present_now: bool,
             departure: str | None = None, departure_soc: float | None = None,
             ) -> tuple[list[bool], list[float], list[tuple[int, float]]]:
    """The car over n slots from start_utc: home or away, the trip energy (Wh) it brings back
    missing in the slot it returns, and the departure targets (slot, SoC %). A departure only
    takes the car away when a return time is set; without one it is a deadline only."""
    pl = cfg.plan
    dep = departure or pl.departure
    soc = departure_soc if departure_soc is not None else pl.departure_soc
    present = [present_now] * n
    trips = [0.0] * n
    targets: list[tuple[int, float]] = []
    if dep is None:
        return present, trips, targets
    tz = ZoneInfo(cfg.site.timezone)
    local0 = datetime.fromtimestamp(start_utc, UTC).astimezone(tz)
    midnight = datetime(local0.year, local0.month, local0.day, tzinfo=tz)
    end_utc = start_utc + n * SLOT_S

    def slot_of(t: datetime) -> int:
        return math.floor((t.timestamp() - start_utc) / SLOT_S)

    if not present_now:
        # away now: home at the next return time, if there is one
        if pl.return_at is None:
            return [False] * n, trips, targets
        present = _home_at_return(cfg, midnight, start_utc, n, trips)
    for d in range(0, 4):
        day = midnight + timedelta(days=d)
        if day.weekday() not in pl.weekdays:
            continue
        leave = _at(day, dep)
        if leave.timestamp() <= start_utc or leave.timestamp() > end_utc:
            continue
        k = slot_of(leave) - 1  # the last slot that ends by the departure
        if k >= 0 and present[k]:
            targets.append((k, soc))
        if pl.return_at is None:
            continue
        back = _at(day, pl.return_at)
        if back <= leave:
            back += timedelta(days=1)
        a, b = slot_of(leave), slot_of(back)
        for i in range(max(a, 0), min(b, n)):
            present[i] = False
        if 0 <= b < n:
            trips[b] += pl.trip_kwh * 1000.0
    return present, trips, targets


def _home_at_return(cfg: Config, midnight: datetime, start_utc: float, n: int,
                    trips: list[float]) -> list[bool]:
    """A car away now: home from the slot of the next return time (its trip's energy, Wh,
    added to `trips` there); away throughout when that is not within three days."""
    pl = cfg.plan
    assert pl.return_at is not None
    for d in range(0, 3):
        back = _at(midnight + timedelta(days=d), pl.return_at)
        if back.timestamp() > start_utc:
            k = min(math.floor((back.timestamp() - start_utc) / SLOT_S), n)
            if k < n:
                trips[k] += pl.trip_kwh * 1000.0
            return [i >= k for i in range(n)]
    return [False] * n


def extend_prices(start_utc: float, imp: list[float], exp_: list[float], n: int
                  ) -> tuple[list[float], list[float], int]:
    """n slots of prices from start_utc: the published ones, then the same slot a day
    earlier (a day-ahead market publishes tomorrow at noon; a departure must still fall
    inside the plan). Returns the prices and how many were published."""
    known = len(imp)
    day = 86_400 // SLOT_S
    imp, exp_ = list(imp[:n]), list(exp_[:n])
    while len(imp) < n:
        j = len(imp) - day
        if j < 0:  # less than a day published: hold the last price
            j = known - 1
        imp.append(imp[j])
        exp_.append(exp_[j])
    return imp, exp_, min(known, n)


def build(cfg: Config, start_utc: float, imp: list[float], exp_: list[float],
          net_w: list[float], soc_pct: float, present_now: bool, *,
          reserve_soc: float | None = None, max_discharge_w: float | None = None,
          departure: str | None = None, departure_soc: float | None = None,
          wear_eur_kwh: float | None = None) -> Problem:
    """The problem over min(horizon, len(net_w)) slots from start_utc (UTC s, a slot start);
    the owner's settings (reserve, maximum discharge, departure) narrow the config's."""
    pl, lim = cfg.plan, cfg.limits
    n = min(int(pl.horizon_h * 3600 // SLOT_S), len(net_w))
    imp, exp_, _ = extend_prices(start_utc, imp, exp_, n)
    present, trips, targets = schedule(cfg, start_utc, n, present_now, departure,
                                       departure_soc)
    cap = cfg.car.capacity_kwh * 1000.0
    v = cfg.site.nominal_v
    per_phase = (lim.fuse_a - lim.fuse_margin_a) * v
    k = 3 if cfg.charger.phases == 3 else 1
    split = 3.0 if cfg.site.phases == 3 else 1.0
    charge_cap = [k * (per_phase - max(x, 0.0) / split) for x in net_w[:n]]
    reserve = max(reserve_soc if reserve_soc is not None else lim.reserve_soc, lim.reserve_soc)
    car = Car(capacity_wh=cap, soc0_wh=soc_pct / 100.0 * cap, reserve_wh=reserve / 100.0 * cap,
              max_wh=lim.max_soc / 100.0 * cap, efficiency=cfg.car.efficiency,
              max_charge_w=lim.max_charge_w,
              max_discharge_w=min(max_discharge_w if max_discharge_w is not None
                                  else lim.max_discharge_w, lim.max_discharge_w),
              min_power_w=lim.min_power_w)
    return Problem(start_utc=start_utc, import_eur_kwh=imp, export_eur_kwh=exp_,
                   net_w=list(net_w[:n]), present=present, car=car, trip_wh=trips,
                   targets=[Target(s, min(p, lim.max_soc) / 100.0 * cap) for s, p in targets],
                   charge_cap_w=charge_cap,
                   wear_eur_kwh=pl.wear_eur_kwh if wear_eur_kwh is None else wear_eur_kwh)
