"""Price series on a fixed slot grid: the raw market (MarketPrices) and what the household
pays and earns (Prices). Times are UTC epoch seconds; prices EUR per kWh."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import msgspec

SLOT_S = 900  # the Dutch day-ahead market's product since 2025-10-01: 15 minutes
SLOT_LENGTHS = (900, 1800, 3600)  # what sources deliver; all are expanded to SLOT_S


class PriceError(ValueError):
    """A price series or payload that cannot be used; `source` names where it came from."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message
        super().__init__(f"{source}: {message}")


def _index(start_utc: float, slot_s: int, n: int, t_utc: float) -> int | None:
    if not n or t_utc < start_utc:
        return None
    i = int((t_utc - start_utc) // slot_s)
    return i if i < n else None


class MarketPrices(msgspec.Struct, frozen=True, kw_only=True):
    """The day-ahead market price per slot, EUR/kWh excl. VAT (negative when the market
    pays for taking power). Slots are contiguous from `start_utc` (epoch s), `slot_s` long."""

    start_utc: float
    slot_s: int = SLOT_S
    market_eur_kwh: list[float]
    source: str = ""
    fetched_utc: float = 0.0

    @property
    def end_utc(self) -> float:
        """The end of the last slot (epoch s)."""
        return self.start_utc + self.slot_s * len(self.market_eur_kwh)

    def index(self, t_utc: float) -> int | None:
        """The slot that contains `t_utc`, or None outside the series."""
        return _index(self.start_utc, self.slot_s, len(self.market_eur_kwh), t_utc)

    def check(self) -> MarketPrices:
        """This series if it is usable, else PriceError saying why (empty, NaN, slot grid)."""
        src = self.source or "prices"
        if self.slot_s not in SLOT_LENGTHS:
            raise PriceError(src, f"slot_s must be one of {SLOT_LENGTHS}, got {self.slot_s}")
        if not math.isfinite(self.start_utc) or self.start_utc % SLOT_S:
            raise PriceError(src, f"start_utc {self.start_utc} is not on a 15-minute boundary")
        if not self.market_eur_kwh:
            raise PriceError(src, "no prices")
        for i, p in enumerate(self.market_eur_kwh):
            # -10..+10 EUR/kWh holds the EU harmonised market limits (-0.5 and +4 EUR/kWh)
            if not isinstance(p, int | float) or not math.isfinite(p) or abs(p) > 10.0:
                raise PriceError(src, f"price {i} is not a plausible EUR/kWh value: {p!r}")
        return self

    def clip(self, start_utc: float, end_utc: float) -> MarketPrices:
        """The slots that overlap [start_utc, end_utc); PriceError when none do."""
        n = len(self.market_eur_kwh)
        first = max(0, int((start_utc - self.start_utc) // self.slot_s))
        last = min(n, math.ceil((end_utc - self.start_utc) / self.slot_s))
        if first >= last:
            raise PriceError(self.source or "prices", "no prices in the requested period")
        if (first, last) == (0, n):
            return self
        return msgspec.structs.replace(self, start_utc=self.start_utc + first * self.slot_s,
                                       market_eur_kwh=self.market_eur_kwh[first:last])

    def quarters(self) -> MarketPrices:
        """The same prices on 15-minute slots: each longer slot's price held over its
        quarters (an hourly price applies to all four)."""
        if self.slot_s == SLOT_S:
            return self
        k = self.slot_s // SLOT_S
        return msgspec.structs.replace(
            self, slot_s=SLOT_S, market_eur_kwh=[p for p in self.market_eur_kwh for _ in range(k)])


class Prices(msgspec.Struct, frozen=True, kw_only=True):
    """What the household pays per kWh imported and gets per kWh exported, EUR/kWh with
    tariff and VAT applied, per 15-minute slot from `start_utc` (epoch s)."""

    start_utc: float
    slot_s: int = SLOT_S
    import_eur_kwh: list[float]
    export_eur_kwh: list[float]
    source: str = ""
    fetched_utc: float = 0.0

    def __post_init__(self) -> None:
        if len(self.import_eur_kwh) != len(self.export_eur_kwh):
            raise PriceError(self.source or "prices", "import and export differ in length")

    @property
    def end_utc(self) -> float:
        """The end of the last slot (epoch s)."""
        return self.start_utc + self.slot_s * len(self.import_eur_kwh)

    def index(self, t_utc: float) -> int | None:
        """The slot that contains `t_utc`, or None outside the series."""
        return _index(self.start_utc, self.slot_s, len(self.import_eur_kwh), t_utc)

    def window(self, t_utc: float, horizon_s: float) -> Prices:
        """The slots from the one containing `t_utc` to `t_utc + horizon_s` (a slot that
        starts before that end is included); fewer when the prices end, none outside."""
        i = self.index(t_utc)
        if i is None:
            return msgspec.structs.replace(self, start_utc=self.end_utc if t_utc >= self.start_utc
                                           else self.start_utc, import_eur_kwh=[],
                                           export_eur_kwh=[])
        start = self.start_utc + i * self.slot_s
        n = max(1, math.ceil((t_utc + horizon_s - start) / self.slot_s))
        return msgspec.structs.replace(self, start_utc=start,
                                       import_eur_kwh=self.import_eur_kwh[i:i + n],
                                       export_eur_kwh=self.export_eur_kwh[i:i + n])


def from_points(points: Mapping[float, float], *, source: str, fetched_utc: float,
                start_utc: float | None = None, end_utc: float | None = None,
                slot_s: int | None = None) -> MarketPrices:
    """A MarketPrices from {slot start (epoch s): EUR/kWh}, as the clients return them.

    The slot length is `slot_s` or the smallest step between starts; points outside
    [start_utc, end_utc) are dropped, and the series ends at its first gap (the plan
    uses what is contiguous from now rather than guessing a missing slot)."""
    pts = sorted((t, p) for t, p in points.items()
                 if (start_utc is None or t >= start_utc - (slot_s or 3600) + 1)
                 and (end_utc is None or t < end_utc))
    if not pts:
        raise PriceError(source, "no prices in the requested period")
    if slot_s is None:
        steps = {round(b[0] - a[0]) for a, b in zip(pts, pts[1:])}
        slot_s = min(steps) if steps else 3600
    if slot_s not in SLOT_LENGTHS:
        raise PriceError(source, f"prices are {slot_s} s apart, expected one of {SLOT_LENGTHS}")
    # a slot that started before start_utc but still runs at start_utc is kept
    pts = [(t, p) for t, p in pts if start_utc is None or t + slot_s > start_utc]
    if not pts:
        raise PriceError(source, "no prices in the requested period")
    values = [pts[0][1]]
    for (t0, _), (t1, p) in zip(pts, pts[1:]):
        if round(t1 - t0) != slot_s:
            break
        values.append(p)
    return MarketPrices(start_utc=pts[0][0], slot_s=slot_s, market_eur_kwh=values,
                        source=source, fetched_utc=fetched_utc).check()


def days_around(start_utc: float, end_utc: float) -> tuple[date, date]:
    """The calendar days to ask a client for: they take dates in the machine's local time,
    so a day of margin either side covers any time zone; the rest is cut off afterwards."""
    first = datetime.fromtimestamp(start_utc, UTC).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end_utc, UTC).date() + timedelta(days=1)
    return first, last
