"""Software-in-the-loop simulation: scenarios, the batch runner's driver, and scoring."""

from ._inputs import Inputs, build
from ._report import chart, table
from ._run import POLICIES, Run, make_plant, run_policy, score, simulate
from ._scenario import Event, Scenario, builtin_names, load, seconds_of_day

__all__ = [
    "POLICIES", "Event", "Inputs", "Run", "Scenario", "build", "builtin_names", "chart",
    "load", "make_plant", "run_policy", "score", "seconds_of_day", "simulate", "table",
]
