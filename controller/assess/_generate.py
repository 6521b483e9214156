"""Generated inputs: a household whose true 1-s year is known (the simulator's own load and
PV model, seasons moving the sun), and a price year for the demo and the tests (the measured
NL prices may not be shipped: see ../shared/data/assessment/README.md)."""

from __future__ import annotations

import math

import msgspec
import numpy as np

from controller import sim

from ._types import Arr

# NL day-ahead 2025, monthly means (EUR/MWh) from the data README (validation only): the
# generated year is drawn around them
MONTHLY_EUR_MWH = (116.7, 125.8, 91.7, 74.8, 64.2, 67.7, 87.5, 74.5, 77.7, 82.4, 91.1, 87.7)
# the daily shape (relative to the day's mean) of a Dutch day-ahead day with much PV: low at
# midday, peaks in the morning and evening (hours 0..23 local)
DAILY_SHAPE = (0.95, 0.9, 0.88, 0.87, 0.9, 1.0, 1.15, 1.3, 1.2, 1.0, 0.8, 0.65, 0.55, 0.55,
               0.62, 0.78, 1.0, 1.3, 1.45, 1.4, 1.25, 1.12, 1.05, 1.0)


def household_seconds(days: int, seed: int = 1, start_day: int = 0
                      ) -> tuple[Arr, Arr]:
    """A household's 1-s house load and PV (W) over `days` from 1 January (+start_day): the
    standard-day scenario's appliances and clouds, the seasons moving sunrise, sunset and
    the PV peak (as `make bench`'s year)."""
    base = sim.load("standard-day")
    load = np.empty(days * 86_400)
    pv = np.empty(days * 86_400)
    for i in range(days):
        day = start_day + i
        season = math.cos(2 * math.pi * (day - 172) / 365)  # 1 at midsummer
        rise, sets = 6.5 - 1.5 * season, 19.5 + 2 * season
        p = msgspec.structs.replace(
            base.pv, peak_w=6000.0 * (0.55 + 0.45 * season),
            sunrise=f"{int(rise):02d}:{int(rise % 1 * 60):02d}",
            sunset=f"{int(sets):02d}:{int(sets % 1 * 60):02d}")
        sc = msgspec.structs.replace(base, seed=seed * 1000 + day, pv=p, events=[])
        inp = sim.build(sc)
        a = i * 86_400
        load[a:a + 86_400] = (np.frombuffer(inp.l1) + np.frombuffer(inp.l2)
                              + np.frombuffer(inp.l3))
        pv[a:a + 86_400] = np.frombuffer(inp.pv)
    return load, pv


def price_year(start_utc: float, slots: int, seed: int = 2025) -> list[float]:
    """Market prices (EUR/kWh) per 15-min slot from start_utc: the 2025 monthly means (each
    month's exactly, with a UTC month), the daily shape, day-to-day weather noise, and
    negative hours on sunny spring and summer middays (about 600 hours a year; 2025 had
    573). tests/assess/test_generate.py checks them against the data README's figures."""
    rng = np.random.default_rng(seed)
    t = start_utc + np.arange(slots) * 900.0
    day = ((t - start_utc) // 86_400).astype(int)
    month = ((np.datetime64(0, "s") + t.astype("timedelta64[s]")).astype("datetime64[M]")
             .astype(int) % 12)
    hour = ((t // 3600 + 1) % 24).astype(int)  # CET
    n_days = int(day.max()) + 1
    day_level = np.exp(0.25 * rng.standard_normal(n_days))
    sunny = rng.random(n_days)
    mean = np.array(MONTHLY_EUR_MWH)[month]
    shape = np.array(DAILY_SHAPE)[hour]
    price = mean * day_level[day] * shape + 8.0 * rng.standard_normal(slots)
    # a sunny day in April..September pushes the midday hours below zero
    summer = (month >= 3) & (month <= 8)
    neg = summer & (sunny[day] < 0.62) & (hour >= 11) & (hour <= 15)
    price = np.where(neg, -np.abs(price) * 0.3 - 5.0, price)
    # each month's mean back to the README's (its negative middays pulled it down): the
    # other slots of the month are raised by what they lost
    for m in range(12):
        sel = month == m
        if sel.any():
            pos = sel & ~neg
            price[pos] += (MONTHLY_EUR_MWH[m] - price[sel].mean()) * sel.sum() / max(
                1, pos.sum())
    return [float(x) / 1000.0 for x in price]
