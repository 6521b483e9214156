"""Where the residual goes (issue #12, point 3): what the loop cannot remove (a hob pulsing
faster than the charger can follow, the meter's noise) swings the grid about its target,
now importing, now exporting. Once a kWh fed in earns far less than one bought (the
Netherlands from 2027), where that swing sits costs money. The rule, in
`firmware_notes/regulation.md` ("Where the residual goes"):

- moving the target up by 1 W moves 1 W more into the car (or 1 W less out of it) and
  makes the grid import a share q of the time: it costs q x import price + (1 - q) x export
  price, and gains what 1 W-h in the car is worth at the meter (`value`: the LP's value of
  a battery kWh, times the charger's efficiency into the car, or divided by it out of the
  car, with the battery's wear);
- the best target is where the two balance: q* = (value - export) / (import - export);
- it is placed by the residual seen over the last slot: the target moves by minus the
  residual's (1 - q*) quantile, so that the grid imports a share q* of the time, but no
  farther than the residual's interquartile range (a lasting swing, not a step's
  transient).

Only while the loop regulates at the margin (the plan's `discharge` and `charge-surplus`
slots, with import dearer than export); a discharging car is never aimed below a 0 W grid
(the car covers the house, it does not feed the grid); the move is bounded."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

import fast

from ._lp import LpResult
from ._model import Problem

if TYPE_CHECKING:
    from ._planner import Slot

SHARE_MIN = 0.05  # the residual's tails (a single odd second) place nothing
SHARE_MAX = 0.95
SPREAD_MIN_EUR_KWH = 0.005  # import and export priced alike (net metering): leave it
MIN_SAMPLES = 300  # regulated seconds of the last slot needed to place anything
MOVE_MAX_W = 1500.0  # the largest move of the target (W)
REGULATING = fast.MODES.index("REGULATING")
DEADBAND = 1 << fast.REASONS.index("deadband")


def import_share(p: Problem, lp: LpResult, t: int, *, discharging: bool) -> float:
    """q* for slot t (0..1), or NaN where the residual is best left alone (import and export
    priced alike, or no value from the LP)."""
    buy, sell = p.import_eur_kwh[t], p.export_eur_kwh[t]
    if not (buy - sell >= SPREAD_MIN_EUR_KWH) or t >= len(lp.battery_value_eur_kwh):
        return math.nan
    eta, wear, v = p.car.efficiency, p.wear_eur_kwh, lp.battery_value_eur_kwh[t]
    at_meter = (v + wear) / eta if discharging else eta * (v - wear)
    return min(SHARE_MAX, max(SHARE_MIN, (at_meter - sell) / (buy - sell)))


def move_w(residual_w: Sequence[float] | NDArray[np.float64], share: float) -> float:
    """How far to move the target (W) so that the grid, swinging about it by `residual_w`
    (grid - target, W, one value a regulated second), imports a share `share` of the time;
    0 with fewer than MIN_SAMPLES values or no share."""
    r = np.asarray(residual_w, dtype=float)
    r = r[np.isfinite(r)]  # a value that is no number places nothing
    if math.isnan(share) or len(r) < MIN_SAMPLES:
        return 0.0
    lo, q25, q75 = np.quantile(r, (1.0 - share, 0.25, 0.75))
    # no farther than the middle half of the residual spans: a swing that lasts (a pulsing
    # hob: some 2 kW) moves the target as far as it must; a few seconds of a step's
    # transient in an otherwise quiet slot (the tails only) move it no more than the noise
    bound = min(MOVE_MAX_W, float(q75 - q25))
    return max(-bound, min(bound, -float(lo)))


def placed(slot: Slot, residual_w: Callable[[], Sequence[float] | NDArray[np.float64]]) -> Slot:
    """The slot with its residual placed: its grid target (W) moved by `move_w` on the
    residual the callable gives (asked only where there is something to place), within
    +-TARGET_MAX_W, never below 0 W while the car discharges; `import_share` spent (NaN),
    so that a replay of the slot (the oracle follows v2h's) aims where v2h aimed."""
    from ._planner import TARGET_MAX_W  # (the planner imports this module)

    if math.isnan(slot.import_share):
        return slot
    target = slot.grid_target_w + move_w(residual_w(), slot.import_share)
    # within the planner's own bound on a target (the config's too)
    target = max(-TARGET_MAX_W, min(TARGET_MAX_W, target))
    if slot.why == "discharge":
        target = max(0.0, target)
    return dataclasses.replace(slot, grid_target_w=target, import_share=math.nan)


def step_plan(core: Any, slot: Slot, allow_discharge: bool = True) -> Any:
    """The step's Plan for one slot of the price plan (the live loop, the simulator and the
    assessment alike); `allow_discharge` (the config's or the owner's) can only take
    discharge away."""
    return core.Plan(grid_target_w=slot.grid_target_w, forced_w=slot.forced_w,
                     allow_charge=slot.allow_charge,
                     allow_discharge=slot.allow_discharge and allow_discharge)


def residual_w(trace: Any, a: int, b: int, target_w: float) -> NDArray[np.float64]:
    """grid - target (W) over seconds a..b of a batch trace (6 values a second: grid, ...,
    mode, reasons) where the step regulated held by no clamp but its deadband: the swing the
    loop could not remove (a clamped second's error is the clamp's, not the loop's)."""
    t = np.frombuffer(trace, dtype=float)[6 * a:6 * b].reshape(-1, 6)
    ok = (t[:, 4] == REGULATING) & ((t[:, 5].astype(np.int64) & ~DEADBAND) == 0)
    out: NDArray[np.float64] = t[ok, 0] - target_w
    return out
