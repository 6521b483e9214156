"""From the market price to what the household pays and earns: the tariff of the config."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from controller.config import Tariff

from ._contract import net_metering_on
from ._model import MarketPrices, Prices


def import_price(market_eur_kwh: float, tariff: Tariff) -> float:
    """EUR/kWh paid for one kWh taken from the grid: market, supplier margin and energy tax,
    then VAT over the sum (Dutch energy tax is itself subject to VAT)."""
    excl = market_eur_kwh + tariff.supplier_margin_eur_kwh + tariff.energy_tax_eur_kwh
    return excl * (1.0 + tariff.vat_pct / 100.0)


def export_price(market_eur_kwh: float, tariff: Tariff, net_metering: bool | None = None
                 ) -> float:
    """EUR/kWh earned for one kWh fed in. Under net metering (NL until 2027-01-01) an exported
    kWh cancels an imported one, so it earns the import price. After that, the market price
    plus the supplier's feed-in fee minus its feed-in cost, without VAT: a household is no
    VAT payer for the power it sells (KOR), and the fee and cost are entered as billed.
    `net_metering` says whether it is in force (default: tariff.net_metering)."""
    if tariff.net_metering if net_metering is None else net_metering:
        return import_price(market_eur_kwh, tariff)
    return market_eur_kwh + tariff.feed_in_fee_eur_kwh - tariff.feed_in_cost_eur_kwh


def apply_tariff(market: MarketPrices, tariff: Tariff, tz: str = "Europe/Amsterdam") -> Prices:
    """Import and export prices per 15-minute slot (longer market slots are held over their
    quarters), tariff and VAT applied; net metering in slots before tariff.net_metering_until
    (a local date in `tz`)."""
    q = market.quarters()
    zone = ZoneInfo(tz)
    starts = (q.start_utc + i * q.slot_s for i in range(len(q.market_eur_kwh)))
    netted = [net_metering_on(tariff, datetime.fromtimestamp(t, zone).date()) for t in starts]
    return Prices(start_utc=q.start_utc, slot_s=q.slot_s,
                  import_eur_kwh=[import_price(p, tariff) for p in q.market_eur_kwh],
                  export_eur_kwh=[export_price(p, tariff, n)
                                  for p, n in zip(q.market_eur_kwh, netted)],
                  source=q.source, fetched_utc=q.fetched_utc)
