"""Device drivers, one per file behind the Protocols of `base`, chosen by name in config."""

from collections.abc import Callable
from typing import Any

from controller.config import Charger as ChargerConfig
from controller.config import Meter as MeterConfig

from ._ocpp_caps import CAPS as OCPP21_CAPS
from .ambibox import Ambibox
from .base import Capabilities, Charger, ChargerReading, DeviceError, Meter, MeterReading, SocSource
from .em24 import Em24
from .evtec import Evtec
from .quasar import Quasar
from .sdm630 import Sdm630
from .sigenergy import Sigenergy
from .sunspec import SunSpec


def _p1(cfg: MeterConfig, clock: Callable[[], float] | None = None) -> Meter:
    """The P1 driver, imported when used: dsmr-parser brings a DLMS and crypto stack that a
    Modbus installation need not carry in memory (16 MB of resident memory)."""
    from .p1 import P1

    return P1(cfg) if clock is None else P1(cfg, clock)


def _ocpp21(cfg: ChargerConfig, *args: Any, **kw: Any) -> Charger:
    """The OCPP 2.1 driver, imported when used: the `ocpp` library's schema classes cost
    half a second of CPU at every start of a Modbus installation that never needs them."""
    from .ocpp21 import Ocpp21

    return Ocpp21(cfg, *args, **kw)


def __getattr__(name: str) -> Any:
    if name == "Ocpp21":  # the class itself, for whoever names it
        from .ocpp21 import Ocpp21

        return Ocpp21
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# name -> factory(section, clock=...): the driver a config's `driver` names
METERS: dict[str, Callable[..., Meter]] = {"sdm630": Sdm630, "em24": Em24, "p1": _p1}
CHARGERS: dict[str, Callable[..., Charger]] = {
    "quasar": Quasar, "evtec": Evtec, "ambibox": Ambibox, "sigenergy": Sigenergy,
    "sunspec": SunSpec, "ocpp21": _ocpp21}
# name -> what the driver declares (check-config reads these without building a driver)
CHARGER_CAPS: dict[str, Capabilities] = {
    "quasar": Quasar.caps, "evtec": Evtec.caps, "ambibox": Ambibox.caps,
    "sigenergy": Sigenergy.caps, "sunspec": SunSpec.caps,
    "ocpp21": OCPP21_CAPS}

__all__ = ["CHARGERS", "CHARGER_CAPS", "METERS", "Ambibox", "Capabilities", "Charger",
           "ChargerReading", "DeviceError", "Em24", "Evtec", "Meter", "MeterReading", "Ocpp21",
           "Quasar", "Sdm630", "Sigenergy", "SocSource", "SunSpec"]
