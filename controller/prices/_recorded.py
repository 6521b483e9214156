"""Real recorded Dutch day-ahead prices shipped with the package (see data/README.md), for
the simulator, the planner's tests and anyone who wants a real day without a network."""

from __future__ import annotations

from importlib import resources

import msgspec

from ._model import MarketPrices
from ._payload import parse_csv

RECORDED = ("nl-2025-05-31-hourly", "nl-2025-12-16-to-18-quarter")


def recorded(name: str) -> MarketPrices:
    """The market prices (EUR/kWh excl. VAT) of one recorded file, by name (RECORDED); the
    hourly day keeps its 3600 s slots (apply_tariff or `.quarters()` expand them)."""
    if name not in RECORDED:
        raise KeyError(f"no recorded prices {name!r}; there are {', '.join(RECORDED)}")
    text = resources.files(__package__).joinpath("data", f"{name}.csv").read_text("utf-8")
    prices = parse_csv(text, source=f"recorded {name}", fetched_utc=0.0)
    # day-ahead prices are known the day before; "fetched at the first slot" keeps them
    # fresh (stale_after_s) over the recorded days in a simulation on simulated time
    return msgspec.structs.replace(prices, fetched_utc=prices.start_utc)
