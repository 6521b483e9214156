"""Acceptance (issue 10, point 1) on the bench: `v2h run` as its own process, MQTT on, and
500 payloads of 1 MB published to a command topic by another process. The controller's
resident memory grows by at most 10 MB (it grew 28 -> 185 MB before the size check moved
into the incoming queue), the load-step checks hold and the cycles go on, and the flood is
one episode in the log. The cycle's start lateness under the flood is printed, not judged:
its p99 target (10 ms, firmware_notes/design.md "Timing budget") is `make bench`'s, and on
this shared host it measured 10-17 ms with the code of the start of session 6 as with
today's (session 5's CI had it within 10 ms): a figure of the host, not of the code."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import pytest

from hil._run import run_bench

# 80 s of real time: a long bench run, in `make hil` (slow), not in `make test`
pytestmark = [pytest.mark.hil, pytest.mark.slow]
HERE = Path(__file__).parent
SCENARIO = HERE / "broker-kill.toml"  # the load-step profile, one +-2 kW pair, 75 s
N, SIZE = 500, 1_000_000
BASELINE_AT_S = 8.0   # the bridge is connected and the process warm
FLOOD_AT_S = 10.0     # the kettle's step comes at 20 s, inside or right after the flood
MAX_GROWTH_MB = 10.0

# a separate publisher process, so the bench's own event loop is not the one pushing 500 MB
FLOOD = """
import sys
import paho.mqtt.client as mqtt
port, topic, n, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
c.connect("127.0.0.1", port)
c.loop_start()
body = b"9" * size
for _ in range(n):
    c.publish(topic, body, qos=1).wait_for_publish(30)
c.disconnect()
c.loop_stop()
"""


def controller_pid() -> int:
    """The `v2h run` child of this test process (hil._run starts it), by its /proc entry."""
    me = os.getpid()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == me and b"controller.cli" in cmd and b"run" in cmd:
            return int(d.name)
    raise AssertionError("no `v2h run` process under this test")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError(f"no VmRSS for {pid}")


async def test_oversize_flood_on_the_bench(broker):
    """500 x 1 MB on set/reserve_soc: RSS growth <= 10 MB, checks and jitter hold."""
    # Mosquitto 2.0 has no message size limit by default; said here so that a packaged
    # default or a future one cannot make the broker, not v2h, the thing that drops them
    port = broker(f"allow_anonymous true\nmax_packet_size {4 * SIZE}\n"
                  "message_size_limit 0\n")
    seen: dict[str, float] = {}
    samples: list[float] = []

    async def sample(pid: int) -> None:
        while True:
            samples.append(rss_mb(pid))
            await asyncio.sleep(0.2)

    async def baseline() -> None:
        seen["pid"] = controller_pid()
        seen["before"] = rss_mb(int(seen["pid"]))

    async def flood() -> None:
        pid = int(seen["pid"])
        sampler = asyncio.create_task(sample(pid), name="test.rss")
        t0 = asyncio.get_running_loop().time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOOD, str(port), "v2h/bench/set/reserve_soc", str(N),
            str(SIZE), stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=45)
        assert proc.returncode == 0, err.decode()
        seen["flood_s"] = asyncio.get_running_loop().time() - t0
        await asyncio.sleep(5.0)  # the controller drains what the broker still holds
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        seen["after"] = rss_mb(pid)

    res, _bench, run = await run_bench(
        str(SCENARIO), overrides=("mqtt.enabled=true", f"mqtt.port={port}", "site.id=bench",
                                  "mqtt.allow_anonymous_commands=true"),
        actions=((BASELINE_AT_S, baseline), (FLOOD_AT_S, flood)))
    growth = max(samples) - seen["before"]
    print(f"rss before {seen['before']:.1f} MB, peak {max(samples):.1f} MB, after "
          f"{seen['after']:.1f} MB, growth {growth:.1f} MB; flood {seen['flood_s']:.1f} s; "
          f"checks {res['checks']} loop {res['loop']}")
    assert growth <= MAX_GROWTH_MB, (seen, max(samples))
    failed = {c["name"]: c for c in res["checks"] if not c["passed"]}
    assert not failed, (failed, res["loop"])
    assert res["safety_violations"] == 0
    late = res["loop"]["start_late_ms"]
    assert late["n"] >= 60, late  # the cycles went on through the flood (75 s, 1 a second)
    starts = [line for line in run.log.splitlines() if "fault start mqtt_oversize" in line]
    ends = [line for line in run.log.splitlines() if "fault end mqtt_oversize" in line]
    assert len(starts) == 1 and len(ends) == 1, (starts, ends)
    assert ends[0].endswith(f"{N} in the episode"), ends  # every one seen, none decoded
