"""The flow split: six non-negative flows that add up to what was measured."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.ledger import FLOWS, split

POWER = st.floats(min_value=-100_000.0, max_value=100_000.0, allow_nan=False)


@given(grid=POWER, ev=POWER)
def test_split_adds_up_and_is_never_negative(grid, ev):
    """Import, export, charge and discharge are each the sum of their flows; none < 0."""
    f = split(grid, ev)
    assert all(x >= 0.0 for x in f)
    assert f.grid_to_car + f.grid_to_house == pytest.approx(max(grid, 0.0), abs=1e-9)
    assert f.car_to_grid + f.pv_to_grid == pytest.approx(max(-grid, 0.0), abs=1e-9)
    assert f.pv_to_car + f.grid_to_car == pytest.approx(max(ev, 0.0), abs=1e-9)
    assert f.car_to_house + f.car_to_grid == pytest.approx(max(-ev, 0.0), abs=1e-9)


def test_split_charging_with_import_takes_grid_first():
    """3 kW charging while importing 500 W: 500 W from the grid, the rest from PV."""
    assert split(500.0, 3000.0) == (2500.0, 500.0, 0.0, 0.0, 0.0, 0.0)


def test_split_charging_beyond_import_is_all_grid():
    """3 kW charging while importing 4 kW: all from the grid, 1 kW to the house."""
    assert split(4000.0, 3000.0) == (0.0, 3000.0, 0.0, 0.0, 1000.0, 0.0)


def test_split_discharging_with_export_car_exports_first():
    """3 kW discharging while exporting 1 kW: 1 kW car to grid, 2 kW to the house."""
    assert split(-1000.0, -3000.0) == (0.0, 0.0, 2000.0, 1000.0, 0.0, 0.0)


def test_split_small_discharge_under_pv_export():
    """500 W discharging while exporting 1 kW: the car's 500 W and 500 W of PV exported."""
    f = split(-1000.0, -500.0)
    assert (f.car_to_grid, f.pv_to_grid, f.car_to_house) == (500.0, 500.0, 0.0)


def test_split_names_follow_flows():
    """The NamedTuple's fields are FLOWS, in order."""
    assert split(0.0, 0.0)._fields == FLOWS
