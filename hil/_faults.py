"""What is wrong right now on the bench, as the device emulators see it. The fields of
`Faults` are the one list of fault kinds; the batch simulator knows the first ten
(`SIM_KINDS`, its scenario schema), the rest are the bench's own (`BENCH_KINDS`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import get_args, get_type_hints

from controller import sim


@dataclass
class Faults:
    """The faults in force at this instant."""

    grid_loss: bool = False
    grid_loss_dark: bool = False      # the grid lost and the meter dark with it (meter_dark)
    meter_silent: bool = False
    meter_frozen: bool = False
    meter_exception: bool = False
    meter_garbage: bool = False
    charger_lost: bool = False
    charger_error: bool = False
    charger_stuck: bool = False       # writes to 257/260 acknowledged, its power unchanged
    car_unplug: bool = False
    # the bench's own, as real devices produce them (issue #10 point 11)
    meter_dark: bool = False          # meter unpowered: TCP accepted, nothing ever answered
    meter_refused: bool = False       # meter unpowered: connections closed and refused
    charger_reboot: bool = False      # refused while it boots; factory registers after
    charger_reply_lost: bool = False  # writes are applied, their replies never sent
    charger_user_mode: bool = False   # someone takes it to app control (81 -> 0) at the start
    soc_zero_idle: bool = False       # SoC register 0 while it neither charges nor discharges
    charger_rejects: bool = False     # OCPP: every charging profile rejected (Busy)
    soc_jump: bool = False            # SoC register jumps by 2 points (0, -2, 0, +2 every 5 s)


KINDS = tuple(f.name for f in fields(Faults))
SIM_KINDS: tuple[str, ...] = get_args(get_type_hints(sim.Event)["kind"])
BENCH_KINDS = tuple(k for k in KINDS if k not in SIM_KINDS)
