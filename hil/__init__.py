"""The hardware-in-the-loop bench: device emulators speaking the vendors' register maps over
Modbus TCP on 127.0.0.1 (the SDM630 also over RTU on a pty pair, a smart meter's P1 port as
a TCP bridge), driven in real time by the simulator's plant and a fault schedule."""

from ._bench import Bench, Fault, sample_to_write_ms
from ._em24 import Em24
from ._faults import KINDS, Faults
from ._p1 import P1
from ._quasar import Quasar
from ._sdm630 import Sdm630

__all__ = ["KINDS", "P1", "Bench", "Em24", "Fault", "Faults", "Quasar", "Sdm630",
           "sample_to_write_ms"]
