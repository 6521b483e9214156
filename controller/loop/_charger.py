"""The charger as the loop drives it: control taken and confirmed, every command remembered
as sent (whatever came back), stops that re-send the stop action while it still moves.

Nothing non-zero is written before a read has confirmed that the charger is under our
control (its control, setpoint-type and watchdog registers as written); control is taken
at start until it succeeds, and again whenever a read shows it lost (a reboot to factory
defaults, someone switching it to the app) or the charger answers after silence."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

from controller.devices import Capabilities, Charger, ChargerReading, DeviceError

log = logging.getLogger("v2h")
# the charger's measured power (W) that counts as still moving after 0 W was commanded
MOVING_W = 50.0
# a stop is re-sent at most this often (s) while the charger still moves
RESTOP_S = 0.5


def narrow_limits(lim: Any, caps: Capabilities, min_power_hyst_w: float) -> None:
    """The core's Limits narrowed to what the charger declares: its power range, and its
    smallest regulated power with the step's hysteresis above it (the step holds
    `min_power_w` down to `min_power_w - min_power_hyst_w`, and that must not fall below
    what the charger regulates)."""
    lim.max_charge_w = min(lim.max_charge_w, caps.max_charge_w)
    lim.max_discharge_w = min(lim.max_discharge_w, caps.max_discharge_w)
    if caps.min_power_w > 0.0:
        lim.min_power_w = max(lim.min_power_w, caps.min_power_w + min_power_hyst_w)


class ChargerLink:
    """One charger: its I/O serialised by one lock (the cycle and the grid watch share it).

    `sent_w` is the last command sent, acknowledged or not (a reply lost after the charger
    acted on it must not leave us believing the old value); `acked_w` the last one the
    charger confirmed."""

    def __init__(self, driver: Charger, watchdog_s: int, timeout_s: float,
                 clock: Callable[[], float], fault: Callable[..., None]) -> None:
        self.driver = driver
        self.caps = driver.caps
        # never more than its own watchdog takes (check-config refuses more; a charger
        # without one gets the value all the same and ignores it)
        self.watchdog_s = (min(watchdog_s, self.caps.watchdog_max_s) if self.caps.has_watchdog
                           else watchdog_s)
        self.timeout_s = timeout_s
        self.clock = clock
        self._fault = fault
        self.io = asyncio.Lock()
        self.sent_w = 0.0
        self.acked_w = 0.0
        self.controlled = False
        self.reading: ChargerReading | None = None
        self.silent_since: float | None = None
        self.stop_due = True  # a stop before anything else: at start, after a long silence
        self._stop_t = -math.inf
        self.error = ""

    def command_w(self) -> float:
        """The most discharging of what was sent and what was acknowledged (W)."""
        return min(self.sent_w, self.acked_w)

    async def _io(self, call, *args):
        async with self.io:
            async with asyncio.timeout(self.timeout_s * 4 + 0.5):
                return await call(*args)

    async def read(self) -> ChargerReading | None:
        """Read it; None when it does not answer (then nothing is known of its state). A
        driver whose reads wait for the charger's own report rather than a reply
        (`reads_apart`: OCPP's MeterValues after a TriggerMessage, tens to hundreds of ms on
        a real station) reads outside the lock: its messages are serialised on their own
        link, and the grid watch's stop must not queue behind such a wait."""
        try:
            if getattr(self.driver, "reads_apart", False):
                async with asyncio.timeout(self.timeout_s * 4 + 0.5):
                    r = await self.driver.read()
            else:
                r = await self._io(self.driver.read)
        except (DeviceError, TimeoutError) as exc:
            self.error = str(exc) or "timeout"
            if self.silent_since is None:
                self.silent_since = self.clock()
                getattr(self.driver, "forget", lambda: None)()
            return None
        self.reading = r
        return r

    async def confirm(self, r: ChargerReading, long_silence: bool) -> None:
        """After a read that answered: take control where it is not (or no longer) ours, and
        after a silence; a stop first where one is due."""
        after_silence = self.silent_since is not None
        self.silent_since = None
        if long_silence:
            self.stop_due = True
        if r.controlled and self.controlled and not after_silence:
            return
        if self.controlled and not r.controlled:
            log.warning("fault start charger_control the charger is no longer under our "
                        "control (rebooted or switched to its app): taking it again")
            self.stop_due = True
        self.controlled = False
        try:
            await self._io(self.driver.take_control, self.watchdog_s)
            if self.stop_due:
                await self._stop()
        except (DeviceError, TimeoutError) as exc:
            self._fault("charger_control", True, str(exc) or "timeout")
            return
        self.controlled = True
        self.stop_due = False
        self._fault("charger_control", False)

    async def _stop(self) -> None:
        self.sent_w = 0.0
        await self._io(self.driver.stop)
        self.acked_w = 0.0
        self._stop_t = self.clock()

    async def command(self, watts: float, measured_w: float) -> bool:
        """Send `watts` (only once control is confirmed). 0 W while the charger still moves
        (or its power is unknown) is a full stop, re-sent while it moves: power register and
        stop action, never the power register alone. Without confirmed control only a stop
        goes out, and only to a charger that may still run a setpoint of ours: its last read
        showed our registers, or it discharges (no one else's session does)."""
        if not self.controlled and not (watts == 0.0 and self._may_run_ours(measured_w)):
            return False
        try:
            if watts == 0.0 and not (abs(measured_w) <= MOVING_W):
                if self.sent_w != 0.0 or self.clock() - self._stop_t >= RESTOP_S:
                    await self._stop()
                else:
                    return True
            else:
                self.sent_w = watts
                await self._io(self.driver.set_power, watts)
                self.acked_w = watts
        except (DeviceError, TimeoutError) as exc:
            self._fault("charger_write", True, str(exc) or "timeout")
            getattr(self.driver, "forget", lambda: None)()
            return False
        self._fault("charger_write", False)
        return True

    def _may_run_ours(self, measured_w: float) -> bool:
        """Control unconfirmed (take_control failed after a silence, or at a restart), yet
        the charger may still run a setpoint of ours, fed by our reads: it moves (or its
        power is unknown) and its last read showed our registers, or it discharges."""
        r = self.reading
        moving = not (abs(measured_w) <= MOVING_W)
        return moving and ((r is not None and r.controlled) or measured_w < -MOVING_W)

    async def release(self) -> None:
        """0 W, stop, control handed back."""
        self.sent_w = 0.0
        await self._io(self.driver.release)
        self.acked_w = 0.0
        self.controlled = False

    async def close(self) -> None:
        await self.driver.close()
