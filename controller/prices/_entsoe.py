"""Day-ahead prices (document A44) from the ENTSO-E transparency platform, for any bidding
zone, with a personal API token. We ask over aiohttp ourselves (async, under our timeout) and
read the XML with entsoe-py's maintained parser, imported only when this source is configured:
with pandas and BeautifulSoup it adds about 60 MB resident (measured: 36 -> 96 MB), the
controller's whole memory budget, which no other part of v2h needs. Install with
`pip install v2h[entsoe]`. Parsing (and the first import, about a second) runs in a thread:
two days of quarters take some 25 ms, too long to hold the control loop's event loop."""

from __future__ import annotations

import asyncio
import re
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from ._model import SLOT_S, MarketPrices, PriceError, from_points

API_URL = "https://web-api.tp.entsoe.eu/api"
_TEXT = re.compile(r"<text>(.*?)</text>", re.S)
_FREQS = {"15min": 900, "30min": 1800, "60min": 3600}  # entsoe-py's keys, in s


def _stamp(t_utc: float) -> str:
    return datetime.fromtimestamp(t_utc, UTC).strftime("%Y%m%d%H00")


def parse_a44(xml_text: str, *, source: str, fetched_utc: float, start_utc: float,
              end_utc: float) -> MarketPrices:
    """The market prices (EUR/kWh) in an A44 Publication_MarketDocument (EUR/MWh). Where a
    zone publishes more than one resolution, the finest wins and the coarser fills the rest."""
    try:
        from bs4 import XMLParsedAsHTMLWarning
        from entsoe.parsers import parse_prices
    except ImportError:
        raise PriceError(source, "the ENTSO-E source needs entsoe-py: "
                                 "pip install 'v2h[entsoe]'") from None
    try:
        with warnings.catch_warnings():
            # entsoe-py reads the XML with bs4's HTML parser on purpose (no lxml needed);
            # bs4 warns about that at every call
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            series = parse_prices(xml_text)
    except Exception as exc:  # noqa: BLE001 - a foreign parser: any failure is bad data
        raise PriceError(source, f"unreadable A44 document: {exc!r}") from None
    points: dict[float, float] = {}
    for key, slot in sorted(_FREQS.items(), key=lambda kv: -kv[1]):
        s = series.get(key)
        if s is None or not len(s):
            continue
        for ts, eur_mwh in s.items():
            t0 = ts.timestamp()
            for k in range(slot // SLOT_S):
                points[t0 + k * SLOT_S] = float(eur_mwh) / 1000.0
    return from_points(points, source=source, fetched_utc=fetched_utc, start_utc=start_utc,
                       end_utc=end_utc, slot_s=SLOT_S)


class EntsoeSource:
    """The `entsoe` source: [prices] entsoe_token and entsoe_area (an EIC bidding-zone code)."""

    name = "entsoe"

    def __init__(self, token: str, area: str, *, session: aiohttp.ClientSession | None = None,
                 url: str = API_URL, clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.area = area
        self.session = session  # injected by tests; else one per fetch
        self.url = url
        self.clock = clock

    async def _get(self, session: aiohttp.ClientSession, params: dict[str, str]) -> str:
        async with session.get(self.url, params=params) as resp:
            text = await resp.text()
            if resp.status != 200 or "<Acknowledgement_MarketDocument" in text:
                m = _TEXT.search(text)
                why = m.group(1).strip() if m else f"HTTP {resp.status}"
                raise PriceError(self.name, why[:200])
            return text

    async def fetch(self, start_utc: float, end_utc: float) -> MarketPrices:
        params = {"securityToken": self.token, "documentType": "A44",
                  "in_Domain": self.area, "out_Domain": self.area,
                  "contract_MarketAgreement.type": "A01",  # day-ahead
                  "periodStart": _stamp(start_utc - 3600), "periodEnd": _stamp(end_utc + 3600)}
        try:
            if self.session is not None:
                text = await self._get(self.session, params)
            else:
                async with aiohttp.ClientSession() as session:
                    text = await self._get(session, params)
        except aiohttp.ClientError as exc:
            raise PriceError(self.name, f"request failed: {exc!r}") from exc
        return await asyncio.to_thread(parse_a44, text, source=self.name,
                                       fetched_utc=self.clock(), start_utc=start_utc,
                                       end_utc=end_utc)
