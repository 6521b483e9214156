"""Planning problems on the recorded Dutch prices, as the simulator's scenarios pose them."""

from __future__ import annotations

import pytest

from controller import plan
from controller.sim._plan import scenario_problem


@pytest.fixture(params=["dynamic-tariff-day", "dynamic-tariff-winter"])
def recorded_problem(request) -> plan.Problem:
    return scenario_problem(request.param)
