"""The plan: per 15-minute slot, what the step should aim for, from day-ahead prices, the
expected house demand, the car's departures and the battery's wear (an LP solved by HiGHS)."""

from ._build import build, extend_prices, schedule
from ._forecast import Forecaster
from ._lp import LpResult, solve_lp
from ._model import SLOT_S, Car, Flows, Problem, Target, bill_eur, cost_eur
from ._planner import Result, Slot, decide, execute, plan
from ._residual import import_share, move_w, placed, residual_w, step_plan

__all__ = [
    "SLOT_S", "Car", "Flows", "Forecaster", "LpResult", "Problem", "Result",
    "Slot", "Target", "bill_eur", "build", "cost_eur", "decide", "execute", "extend_prices",
    "import_share", "move_w", "placed", "plan", "residual_w", "schedule", "solve_lp",
    "step_plan",
]
