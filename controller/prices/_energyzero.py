"""EnergyZero's public day-ahead prices (NL), through its maintained async client
`energyzero` (>= 3: the GraphQL endpoint, explicit from/till per slot, so hourly and
15-minute answers are both read right)."""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
from energyzero import EnergyZero, EnergyZeroError, PriceType

from ._model import MarketPrices, PriceError, days_around, from_points


class EnergyZeroSource:
    """The `energyzero` source. PriceType.MARKET gives `energyPriceExcl`: the market price
    excl. VAT, without EnergyZero's own tax and purchasing cost (our tariff adds those)."""

    name = "energyzero"

    def __init__(self, session: aiohttp.ClientSession | None = None,
                 clock: Callable[[], float] = time.time, request_timeout_s: float = 20.0) -> None:
        # session: injected by tests (and usable by a caller that keeps one open);
        # without it the client opens and closes its own for each fetch
        self.session = session
        self.clock = clock
        self.request_timeout_s = request_timeout_s

    async def fetch(self, start_utc: float, end_utc: float) -> MarketPrices:
        first, last = days_around(start_utc, end_utc)
        try:
            async with EnergyZero(session=self.session,
                                  request_timeout=self.request_timeout_s) as client:
                answer = await client.get_electricity_prices(first, last,
                                                             price_type=PriceType.MARKET)
        except EnergyZeroError as exc:
            raise PriceError(self.name, str(exc)) from exc
        slots = {r.start_including.timestamp(): p for r, p in answer.prices.items()}
        lengths = {round((r.end_excluding - r.start_including).total_seconds())
                   for r in answer.prices}
        if len(lengths) > 1:
            raise PriceError(self.name, f"slots of mixed lengths {sorted(lengths)} s")
        return from_points(slots, source=self.name, fetched_utc=self.clock(),
                           start_utc=start_utc, end_utc=end_utc,
                           slot_s=lengths.pop() if lengths else None)
