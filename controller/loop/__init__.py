"""The live controller (`v2h run`): start and safe stop, the 1-s cycle, the grid watch, the
charger's control confirmed, the energy counted; the decisions are the core's."""

from ._charger import ChargerLink
from ._controller import GRID_POLL_S, Controller
from ._meter import MeterLink
from ._timing import latency_ms, stats

__all__ = ["GRID_POLL_S", "ChargerLink", "Controller", "MeterLink", "latency_ms", "stats"]
