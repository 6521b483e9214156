"""The one interface every price source implements, and the sources by config name.

A new source: a module `_<name>.py` with a class that has `name` and `fetch`, a builder
below that imports it when configured, and the name in PriceConfig.source's Literal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from controller.config import Config

from ._model import MarketPrices


class PriceSource(Protocol):
    """Day-ahead market prices, EUR/kWh excl. VAT, for slots that overlap [start_utc,
    end_utc) (epoch s); as many as are published (fewer near the end is normal). Raises
    PriceError (bad data) or an I/O error; the caller puts every fetch under a timeout."""

    name: str

    async def fetch(self, start_utc: float, end_utc: float) -> MarketPrices: ...


# Each builder imports its module when called: the HTTP clients bring aiohttp, and the
# ENTSO-E parser brings pandas, which an installation that does not use them need not load.
def _energyzero(cfg: Config) -> PriceSource:
    from ._energyzero import EnergyZeroSource

    return EnergyZeroSource()


def _easyenergy(cfg: Config) -> PriceSource:
    from ._easyenergy import EasyEnergySource

    return EasyEnergySource()


def _entsoe(cfg: Config) -> PriceSource:
    from ._entsoe import EntsoeSource

    assert cfg.prices.entsoe_token  # the config's cross-check requires it
    return EntsoeSource(cfg.prices.entsoe_token, cfg.prices.entsoe_area)


def _mqtt(cfg: Config) -> PriceSource:
    from ._mqtt import MqttSource

    assert cfg.prices.mqtt_topic
    return MqttSource(cfg.mqtt, cfg.prices.mqtt_topic, timeout_s=cfg.prices.timeout_s)


def _file(cfg: Config) -> PriceSource:
    from ._file import FileSource

    assert cfg.prices.file
    return FileSource(cfg.prices.file)


SOURCES: dict[str, Callable[[Config], PriceSource]] = {
    "energyzero": _energyzero, "easyenergy": _easyenergy, "entsoe": _entsoe, "mqtt": _mqtt,
    "file": _file,
}


def build_source(cfg: Config) -> PriceSource | None:
    """The configured source, or None for `source = "none"` (self-consumption only)."""
    if cfg.prices.source == "none":
        return None
    return SOURCES[cfg.prices.source](cfg)
