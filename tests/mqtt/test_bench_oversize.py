"""Acceptance (issue 10, point 1) on the bench: `v2h run` as its own process, MQTT on, and
500 payloads of 1 MB published to a command topic by another process. The controller's
resident memory grows by at most 10 MB (it grew 28 -> 185 MB before the size check moved
into the incoming queue), the load-step checks hold and the cycles go on, and the flood is
one episode in the log. The cycle's start lateness under the flood is printed, not judged:
its p99 target (10 ms, firmware_notes/design.md "Timing budget") is `make bench`'s, which
runs the same flood (hil._flood) and reports `flood_start_late_ms_p99`; on this shared host
it measured 10-17 ms with the code of the start of session 6 as with today's (session 5's CI
had it within 10 ms): a figure of the host, not of the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil._flood import flood

# 80 s of real time: a long bench run, in `make hil` (slow), not in `make test`
pytestmark = [pytest.mark.hil, pytest.mark.slow]
SCENARIO = Path(__file__).parent / "broker-kill.toml"  # the load-step profile, 75 s
N, SIZE = 500, 1_000_000
MAX_GROWTH_MB = 10.0


async def test_oversize_flood_on_the_bench(broker):
    """500 x 1 MB on set/reserve_soc: RSS growth <= 10 MB, checks and jitter hold."""
    f = await flood(broker, SCENARIO, N, SIZE)
    res, run = f.res, f.run
    assert run is not None
    print(f"rss before {f.rss_before_mb:.1f} MB, peak {f.rss_peak_mb:.1f} MB, after "
          f"{f.rss_after_mb:.1f} MB, growth {f.growth_mb:.1f} MB; flood {f.flood_s:.1f} s; "
          f"checks {res['checks']} loop {res['loop']}")
    assert f.growth_mb <= MAX_GROWTH_MB, f
    failed = {c["name"]: c for c in res["checks"] if not c["passed"]}
    assert not failed, (failed, res["loop"])
    assert res["safety_violations"] == 0
    late = res["loop"]["start_late_ms"]
    assert late["n"] >= 60, late  # the cycles went on through the flood (75 s, 1 a second)
    starts = [line for line in run.log.splitlines() if "fault start mqtt_oversize" in line]
    ends = [line for line in run.log.splitlines() if "fault end mqtt_oversize" in line]
    assert len(starts) == 1 and len(ends) == 1, (starts, ends)
    assert ends[0].endswith(f"{N} in the episode"), ends  # every one seen, none decoded
