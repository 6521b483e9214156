"""The energy contract without a market price: what one kWh imported costs and one exported
earns at any minute, from [tariff] alone (fixed, double tariff by local weekday and hour,
variable per month). A "dynamic" contract prices by the day-ahead market instead (the feed);
here it gives no price. Definitions: firmware_notes/ledger.md, "Contracts"."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from controller.config import Config, Tariff, WeekHour, low_hours

from ._model import PriceError
from ._monthly import read_monthly

log = logging.getLogger("v2h.prices")


def net_metering_on(tariff: Tariff, day: date) -> bool:
    """Whether an exported kWh on this local day earns the import price (net metering, NL
    until 2027-01-01: from that day on it earns the feed-in side only)."""
    until = tariff.net_metering_until
    return tariff.net_metering and (until is None or day < until)


def with_tax(supply_eur_kwh: float, tariff: Tariff) -> float:
    """EUR/kWh paid: the supply price and the energy tax, then VAT over the sum."""
    return (supply_eur_kwh + tariff.energy_tax_eur_kwh) * (1.0 + tariff.vat_pct / 100.0)


class Contract:
    """Prices per minute from [tariff]: `price_at(t_utc)` -> (import, export) EUR/kWh, or None
    where the contract sets none (a "dynamic" contract; a month missing from the file)."""

    def __init__(self, tariff: Tariff, tz: str = "Europe/Amsterdam",
                 monthly: dict[str, float] | None = None) -> None:
        self.tariff = tariff
        self.kind = tariff.contract
        self.tz = ZoneInfo(tz)
        self.monthly = monthly or {}
        self._low: set[WeekHour] = set()
        if self.kind == "double":
            low, problems = low_hours(tariff.normal_hours, tariff.low_hours)
            if low is None:  # the config's checks refuse these; a Tariff built by hand may not
                raise ValueError("; ".join(f"{k}: {m}" for k, m in problems))
            self._low = low

    @classmethod
    def from_config(cls, cfg: Config) -> Contract:
        """The contract of a config; a variable one reads its monthly file (PriceError or
        OSError when it cannot)."""
        t = cfg.tariff
        monthly = read_monthly(t.monthly_file) if t.contract == "variable" and \
            t.monthly_file else None
        return cls(t, cfg.site.timezone, monthly)

    @property
    def gives_prices(self) -> bool:
        """False for "dynamic": its prices come from the market, minute by minute."""
        return self.kind != "dynamic"

    def supply_at(self, local: datetime) -> float | None:
        """The supply rate (EUR/kWh excl. VAT and tax) at this local time, or None."""
        t = self.tariff
        if self.kind == "fixed":
            return t.rate_eur_kwh
        if self.kind == "double":
            low = (local.weekday(), local.hour) in self._low
            return t.low_eur_kwh if low else t.normal_eur_kwh
        if self.kind == "variable":
            return self.monthly.get(f"{local.year:04d}-{local.month:02d}")
        return None

    def describe(self) -> list[str]:
        """The contract in a few lines for the statement (rates excl. VAT and energy tax
        unless named)."""
        t = self.tariff
        tax = (f"plus energy tax EUR {t.energy_tax_eur_kwh:.5f}/kWh, then VAT "
               f"{t.vat_pct:g} %")
        if self.kind == "fixed":
            head = [f"fixed price: supply EUR {t.rate_eur_kwh or 0.0:.5f}/kWh, {tax}"]
        elif self.kind == "double":
            head = [f"double tariff: normal (T2) EUR {t.normal_eur_kwh or 0.0:.5f}/kWh, "
                    f"low (T1) EUR {t.low_eur_kwh or 0.0:.5f}/kWh, {tax}",
                    f"normal hours {', '.join(t.normal_hours)}; low hours "
                    f"{', '.join(t.low_hours)} (local time, {self.tz.key})"]
        elif self.kind == "variable":
            months = ", ".join(f"{m} EUR {r:.5f}" for m, r in sorted(self.monthly.items())[-3:])
            head = [f"variable price per month ({t.monthly_file}): supply {months or 'none'} "
                    f"per kWh, {tax}"]
        else:
            head = [f"dynamic (day-ahead market): market + margin EUR "
                    f"{t.supplier_margin_eur_kwh:.5f}/kWh, {tax}"]
        feed = (f"feed-in: EUR {t.feed_in_fee_eur_kwh:.5f}/kWh paid, EUR "
                f"{t.feed_in_cost_eur_kwh:.5f}/kWh billed"
                + (" on top of the market" if self.kind == "dynamic" else ""))
        if t.net_metering:
            until = (f" until {t.net_metering_until.isoformat()}"
                     if t.net_metering_until is not None else "")
            feed += f"; net metering{until} (an exported kWh earns the import price)"
        return [*head, feed]

    def price_at(self, t_utc: float) -> tuple[float, float] | None:
        """(import, export) EUR/kWh at UTC time t_utc (Unix s), or None."""
        local = datetime.fromtimestamp(t_utc, self.tz)
        supply = self.supply_at(local)
        if supply is None:
            return None
        t = self.tariff
        imp = with_tax(supply, t)
        if net_metering_on(t, local.date()):
            return imp, imp
        return imp, t.feed_in_fee_eur_kwh - t.feed_in_cost_eur_kwh


def contract_or_none(cfg: Config) -> Contract | None:
    """The live controller's contract when it sets prices itself, else None (dynamic); a
    variable contract whose file cannot be read is logged and prices nothing (the minutes
    stay without a price in the ledger, and are shown so in the report)."""
    if cfg.tariff.contract == "dynamic":
        return None
    try:
        return Contract.from_config(cfg)
    except (OSError, PriceError, ValueError) as exc:
        log.error("prices: the %s contract gives no prices: %s", cfg.tariff.contract, exc)
        return None
