"""An MQTT flood on the bench (issue #10, point 7): `v2h run` as its own process with MQTT
on, and `n` payloads of `size` bytes published to a command topic by another process. The
test (tests/mqtt/test_bench_oversize.py) judges what it leaves; `make bench` reports the
cycle's lateness and the memory under it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._broker import Brokers
from ._run import Run, run_bench

BASELINE_AT_S = 8.0  # the bridge is connected and the process warm
FLOOD_AT_S = 10.0  # the kettle's step comes at 20 s, inside or right after the flood
TOPIC = "v2h/bench/set/reserve_soc"

# a separate publisher process, so the bench's own event loop is not the one pushing it
PUBLISHER = """
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


@dataclass
class Flood:
    """What a flood left: the scenario's result object and run, the controller's resident
    memory (MB) before, at its peak and after, and how long the publishing took (s)."""

    res: dict[str, Any] = field(default_factory=dict)
    run: Run | None = None
    rss_before_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0
    flood_s: float = 0.0

    @property
    def growth_mb(self) -> float:
        return self.rss_peak_mb - self.rss_before_mb


def controller_pid() -> int:
    """The `v2h run` child of this process (run_bench starts it), by its /proc entry."""
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
    raise AssertionError("no `v2h run` process under this one")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError(f"no VmRSS for {pid}")


async def flood(brokers: Brokers, scenario: Path, n: int = 500, size: int = 1_000_000
                ) -> Flood:
    """The scenario (a file; tests/mqtt/broker-kill.toml: one +-2 kW pair, 75 s) in real
    time with `n` x `size` bytes on a command topic from 10 s on."""
    # Mosquitto 2.0 has no message size limit by default; said here so that a packaged
    # default or a future one cannot make the broker, not v2h, the thing that drops them
    port = brokers(f"allow_anonymous true\nmax_packet_size {4 * size}\nmessage_size_limit 0\n")
    out = Flood()
    samples: list[float] = []
    pid = 0

    async def sample() -> None:
        while True:
            samples.append(rss_mb(pid))
            await asyncio.sleep(0.2)

    async def baseline() -> None:
        nonlocal pid
        pid = controller_pid()
        out.rss_before_mb = rss_mb(pid)

    async def publish() -> None:
        sampler = asyncio.create_task(sample(), name="flood.rss")
        t0 = asyncio.get_running_loop().time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PUBLISHER, str(port), TOPIC, str(n), str(size),
            stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout=45)
            assert proc.returncode == 0, err.decode()
            out.flood_s = asyncio.get_running_loop().time() - t0
            await asyncio.sleep(5.0)  # the controller drains what the broker still holds
            out.rss_after_mb = rss_mb(pid)
        finally:  # a publisher that outlives its time, or a failure: nothing left behind
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler

    out.res, _bench, out.run = await run_bench(
        str(scenario), overrides=("mqtt.enabled=true", f"mqtt.port={port}", "site.id=bench",
                                  "mqtt.allow_anonymous_commands=true"),
        actions=((BASELINE_AT_S, baseline), (FLOOD_AT_S, publish)))
    if not samples:
        raise AssertionError("the flood never started (the scenario ended first?)")
    out.rss_peak_mb = max(samples)
    return out
