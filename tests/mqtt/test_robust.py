"""The broker is a convenience: killed mid-run it changes nothing in the loop, and when it is
back the states resume; with passwords and an ACL only the owner can command."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from tests.mqtt.conftest import free_port, mosquitto_pub, until
from tests.mqtt.test_bridge import ANON_COMMANDS, running

pytestmark = pytest.mark.hil


async def first_state(port: int, timeout: float) -> bool:
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    async with aiomqtt.Client("127.0.0.1", port) as c:
                        await c.subscribe("v2h/bench/state")
                        async for _ in c.messages:
                            return True
                except aiomqtt.MqttError:
                    await asyncio.sleep(0.2)
    except TimeoutError:
        return False
    return False


async def test_broker_killed_mid_run(broker, scenario, tmp_path):
    """No broker for 15 s: period jitter p99 <= 10 ms and the grid still tracked; after the
    broker restarts, states resume within 10 s."""
    port = free_port()
    broker(port=port)
    async with running(scenario, port) as (ctl, bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        pl = bench.plant
        await until(lambda: pl.p > 1000.0 and abs(pl.g1 + pl.g2 + pl.g3) < 50.0, 30.0,
                    "regulating, grid settled")
        await asyncio.sleep(2.0)  # and held a moment: the window below starts settled
        await broker.kill(port)
        n0 = len(ctl.starts)
        grid = []
        for _ in range(15):
            await asyncio.sleep(1.0)
            grid.append(abs(bench.plant.g1 + bench.plant.g2 + bench.plant.g3))
        late = [abs(a - d) * 1000 for d, a in ctl.starts[n0:]]
        assert sorted(late)[int(0.99 * (len(late) - 1))] <= 10.0
        assert statistics.mean(grid) < 100.0
        await broker.restart(port)
        assert await first_state(port, 10.0)


async def test_acl_only_owner_commands(broker, scenario, tmp_path):
    """Passwords and the documented ACL: an anonymous client is refused, the read-only
    account's command is dropped by the broker, the owner's is taken."""
    pw = tmp_path / "passwd"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    for i, (user, secret) in enumerate((("v2h", "v2h-secret"), ("owner", "owner-secret"),
                                        ("viewer", "viewer-secret"))):
        args = [passwd, "-b", *(["-c"] if i == 0 else []), str(pw), user, secret]
        subprocess.run(args, check=True, capture_output=True)
    acl = tmp_path / "acl"
    acl.write_text((Path(__file__).parents[2] / "firmware_notes" / "mqtt-acl.conf").read_text())
    port = broker(f"allow_anonymous false\npassword_file {pw}\nacl_file {acl}\n")
    async with running(scenario, port, "mqtt.username=v2h", "mqtt.password=v2h-secret") \
            as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        rc, _ = await mosquitto_pub(port, "v2h/bench/set/reserve_soc", "60")
        assert rc != 0  # anonymous: refused
        rc, _ = await mosquitto_pub(port, "v2h/bench/set/reserve_soc", "60", "-u", "viewer",
                                    "-P", "viewer-secret")
        await asyncio.sleep(1.0)
        assert ctl.owner.reserve_soc == 30.0  # the read-only account changed nothing
        rc, out = await mosquitto_pub(port, "v2h/bench/set/reserve_soc", "55", "-u", "owner",
                                      "-P", "owner-secret")
        assert rc == 0, out
        await until(lambda: ctl.owner.reserve_soc == 55.0, 5.0, "the owner's reserve")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


async def test_flood_and_garbage_through_the_broker(broker, scenario):
    """10 000 messages at full speed, garbage among them: the loop runs on, the bridge
    stays connected, the excess is dropped by the rate limit, memory stays flat."""
    port = broker()
    async with running(scenario, port, ANON_COMMANDS) as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        await asyncio.sleep(2.0)
        rss0, cycles0 = _rss_mb(), len(ctl.starts)
        lines = "\n".join(("50", "NaN", "\"x\"", "1e99", "-1")[i % 5] for i in range(10_000))
        proc = await asyncio.create_subprocess_exec(
            shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p",
            str(port), "-t", "v2h/bench/set/reserve_soc", "-l", stdin=asyncio.subprocess.PIPE)
        await proc.communicate(lines.encode())
        big = await asyncio.create_subprocess_exec(
            shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p",
            str(port), "-t", "v2h/bench/set/reserve_soc", "-s", stdin=asyncio.subprocess.PIPE)
        await big.communicate(b"9" * 1_000_000)  # a 1 MB payload
        await asyncio.sleep(3.0)
        assert ctl.bridge.connected.is_set()
        assert ctl.bridge.rate_limited > 0 and ctl.bridge.rejected > 0
        assert len(ctl.starts) - cycles0 >= 3  # the loop went on, a cycle a second...
        assert all(abs(a - d) < 0.05 for d, a in ctl.starts[cycles0:])  # ...on time
        assert _rss_mb() - rss0 < 30.0
        assert ctl.owner.reserve_soc in (30.0, 50.0)


async def test_bridge_logs_a_dead_broker_once(caplog):
    """No broker on the port: one warning when the trouble starts, not one per retry."""
    import logging

    from controller import config
    from controller.mqtt import Bridge

    cfg = config.defaults(("mqtt.enabled=true", f"mqtt.port={free_port()}", "site.id=x"))
    bridge = Bridge(cfg, lambda cmd: None, jitter=lambda: 0.0)
    stop = asyncio.Event()
    with caplog.at_level(logging.DEBUG, logger="v2h.mqtt"):
        task = asyncio.create_task(bridge.run(stop))
        await until(lambda: bridge.failures >= 3, 10.0, "three failed attempts")
        stop.set()
        await asyncio.wait_for(task, 5.0)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "fault start mqtt" in warnings[0].getMessage()
