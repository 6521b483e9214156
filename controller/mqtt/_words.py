"""The controller's state and reasons in a homeowner's words. The codes (fast.MODES,
fast.REASONS) stay in the state's JSON for automations; Home Assistant's sensors show these
words. One table per code list, checked against the core's lists by a test, so a new mode
or reason cannot go unnamed."""

from __future__ import annotations

from typing import Any

import fast

MAX_TEXT = 255  # Home Assistant drops a state longer than this

# the supervisor's modes (fast.MODES); REGULATING depends on the direction of the power
STATE_WORDS: dict[str, str] = {
    "STARTUP": "Starting: checking the grid before anything else",
    "IDLE": "Idle: no car plugged in",
    "REGULATING": "Keeping the grid at its target",
    "HOLD": "Holding: the car neither charges nor discharges",
    "GRID_LOSS": "Stopped: the grid is down",
    "METER_STALE": "Waiting: the meter does not answer",
    "CHARGER_LOST": "Waiting: the charger does not answer",
    "FAULT": "Stopped: a fault needs attention",
}
REGULATING_DISCHARGE = "Covering the house from the car"
REGULATING_CHARGE = "Charging the car from the surplus"
REGULATING_FORCED = "Charging the car now, as asked"

# the step's clamps (fast.REASONS), in the core's priority order; {placeholders} are the
# limits in force (fast.Limits fields)
REASON_WORDS: dict[str, str] = {
    "stale": "The meter's reading is too old to act on",
    "supervisor": "Stopped by the safety supervisor",
    "grid": "Kept from discharging: the grid is not confirmed healthy",
    "car": "No car ready to charge or discharge",
    "plan": "Following the plan: this direction is not allowed now",
    "reserve": "Not below your reserve of {reserve_soc:g} %",
    "max_soc": "Not above the charge limit of {max_soc:g} %",
    "fuse": "Kept within the {fuse_a:g} A fuse",
    "max_charge": "At the maximum charging power of {max_charge_w:g} W",
    "max_discharge": "At the maximum discharge power of {max_discharge_w:g} W",
    "min_power": "Below the charger's smallest power: off",
    "ramp": "Changing power gradually",
    "deadband": "Balanced: the grid is within a few watts of its target",
    "forced": "Charging now, as asked",
    "soc_probe": "Charging a little to read the car's state of charge",
}
NO_REASON = "Nothing limits the car"
NOISE = ("deadband", "ramp")  # said only when nothing else is


def state_text(mode: int, setpoint_w: float, reasons: tuple[str, ...] = ()) -> str:
    """The supervisor's mode (index into fast.MODES) in words; while regulating, which way
    the power goes (W, + charging the car)."""
    name = fast.MODES[mode]
    if name == "REGULATING":
        if "forced" in reasons:
            return REGULATING_FORCED
        if setpoint_w < 0.0:
            return REGULATING_DISCHARGE
        if setpoint_w > 0.0:
            return REGULATING_CHARGE
    return STATE_WORDS[name]


def reason_text(reasons: tuple[str, ...], lim: Any) -> str:
    """The step's reasons (names from fast.REASONS, priority order) in words, with the
    limits in force (a fast.Limits); the ramp and the dead band only when alone."""
    main = [r for r in reasons if r not in NOISE] or list(reasons)
    if not main:
        return NO_REASON
    values = {k: getattr(lim, k) for k in ("reserve_soc", "max_soc", "fuse_a",
                                          "max_charge_w", "max_discharge_w")}
    text = "; ".join(REASON_WORDS[r].format(**values) for r in main)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"
