"""The price feed: cache, staleness, failures, backoff and the fallback to None, on a fake
clock with a scripted source."""

from __future__ import annotations

import asyncio
import logging
import math
import os

import msgspec
import pytest

from controller.config import Tariff, defaults
from controller.prices import MarketPrices, PriceError, PriceFeed, apply_tariff, recorded
from controller.prices._feed import merge
from controller.prices._file import FileSource
from tests.helpers import Clock

DEC = recorded("nl-2025-12-16-to-18-quarter")
T0 = DEC.start_utc
HOUR = 3600.0




class Script:
    """A source that answers from a list: MarketPrices, an exception, or "hang"."""

    name = "script"

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[float, float]] = []

    async def fetch(self, start_utc: float, end_utc: float) -> MarketPrices:
        self.calls.append((start_utc, end_utc))
        a = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if a == "hang":
            await asyncio.sleep(3600)
        if isinstance(a, BaseException):
            raise a
        assert isinstance(a, MarketPrices)
        return a


def market(fetched_utc: float, start: float = T0, n: int = 96,
           scale: float = 1.0) -> MarketPrices:
    """The recorded December prices as the script source would have fetched them."""
    i = round((start - T0) / 900)
    return MarketPrices(start_utc=start, market_eur_kwh=[p * scale for p in
                                                         DEC.market_eur_kwh[i:i + n]],
                        source="script", fetched_utc=fetched_utc)


def feed(source: Script, clock: Clock, tmp_path=None, **kw) -> PriceFeed:
    kw.setdefault("stale_after_s", 36 * HOUR)
    return PriceFeed(source, defaults().tariff, cache_dir=tmp_path, clock=clock,
                     jitter=lambda: 1.0, **kw)


class TestCurrent:
    async def test_current_covers_now_and_fresh(self):
        """Fetched prices covering now are current, with the tariff applied."""
        clock = Clock(T0 + 600)
        f = feed(Script(market(T0)), clock)
        assert f.current() is None  # nothing fetched yet
        assert await f.refresh()
        p = f.current()
        assert p is not None and p == apply_tariff(market(T0), defaults().tariff)
        assert f.current(T0 + 96 * 900 - 1) is p

    async def test_current_none_outside_the_prices(self):
        """Before the first slot and from the end of the last one: None."""
        f = feed(Script(market(T0)), Clock(T0))
        await f.refresh()
        assert f.current(T0 - 1) is None
        assert f.current(T0 + 96 * 900) is None

    async def test_current_none_when_stale(self):
        """Fetched longer ago than stale_after_s: None, even where slots remain."""
        clock = Clock(T0)
        f = feed(Script(market(T0 - 30 * HOUR, n=288)), clock, stale_after_s=36 * HOUR)
        await f.refresh()
        assert f.current(T0 + 6 * HOUR) is not None
        assert f.current(T0 + 6 * HOUR + 1) is None

    async def test_current_logs_each_change_once(self, caplog):
        """Losing and regaining current prices is logged once each, not per call."""
        f = feed(Script(market(T0)), Clock(T0))
        caplog.set_level(logging.INFO, "v2h.prices")
        for _ in range(3):
            f.current(T0)
        await f.refresh()
        for _ in range(3):
            f.current(T0)
        msgs = [r.getMessage() for r in caplog.records if "in use" in r.getMessage()]
        assert len(msgs) == 2
        assert "none in use: no prices yet; planning plain self-consumption" in msgs[0]
        assert msgs[1].startswith("prices: in use (script")


class TestCache:
    async def test_cache_round_trip(self, tmp_path):
        """A good fetch is cached; a new feed loads it at start, before any fetch."""
        f = feed(Script(market(T0)), Clock(T0), tmp_path)
        await f.refresh()
        assert [p.name for p in tmp_path.iterdir()] == ["prices-script.json"]  # no .tmp left
        g = feed(Script(OSError("offline")), Clock(T0 + HOUR), tmp_path)
        assert g.load_cache()
        assert g.prices == f.prices and g.current() == f.prices

    async def test_cache_file_is_private(self, tmp_path):
        """The cache is written 0600 whatever the umask; an old wider one is narrowed."""
        old = os.umask(0o022)
        try:
            await feed(Script(market(T0)), Clock(T0), tmp_path).refresh()
        finally:
            os.umask(old)
        cache = tmp_path / "prices-script.json"
        assert cache.stat().st_mode & 0o777 == 0o600
        cache.chmod(0o644)
        assert feed(Script(OSError()), Clock(T0), tmp_path).load_cache()
        assert cache.stat().st_mode & 0o777 == 0o600

    async def test_cache_round_trip_with_the_file_source(self, tmp_path):
        """A real source, whose prices name more than its config name (the path), too."""
        path = tmp_path / "p.csv"
        path.write_text("start_utc,end_utc,market_eur_per_kwh\n"
                        f"{T0},{T0 + 900},0.1\n{T0 + 900},{T0 + 1800},0.2\n")
        f = PriceFeed(FileSource(path), Tariff(), cache_dir=tmp_path, clock=Clock(T0))
        assert await f.refresh()
        path.unlink()
        g = PriceFeed(FileSource(path), Tariff(), cache_dir=tmp_path, clock=Clock(T0 + 1000))
        assert g.load_cache() and not await g.refresh()
        assert g.current() == f.prices and g.market == f.market

    async def test_cache_holds_market_prices_the_tariff_is_applied_at_load(self, tmp_path):
        """A changed [tariff] applies to cached prices too (the cache is the market)."""
        await feed(Script(market(T0)), Clock(T0), tmp_path).refresh()
        t = Tariff(vat_pct=9.0, net_metering=True)
        g = PriceFeed(Script(OSError()), t, cache_dir=tmp_path, clock=Clock(T0))
        assert g.load_cache()
        assert g.prices == apply_tariff(market(T0), t)

    @pytest.mark.parametrize("content", [b"{not json", b'{"version": 2}', b"",
                                         b'{"version": 99, "source": "script", "market": '
                                         b'{"start_utc": 0, "market_eur_kwh": [1.0]}}',
                                         b'{"version": 2, "source": "entsoe", "market": '
                                         b'{"start_utc": 0, "market_eur_kwh": [1.0]}}'])
    async def test_cache_unreadable_is_ignored(self, tmp_path, caplog, content):
        """A damaged or foreign cache file: a warning, no prices, no crash."""
        (tmp_path / "prices-script.json").write_bytes(content)
        f = feed(Script(OSError()), Clock(T0), tmp_path)
        assert not f.load_cache() and f.prices is None and f.current() is None
        assert any("cache" in r.getMessage() and "ignored" in r.getMessage()
                   for r in caplog.records)

    async def test_cache_nan_in_file_is_ignored(self, tmp_path):
        """A cache whose prices fail the checks is not used."""
        body = {"version": 2, "source": "script", "market": msgspec.to_builtins(market(T0))}
        body["market"]["market_eur_kwh"][3] = 1e300
        (tmp_path / "prices-script.json").write_bytes(msgspec.json.encode(body))
        assert not feed(Script(OSError()), Clock(T0), tmp_path).load_cache()

    async def test_cache_missing_is_quiet(self, tmp_path, caplog):
        """No cache yet (first start): no prices, no warning."""
        assert not feed(Script(OSError()), Clock(T0), tmp_path).load_cache()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


class TestFailures:
    async def test_failure_keeps_cached_prices(self, tmp_path, caplog):
        """Fetches that fail leave the cached prices in use; one warning for the episode
        and one line when it ends."""
        await feed(Script(market(T0)), Clock(T0), tmp_path).refresh()
        src = Script(OSError("network down"), OSError("network down"), PriceError("x", "bad"),
                     market(T0 + HOUR))
        f = feed(src, Clock(T0 + HOUR), tmp_path)
        f.load_cache()
        before = f.prices
        caplog.set_level(logging.DEBUG, "v2h.prices")
        for _ in range(3):
            assert not await f.refresh()
            assert f.prices is before and f.current() is before
        assert f.failures == 3 and f.last_error == "x: bad"
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "fetch from script failed: network down; keeping prices until" in warnings[0]
        assert await f.refresh()
        assert f.failures == 0 and f.prices is not before
        assert any("works again after 3 failed tries" in r.getMessage() for r in caplog.records)

    async def test_failure_timeout_is_a_failure(self):
        """A source that never answers is cut off after timeout_s."""
        f = feed(Script("hang"), Clock(T0), timeout_s=0.05)
        assert not await f.refresh()
        assert f.last_error == "no answer within 0.05 s" and f.prices is None

    async def test_failure_bad_prices_rejected(self):
        """A source that returns NaN prices fails the fetch; nothing is taken."""
        bad = msgspec.structs.replace(market(T0), market_eur_kwh=[math.nan] * 4)
        f = feed(Script(bad), Clock(T0))
        assert not await f.refresh()
        assert f.prices is None and "price 0" in (f.last_error or "")

    def test_backoff_doubles_to_refresh_s(self):
        """After failures: retry_min_s doubling, jittered down to half, at most refresh_s."""
        f = PriceFeed(Script(OSError()), Tariff(), refresh_s=600.0, retry_min_s=30.0,
                      jitter=lambda: 1.0)
        assert f.next_delay_s() == 600.0
        delays = []
        for n in range(1, 7):
            f.failures = n
            delays.append(f.next_delay_s())
        assert delays == [30.0, 60.0, 120.0, 240.0, 480.0, 600.0]
        f.jitter = lambda: 0.0
        assert f.next_delay_s() == 300.0


class TestFetch:
    async def test_fetch_asks_from_the_current_slot(self):
        """The period asked for starts at the slot of now and spans horizon_s."""
        src = Script(market(T0))
        await feed(src, Clock(T0 + 1000), horizon_s=2 * 86_400).refresh()
        assert src.calls == [(T0 + 900, T0 + 900 + 2 * 86_400)]

    async def test_fetch_shorter_answer_keeps_known_slots(self):
        """A later answer that ends earlier does not take known slots away; new values win."""
        f = feed(Script(market(T0, n=96), market(T0 + HOUR, start=T0 + 4 * 900, n=8,
                                                  scale=2.0)), Clock(T0))
        await f.refresh()
        await f.refresh()
        assert f.market is not None and len(f.market.market_eur_kwh) == 96
        assert f.market.market_eur_kwh[4:12] == [2 * p for p in DEC.market_eur_kwh[4:12]]
        assert f.market.market_eur_kwh[12:] == DEC.market_eur_kwh[12:96]
        assert f.market.fetched_utc == T0 + HOUR

    def test_merge_apart_takes_the_new(self):
        """Series that do not touch are not joined: the new one alone."""
        new = market(T0 + 86_400, start=T0 + 2 * 86_400, n=4)
        assert merge(market(T0, n=4), new) is new

    async def test_on_change_called_for_new_prices_only(self):
        """on_change gets the Prices when they change; a failing listener is logged."""
        seen = []

        def listen(p):
            seen.append(p)
            raise RuntimeError("listener bug")

        f = feed(Script(market(T0), market(T0), market(T0, scale=0.5)), Clock(T0),
                 on_change=listen)
        for _ in range(3):
            assert await f.refresh()
        assert len(seen) == 2 and seen[1] is f.prices


class TestRun:
    async def test_run_retries_then_gets_prices_and_stops(self, tmp_path):
        """run: loads the cache, retries with backoff until a fetch works, stops on request."""
        src = Script(OSError("a"), OSError("b"), market(T0))
        f = feed(src, Clock(T0), tmp_path, refresh_s=0.2, retry_min_s=0.01)
        stop = asyncio.Event()
        task = asyncio.create_task(f.run(stop), name="v2h.prices.feed")
        async with asyncio.timeout(5):
            while f.prices is None:
                await asyncio.sleep(0.01)
        assert len(src.calls) == 3 and f.current() is not None
        stop.set()
        async with asyncio.timeout(1):
            await task
        assert (tmp_path / "prices-script.json").exists()

    def test_from_config(self, tmp_path):
        """source = "none": no feed; otherwise the feed of [prices] and [tariff]."""
        assert PriceFeed.from_config(defaults()) is None
        cfg = defaults(("prices.source=file", f"prices.file={tmp_path}/p.csv",
                        f"prices.cache_dir={tmp_path}", "prices.refresh_s=900",
                        "tariff.vat_pct=9"))
        f = PriceFeed.from_config(cfg)
        assert f is not None and f.source.name == "file" and f.refresh_s == 900.0
        assert f.cache_path == tmp_path / "prices-file.json" and f.tariff.vat_pct == 9.0
