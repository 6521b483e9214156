"""The assessed year's prices per 15-minute slot: the config's tariff under the 2027 rules
(no net metering unless the tariff keeps it past 2027-01-01), the market from the
household's price file or a generated year."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from controller.config import Config, Tariff
from controller.prices import Contract, export_price, import_price, with_tax

from ._errors import AssessError
from ._generate import price_year
from ._household import Household

SLOT_S = 900

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
