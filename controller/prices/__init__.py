"""Day-ahead prices: the market price from a configured source, the tariff around it, and a
feed that keeps them fresh and cached, or says there are none (then: self-consumption)."""

from ._contract import Contract, contract_or_none, net_metering_on, with_tax
from ._feed import PriceFeed
from ._file import read_file
from ._model import SLOT_S, MarketPrices, PriceError, Prices, from_points
from ._monthly import parse_monthly, read_monthly
from ._recorded import RECORDED, recorded
from ._source import SOURCES, PriceSource, build_source
from ._tariff import apply_tariff, export_price, import_price

__all__ = [
    "RECORDED", "SLOT_S", "SOURCES", "Contract", "MarketPrices", "PriceError", "PriceFeed",
    "PriceSource", "Prices", "apply_tariff", "build_source", "contract_or_none", "export_price",
    "from_points", "import_price", "net_metering_on", "parse_monthly", "read_file",
    "read_monthly", "recorded", "with_tax",
]
