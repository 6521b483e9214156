"""`v2h stop-charger`: the charger's stop written from outside the controller, after it has
died (the systemd unit's `ExecStopPost=`: systemd runs it once the main process is gone for
any reason, SIGKILL and a watchdog kill included, before `Restart=`). It is the stop for the
chargers whose public maps name no Modbus watchdog (Ambibox, Sigenergy, SunSpec): nothing
else stops them when `v2h run` is gone (firmware_notes/live-controller.md, "Deployment").

It writes the driver's own `stop()` (by its Capabilities: a 0 W setpoint, a stop command or
both; nothing in `never_write`: the Sigenergy stops by 41000 = 1, never a 0 W 41002), retried
until `deadline_s` while the charger does not answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from controller.config import Config

from .base import DeviceError

RETRY_S = 0.5  # between attempts while the charger does not answer


async def stop_charger(cfg: Config, deadline_s: float = 8.0,
                       clock: Callable[[], float] = time.monotonic) -> str:
    """Write the charger's stop; the line to log. Raises DeviceError when the charger did not
    take it within deadline_s (s). An OCPP station is not written to: v2h is its CSMS and
    the station's connection died with it; the station's own dead-man (each profile's
    expiry) stops it."""
    from . import CHARGER_CAPS, CHARGERS

    if CHARGER_CAPS[cfg.charger.driver].watchdog_profile:
        return (f"the {cfg.charger.driver} station stops by itself: each charging profile "
                f"expires after charger.watchdog_s ({cfg.charger.watchdog_s} s)")
    end = clock() + deadline_s
    drv = CHARGERS[cfg.charger.driver](cfg.charger)
    try:
        while True:
            try:
                await drv.stop()
                return f"charger {cfg.charger.driver}: stop written"
            except DeviceError as exc:
                if clock() + RETRY_S >= end:
                    raise DeviceError(f"charger {cfg.charger.driver}",
                                      f"stop not written within {deadline_s:g} s: "
                                      f"{exc.what}") from None
                await drv.close()  # a fresh connection on the next attempt
                await asyncio.sleep(RETRY_S)
    finally:
        await drv.close()
