"""The two price formats we read: CSV (like the recorded data) and a JSON message (file or
MQTT). Both carry the market price excl. VAT; the tariff is applied by us, from the config.

CSV: a header with `start_utc`, `end_utc` and `market_eur_per_kwh` (or `base_eur_per_kwh`,
as in EnergyZero's own export); one row per slot, times ISO 8601 in UTC (`...Z`) or epoch
seconds, rows contiguous, all slots of one length (15, 30 or 60 minutes). Other columns are
ignored.

JSON: {"start_utc": epoch s, "end_utc": epoch s, "slot_s": 900, "market_eur_kwh": [...]};
`slot_s` defaults to 900, and the list must fill [start_utc, end_utc) exactly."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime

import msgspec

from ._model import MarketPrices, PriceError

PRICE_COLUMNS = ("market_eur_per_kwh", "base_eur_per_kwh")
MAX_BYTES = 1_000_000  # a week of 15-minute slots is 10 kB; anything far larger is not prices


class PriceMessage(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A price series on the wire: market EUR/kWh excl. VAT per slot of `slot_s` s."""

    start_utc: float
    end_utc: float
    slot_s: int = 900
    market_eur_kwh: list[float]


_DECODER = msgspec.json.Decoder(PriceMessage)


def _time(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return t.timestamp()


def parse_json(data: bytes, *, source: str, fetched_utc: float) -> MarketPrices:
    """A MarketPrices from a JSON PriceMessage; PriceError says what is wrong."""
    if len(data) > MAX_BYTES:
        raise PriceError(source, f"payload of {len(data)} bytes is too large")
    try:
        msg = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise PriceError(source, f"invalid price message: {exc}") from None
    span = msg.end_utc - msg.start_utc
    if msg.slot_s <= 0 or not math.isfinite(span):
        raise PriceError(source, "invalid start_utc, end_utc or slot_s")
    if span != msg.slot_s * len(msg.market_eur_kwh):
        raise PriceError(source, f"{len(msg.market_eur_kwh)} prices of {msg.slot_s} s do not "
                                 f"fill start_utc..end_utc ({span:g} s)")
    return MarketPrices(start_utc=msg.start_utc, slot_s=msg.slot_s,
                        market_eur_kwh=msg.market_eur_kwh, source=source,
                        fetched_utc=fetched_utc).check()


def parse_csv(text: str, *, source: str, fetched_utc: float) -> MarketPrices:
    """A MarketPrices from CSV rows; PriceError names the line of the first problem."""
    reader = csv.DictReader(io.StringIO(text))
    cols = reader.fieldnames or []
    col = next((c for c in PRICE_COLUMNS if c in cols), None)
    if col is None or "start_utc" not in cols or "end_utc" not in cols:
        raise PriceError(source, f"line 1: expected columns start_utc, end_utc and one of "
                                 f"{', '.join(PRICE_COLUMNS)}")
    start = slot = None
    prev_end = 0.0
    values: list[float] = []
    for row in reader:
        line = reader.line_num
        try:
            t0, t1, p = _time(row["start_utc"]), _time(row["end_utc"]), float(row[col])
        except (TypeError, ValueError, AttributeError) as exc:
            raise PriceError(source, f"line {line}: {exc}") from None
        if start is None:
            start, slot = t0, round(t1 - t0)
        elif t0 != prev_end:
            raise PriceError(source, f"line {line}: starts at {row['start_utc']}, not where "
                                     f"the previous slot ended")
        if round(t1 - t0) != slot:
            raise PriceError(source, f"line {line}: slot of {t1 - t0:g} s, the first was {slot} s")
        if not math.isfinite(p):
            raise PriceError(source, f"line {line}: price {row[col]!r} is not a number")
        prev_end = t1
        values.append(p)
    if start is None or slot is None:
        raise PriceError(source, "no prices")
    return MarketPrices(start_utc=start, slot_s=slot, market_eur_kwh=values, source=source,
                        fetched_utc=fetched_utc).check()
