"""What an OCPP 2.1 station declares (controller/devices/ocpp21.py), apart from the driver:
`check-config`, the loop and the bench read it without importing the `ocpp` library, which a
Modbus installation never needs (its schema classes cost half a second at every start)."""

from .base import Capabilities, SocSource

LIMIT_W = 22_000  # the most v2h commands either way (AC 3 x 32 A; the car's less)

CAPS = Capabilities(
    max_charge_w=LIMIT_W, max_discharge_w=LIMIT_W,
    min_power_w=0.0,  # the car's minimum comes in NotifyEVChargingNeeds: limits.min_power_w
    stop="command",   # an Idle period
    soc=SocSource(None, 1.0, session_only=True),  # SoC measurand in MeterValues
    watchdog_register=None, watchdog_max_s=600,
    watchdog_profile=True,  # each TxProfile expires after watchdog_s
    energy_counters=True, phases=(1, 3))
