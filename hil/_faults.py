"""What is wrong right now on the bench, as the device emulators see it."""

from __future__ import annotations

from dataclasses import dataclass

# fault kinds a scenario may schedule (the batch simulator knows the same names)
KINDS = ("grid_loss", "meter_silent", "meter_frozen", "meter_exception", "meter_garbage",
         "charger_lost", "charger_error", "car_unplug")


@dataclass
class Faults:
    """The faults in force at this instant."""

    grid_loss: bool = False
    meter_silent: bool = False
    meter_frozen: bool = False
    meter_exception: bool = False
    meter_garbage: bool = False
    charger_lost: bool = False
    charger_error: bool = False
    car_unplug: bool = False
