"""`v2h assess`: does V2H suit this home, a home battery, or neither (issue #15). One
household folder or a portfolio of them, each simulated a year at 1 s per option
(firmware_notes/assessment.md)."""

from ._assess import assess, assess_home
from ._errors import AssessError
from ._household import Household, load
from ._inputs import Home, home_from_seconds, home_of
from ._options import Pass, run_options
from ._portfolio import assess_one, households, portfolio
from ._prices import slot_prices
from ._read import Series, read_series
from ._report import render, write

__all__ = [
    "AssessError", "Home", "Household", "Pass", "Series", "assess", "assess_home",
    "assess_one", "home_from_seconds", "home_of", "households", "load", "portfolio",
    "read_series", "render", "run_options", "slot_prices", "write",
]
