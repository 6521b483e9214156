"""easyEnergy's public day-ahead prices (NL), through its maintained async client
`easyenergy` (usage tariffs asked excl. VAT: the bare market price)."""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
from easyenergy import EasyEnergy, EasyEnergyError, VatOption

from ._model import MarketPrices, PriceError, days_around, from_points


class EasyEnergySource:
    """The `easyenergy` source. Its answer has slot starts only; the slot length is the step
    between them (hourly until 2025-10, 15 minutes where the API gives quarters)."""

    name = "easyenergy"

    def __init__(self, session: aiohttp.ClientSession | None = None,
                 clock: Callable[[], float] = time.time, request_timeout_s: float = 20.0) -> None:
        self.session = session  # injected by tests; else the client opens its own per fetch
        self.clock = clock
        self.request_timeout_s = request_timeout_s

    async def fetch(self, start_utc: float, end_utc: float) -> MarketPrices:
        first, last = days_around(start_utc, end_utc)
        try:
            async with EasyEnergy(vat=VatOption.EXCLUDE, session=self.session,
                                  request_timeout=self.request_timeout_s) as client:
                answer = await client.energy_prices(first, last, vat=VatOption.EXCLUDE)
        except EasyEnergyError as exc:
            raise PriceError(self.name, str(exc)) from exc
        # TariffUsage excl. VAT is the market price. TariffReturn (easyEnergy's own feed-in
        # price) is not used: the export price comes from [tariff], the same for every source
        slots = {t.timestamp(): p for t, p in answer.usage_prices.items()}
        return from_points(slots, source=self.name, fetched_utc=self.clock(),
                           start_utc=start_utc, end_utc=end_utc)
