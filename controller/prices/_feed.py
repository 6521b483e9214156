"""The controller's price feed: fetches from the configured source every refresh_s, retries
with backoff, keeps the last good prices on disk, and says None when it has nothing current
(the plan then falls back to plain self-consumption; a missing price never blocks control)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from controller._files import narrow, open_private
from controller.config import Config, Tariff

from ._model import SLOT_S, MarketPrices, Prices
from ._source import PriceSource, build_source
from ._tariff import apply_tariff

log = logging.getLogger("v2h.prices")
HORIZON_S = 2 * 86_400  # ask for today and tomorrow; sources return what is published
RETRY_MIN_S = 30.0      # first retry after a failed fetch; doubles up to refresh_s


class _Cache(msgspec.Struct, forbid_unknown_fields=True):
    """The cache file: the source's config name and its raw market prices (the market, so a
    changed [tariff] applies to them too)."""

    version: int
    source: str
    market: MarketPrices


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Cache)
CACHE_VERSION = 2


def merge(old: MarketPrices | None, new: MarketPrices) -> MarketPrices:
    """`new`, extended by the slots of `old` that it does not cover where the two touch or
    overlap (a source that returns less than before does not take known slots away)."""
    if old is None or old.source != new.source:
        return new
    a, b = old.quarters(), new.quarters()
    if a.end_utc < b.start_utc or b.end_utc < a.start_utc:
        return new
    start = min(a.start_utc, b.start_utc)
    n = round((max(a.end_utc, b.end_utc) - start) / SLOT_S)
    values = []
    for i in range(n):
        t = start + i * SLOT_S
        j = b.index(t)
        if j is not None:
            values.append(b.market_eur_kwh[j])
            continue
        k = a.index(t)
        assert k is not None  # the two overlap or touch: every slot is in one of them
        values.append(a.market_eur_kwh[k])
    return msgspec.structs.replace(b, start_utc=start, market_eur_kwh=values)


class PriceFeed:
    """Holds the current Prices of one source and keeps them fresh until `stop` is set."""

    def __init__(self, source: PriceSource, tariff: Tariff, *,
                 cache_dir: str | Path | None = None, refresh_s: float = 3600.0,
                 stale_after_s: float = 129_600.0, timeout_s: float = 30.0,
                 horizon_s: float = HORIZON_S, retry_min_s: float = RETRY_MIN_S,
                 clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = random.random,
                 on_change: Callable[[Prices], None] | None = None,
                 tz: str = "Europe/Amsterdam") -> None:
        self.source = source
        self.tariff = tariff
        self.tz = tz  # the local date that ends net metering (tariff.net_metering_until)
        self.cache_path = (Path(cache_dir).expanduser() / f"prices-{source.name}.json"
                           if cache_dir is not None else None)
        self.refresh_s = refresh_s
        self.stale_after_s = stale_after_s
        self.timeout_s = timeout_s
        self.horizon_s = horizon_s
        self.retry_min_s = retry_min_s
        self.clock = clock  # UTC epoch seconds: prices are stamped in UTC, not monotonic time
        self.jitter = jitter
        self.on_change = on_change
        self.market: MarketPrices | None = None
        self.prices: Prices | None = None  # the newest prices, whatever their age
        self.failures = 0                   # failed fetches since the last good one
        self.last_error: str | None = None
        self._usable: bool | None = None   # what current() said last, to log changes only

    @classmethod
    def from_config(cls, cfg: Config, **kw: Any) -> PriceFeed | None:
        """The feed of [prices] and [tariff], or None for `source = "none"`."""
        source = build_source(cfg)
        if source is None:
            return None
        p = cfg.prices
        return cls(source, cfg.tariff, cache_dir=p.cache_dir, refresh_s=p.refresh_s,
                   stale_after_s=p.stale_after_s, timeout_s=p.timeout_s, tz=cfg.site.timezone, **kw)

    # -- what the planner asks -------------------------------------------------------------
    def current(self, now_utc: float | None = None) -> Prices | None:
        """The prices when they cover `now_utc` and were fetched within stale_after_s; else
        None, and the caller plans plain self-consumption."""
        now = self.clock() if now_utc is None else now_utc
        p = self.prices
        why = None
        if p is None:
            why = "no prices yet"
        elif p.index(now) is None:
            why = "the prices do not cover now"
        elif now - p.fetched_utc > self.stale_after_s:
            why = f"the prices are {(now - p.fetched_utc) / 3600:.1f} h old"
        usable = why is None
        if usable != self._usable:
            self._usable = usable
            if usable:
                log.info("prices: in use (%s, until %s)", p.source if p else "",
                         _iso(p.end_utc) if p else "")
            else:
                log.warning("prices: none in use: %s; planning plain self-consumption", why)
        return p if usable else None

    # -- the cache ---------------------------------------------------------------------------
    def load_cache(self) -> bool:
        """Take the cached prices of an earlier run, if any are readable; True if so."""
        if self.cache_path is None:
            return False
        try:
            narrow(self.cache_path)
            cache = _DECODER.decode(self.cache_path.read_bytes())
            if cache.version != CACHE_VERSION or cache.source != self.source.name:
                raise ValueError("written by another version or source")
            market = cache.market.check()
            self._take(market)
        except FileNotFoundError:
            return False
        except (OSError, ValueError, msgspec.DecodeError) as exc:
            log.warning("prices: cache %s ignored: %s", self.cache_path, exc)
            return False
        log.info("prices: cache loaded (%s, fetched %s, until %s)", market.source,
                 _iso(market.fetched_utc), _iso(market.end_utc))
        return True

    def _save_cache(self, market: MarketPrices) -> None:
        assert self.cache_path is not None
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_path.with_name(self.cache_path.name + ".tmp")
        with os.fdopen(open_private(tmp), "wb") as f:  # 0600; os.replace keeps the mode
            f.write(_ENCODER.encode(_Cache(CACHE_VERSION, self.source.name, market)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.cache_path)  # atomic: a reader sees the old file or the new one

    # -- fetching ---------------------------------------------------------------------------
    def _take(self, market: MarketPrices) -> None:
        changed = self.market is None or market.start_utc != self.market.start_utc or \
            market.market_eur_kwh != self.market.market_eur_kwh
        self.market = market
        self.prices = apply_tariff(market, self.tariff, self.tz)
        if changed and self.on_change is not None:
            try:
                self.on_change(self.prices)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the feed
                log.exception("prices: on_change failed")

    async def refresh(self) -> bool:
        """One fetch under timeout_s; True when it brought usable prices. A failure keeps
        what we have and is logged once per episode, with its end."""
        now = self.clock()
        start = math.floor(now / SLOT_S) * SLOT_S
        try:
            async with asyncio.timeout(self.timeout_s):
                market = await self.source.fetch(start, start + self.horizon_s)
            market = merge(self.market, market.check())
        except Exception as exc:  # noqa: BLE001 - any source failure is one more retry
            self.failures += 1
            self.last_error = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError):
                self.last_error = f"no answer within {self.timeout_s:g} s"
            if self.failures == 1:
                kept = f"keeping prices until {_iso(self.prices.end_utc)}" if self.prices \
                    else "no prices"
                log.warning("prices: fetch from %s failed: %s; %s; retrying with backoff",
                            self.source.name, self.last_error, kept)
            else:
                log.debug("prices: fetch %d failed: %s", self.failures, self.last_error)
            return False
        if self.failures:
            log.info("prices: fetch from %s works again after %d failed tries",
                     self.source.name, self.failures)
        self.failures = 0
        self.last_error = None
        self._take(market)
        if self.cache_path is not None:
            try:
                await asyncio.to_thread(self._save_cache, market)
            except OSError as exc:
                log.warning("prices: cache %s not written: %s", self.cache_path, exc)
        return True

    def next_delay_s(self) -> float:
        """Seconds to the next fetch: refresh_s after a good one, else a jittered backoff."""
        if not self.failures:
            return self.refresh_s
        base = min(self.refresh_s, self.retry_min_s * 2.0 ** (self.failures - 1))
        return base * (0.5 + 0.5 * self.jitter())

    async def run(self, stop: asyncio.Event) -> None:
        """Load the cache, then fetch until `stop` is set (the task `v2h.prices.feed`)."""
        if self.prices is None:
            self.load_cache()
        while not stop.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.next_delay_s())


def _iso(t_utc: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(t_utc))
