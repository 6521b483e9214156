"""Device drivers, one per file behind the Protocols of `base`, chosen by name in config."""

from .base import Charger, ChargerReading, DeviceError, Meter, MeterReading
from .em24 import Em24
from .p1 import P1
from .quasar import Quasar
from .sdm630 import Sdm630

METERS = {"sdm630": Sdm630, "em24": Em24, "p1": P1}
CHARGERS = {"quasar": Quasar}

__all__ = ["CHARGERS", "METERS", "Charger", "ChargerReading", "DeviceError", "Em24", "Meter",
           "MeterReading", "P1", "Quasar", "Sdm630"]
