"""Prices from a local file that something else keeps current (a cron job, another tool):
CSV or JSON as described in `_payload`, read anew at every fetch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from ._model import MarketPrices, PriceError
from ._payload import MAX_BYTES, parse_csv, parse_json


def read_file(path: Path, fetched_utc: float) -> MarketPrices:
    """The market prices in a CSV or (by its `.json` suffix) JSON file."""
    source = f"file {path}"
    if path.stat().st_size > MAX_BYTES:
        raise PriceError(source, "file is too large for a price series")
    if path.suffix.lower() == ".json":
        return parse_json(path.read_bytes(), source=source, fetched_utc=fetched_utc)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PriceError(source, f"not UTF-8 text: {exc}") from None
    return parse_csv(text, source=source, fetched_utc=fetched_utc)


class FileSource:
    """The `file` source: [prices] file = PATH (CSV or .json)."""

    name = "file"

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path).expanduser()
        self.clock = clock

    async def fetch(self, start_utc: float, end_utc: float) -> MarketPrices:
        # a thread: an SD card or a network mount can stall, and the loop must not
        prices = await asyncio.to_thread(read_file, self.path, self.clock())
        return prices.clip(start_utc, end_utc)
