"""What every emulated grid meter shares: the plant seen through a meter (a sample one
sub-step old, the meter's noise, 0 V and 0 Hz on a grid loss), and its faults (silent,
dark, frozen, garbage; refused is the bench's, which closes the port); each model encodes the
words its own way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pymodbus.simulator import SimDevice

    from ._bench import Bench


@dataclass(frozen=True)
class Sample:
    """One reading of the meter: phase powers (W, + import), voltage (V), frequency (Hz),
    energy counters (Wh)."""

    p: tuple[float, float, float]
    v: float
    hz: float
    import_wh: float
    export_wh: float


class MeterEmulator:
    """Base of the meter emulators: `words()` is the register map filled from a Sample."""

    def __init__(self, bench: Bench, unit_id: int = 1) -> None:
        self.bench = bench
        self.unit_id = unit_id
        self._frozen: dict[int, list[int]] | None = None
        # a meter with a clock of its own (bench.meter_publish_s > 0): the words it last
        # published, and each read served as (the bench's clock then, when the sample it
        # returned was published): what a sample's age at a write is measured from
        self._published: dict[int, list[int]] | None = None
        self.reads: list[tuple[float, float]] = []

    def sample(self) -> Sample:
        b = self.bench
        pl = b.plant
        down = b.faults.grid_loss
        noise = pl.meter_noise_w
        p = tuple(g + pl.noise(noise) for g in b.meter_phases())
        return Sample(p, 0.0 if down else 230.0 + pl.noise(0.5),
                      0.0 if down else 50.0 + pl.noise(0.005), pl.imp_wh, pl.exp_wh)

    def words(self, s: Sample) -> dict[int, list[int]]:
        """Address → register words of every measured value (the model's encoding)."""
        raise NotImplementedError

    def device(self) -> SimDevice:
        """The Modbus device that serves the registers (the Modbus models; not P1)."""
        raise NotImplementedError

    def garbage(self) -> dict[int, list[int]]:
        """What the model shows when its measurement goes wrong."""
        raise NotImplementedError

    def current(self) -> dict[int, list[int]]:
        """The words a read returns now: garbage, frozen (the same words), or live."""
        f = self.bench.faults
        if f.meter_garbage:
            return self.garbage()
        if f.meter_frozen:
            if self._frozen is None:
                self._frozen = self.words(self.sample())
            return self._frozen
        self._frozen = None
        if self.bench.meter_publish_s > 0.0:
            if self._published is None:
                self.publish()
            assert self._published is not None
            self.reads.append((self.bench.clock(), self.bench.pubs[-1]))
            del self.reads[:-10_000]
            return self._published
        return self.words(self.sample())

    def publish(self) -> None:
        """A meter with its own clock takes its sample now; reads return it until the next."""
        self._published = self.words(self.sample())
        self.bench.pubs.append(self.bench.clock())
        del self.bench.pubs[:-10_000]

    def fill(self, regs: list[int], start: int) -> None:
        """Write the current words into a block of registers that starts at `start`."""
        for addr, w in self.current().items():
            regs[addr - start: addr - start + len(w)] = w

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        """A silent meter, or a dark one (unpowered behind a gateway that still accepts the
        connection; on a serial line, refused is dark too), sends nothing back."""
        f = self.bench.faults
        dark = f.meter_silent or f.meter_dark or f.meter_refused
        return b"" if sending and dark else data
