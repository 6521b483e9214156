"""The six energy flows of one sample, from the two powers the controller measures: the grid
(W, + import) and the car (W, + charging). Load and PV are not measured, so the split rests
on two conventions, chosen so that the flows always add up to what was measured:

* charging: the grid feeds the car first, as far as the import goes; the rest is PV;
* discharging: the car is the exporter first, as far as the export goes; the rest of the
  car's power serves the house.

With I = max(grid, 0), X = max(-grid, 0), C = max(ev, 0), D = max(-ev, 0):

    grid_to_car = min(C, I)      pv_to_car    = C - grid_to_car
    car_to_grid = min(D, X)      car_to_house = D - car_to_grid
    grid_to_house = I - grid_to_car
    pv_to_grid    = X - car_to_grid

so grid_to_car + grid_to_house = I, car_to_grid + pv_to_grid = X, pv_to_car + grid_to_car =
C, car_to_house + car_to_grid = D, and none is negative (C and D are never both > 0)."""

from __future__ import annotations

from typing import NamedTuple

FLOWS = ("pv_to_car", "grid_to_car", "car_to_house", "car_to_grid", "grid_to_house",
         "pv_to_grid")


class Flows(NamedTuple):
    """Six non-negative powers (W) or energies (Wh), in the order of FLOWS."""

    pv_to_car: float
    grid_to_car: float
    car_to_house: float
    car_to_grid: float
    grid_to_house: float
    pv_to_grid: float


def split(grid_w: float, ev_w: float) -> Flows:
    """The six flows (W) of one sample of grid power and car power (W,
    signed as firmware_notes/design.md "Signs and units" says)."""
    imp = max(grid_w, 0.0)
    exp = max(-grid_w, 0.0)
    chg = max(ev_w, 0.0)
    dis = max(-ev_w, 0.0)
    grid_to_car = min(chg, imp)
    car_to_grid = min(dis, exp)
    return Flows(chg - grid_to_car, grid_to_car, dis - car_to_grid, car_to_grid,
                 imp - grid_to_car, exp - car_to_grid)
