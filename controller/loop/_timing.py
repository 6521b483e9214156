"""The loop's own timing record, for `v2h run --stats` and `make bench`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._controller import Controller


def latency_ms(cycles: list[tuple[float, float]]) -> list[float]:
    """Meter-read-done to setpoint-written, per cycle (ms)."""
    return [(w - r) * 1000.0 for r, w in cycles if math.isfinite(r)]


def stats(ctl: Controller) -> dict[str, list[float]]:
    """Read-to-write latency and start lateness (ms)."""
    return {"read_to_write_ms": latency_ms(ctl.cycles),
            "start_late_ms": [(a - d) * 1000.0 for d, a in ctl.starts[1:]]}
