"""`make bench`'s MQTT flood: the cycle's start lateness and the controller's memory while
500 payloads of 1 MB arrive on a command topic (hil._flood; the test of the same run,
tests/mqtt/test_bench_oversize.py in `make hil`, judges the memory and the checks)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hil._broker import Brokers
from hil._flood import flood

SCENARIO = Path(__file__).resolve().parent.parent / "tests" / "mqtt" / "broker-kill.toml"


async def measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="v2h-bench-flood-") as tmp:
        brokers = Brokers(Path(tmp))
        try:
            f = await flood(brokers, SCENARIO)
        finally:
            brokers.stop_all()
    late = f.res["loop"]["start_late_ms"]
    return {"flood_start_late_ms_p50": late["p50"], "flood_start_late_ms_p99": late["p99"],
            "flood_start_late_ms_max": late["max"], "flood_cycles": late["n"],
            "flood_rss_growth_mb": round(f.growth_mb, 1), "flood_publish_s": round(f.flood_s, 1)}
