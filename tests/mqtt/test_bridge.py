"""The MQTT bridge against a real Mosquitto, with the controller on the HIL bench."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiomqtt
import pytest

from controller import config
from controller.mqtt import Bridge
from tests.helpers import on_bench
from tests.mqtt.conftest import mosquitto_pub, until

pytestmark = pytest.mark.hil
# these tests command over the test broker's anonymous listener (test_auth.py has the real
# thing: a password file)
ANON_COMMANDS = "mqtt.allow_anonymous_commands=true"


def running(scenario, mqtt_port: int, *overrides: str):
    """A bench in real time and the controller against it, MQTT enabled."""
    return on_bench(scenario, "mqtt.enabled=true", f"mqtt.port={mqtt_port}", "site.id=bench",
                    *overrides)


async def collect(port: int, topics: list[str], seconds: float) -> dict[str, list[bytes]]:
    got: dict[str, list[bytes]] = {}
    async with aiomqtt.Client("127.0.0.1", port) as c:
        for t in topics:
            await c.subscribe(t)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for msg in c.messages:
                    got.setdefault(str(msg.topic), []).append(bytes(msg.payload))
    return got


async def test_discovery_state_and_command(broker, scenario):
    """Discovery configs carry Home Assistant's fields; a reserve command sent with
    mosquitto_pub changes the controller's reserve and is acknowledged."""
    port = broker()
    async with running(scenario, port, ANON_COMMANDS) as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        listen = asyncio.create_task(collect(port, ["homeassistant/#", "v2h/bench/#"], 4.0))
        await asyncio.sleep(1.0)
        rc, out = await mosquitto_pub(port, "v2h/bench/set/reserve_soc", "45")
        assert rc == 0, out
        await mosquitto_pub(port, "v2h/bench/set/reserve_soc", "10")  # below the config's
        got = await listen
    assert ctl.owner.reserve_soc == 45.0 and ctl.lim.reserve_soc == 45.0
    acks = [json.loads(b) for b in got.get("v2h/bench/ack", [])]
    assert {"name": "reserve_soc", "value": 45.0} in acks
    errs = [json.loads(b) for b in got.get("v2h/bench/error", [])]
    assert any(e["name"] == "reserve_soc" and "below" in e["reason"] for e in errs)
    states = [json.loads(b) for b in got["v2h/bench/state"]]
    assert len(states) >= 2 and states[-1]["reserve_soc"] == 45.0
    assert got["v2h/bench/availability"][-1] == b"online"
    conf = {t: json.loads(b[-1]) for t, b in got.items() if t.startswith("homeassistant/")}
    by = {t.split("/")[1] + ":" + t.split("/")[3]: c for t, c in conf.items()}
    for c in conf.values():
        assert c["unique_id"] and c["device"]["identifiers"] == ["v2h_bench"]
        assert c["availability_topic"] == "v2h/bench/availability"
    energy = by["sensor:energy_imported"]
    assert (energy["device_class"], energy["state_class"], energy["unit_of_measurement"]) == \
        ("energy", "total_increasing", "Wh")
    assert by["sensor:grid_power"]["state_topic"] == "v2h/bench/state"
    sel = by["select:mode"]
    assert sel["command_topic"] == "v2h/bench/set/mode" and "hold" in sel["options"]
    num = by["number:reserve_soc"]
    assert num["command_topic"] == "v2h/bench/set/reserve_soc"
    assert {"min", "max", "step"} <= set(num)
    btn = by["button:charge_now"]
    assert btn["command_topic"] == "v2h/bench/set/charge_now" and btn["payload_press"]
    assert by["text:departure"]["command_topic"] == "v2h/bench/set/departure"
    assert by["sensor:plan"]["value_template"] == "{{ value_json.plan }}"
    assert states[-1]["plan"] == "-"  # no price plan configured


async def test_hold_command_stops_the_car(broker, scenario):
    """mode = hold: the supervisor holds, 0 W; the command changes the plan, not safety."""
    port = broker()
    async with running(scenario, port, ANON_COMMANDS) as (ctl, bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        await until(lambda: bench.plant.p > 1000.0, 20.0, "charging from the surplus")
        await mosquitto_pub(port, "v2h/bench/set/mode", "hold")
        await until(lambda: ctl.owner.mode == "hold" and ctl.setpoint == 0.0, 5.0, "hold, 0 W")


def test_hostile_payloads_are_rejected_with_reasons():
    """1 000 hostile payloads: each rejected with a reason, or dropped by the rate limit."""
    cfg = config.defaults(("site.id=x",))
    taken = []
    t = [0.0]
    bridge = Bridge(cfg, lambda cmd: taken.append(cmd) or None, clock=lambda: t[0])
    hostile = [
        ("reserve_soc", b'"forty"'), ("reserve_soc", b"NaN"), ("reserve_soc", b"-5"),
        ("reserve_soc", b"1e308"), ("max_discharge_w", b"-1"), ("max_discharge_w", b"1e12"),
        ("mode", b"turbo"), ("mode", b"{}"), ("departure", b"25:61"), ("nope", b"1"),
        ("mode", b"\xff\xfe"), ("reserve_soc", b"4" * 1_000_000), ("reserve_soc", b"[1,2]"),
        ("charge_now", b"NOW"), ("departure_soc", b"101"), ("../../x", b"1"),
    ]
    errors = 0
    for i in range(1000):
        t[0] += 0.06  # under the rate limit: every one is judged
        name, payload = hostile[i % len(hostile)]
        reply = bridge.handle(name, payload)
        assert reply is not None and reply[0] == "error", (name, payload)
        assert json.loads(reply[1])["reason"]
        errors += 1
    assert errors == 1000 and not taken
    # a flood faster than the limit: dropped, counted, one error line a second at most
    replies = [bridge.handle("reserve_soc", b"50") for _ in range(10_000)]
    assert sum(r is not None and r[0] == "ack" for r in replies) <= 41
    assert bridge.rate_limited >= 9_959
    assert sum(r is not None and r[0] == "error" for r in replies) == 1


async def test_discovery_removed_when_disabled(broker, scenario):
    """discovery = false clears the retained configs a previous run left."""
    port = broker()
    async with running(scenario, port) as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
    before = await collect(port, ["homeassistant/#"], 1.5)
    assert len(before) >= 10
    async with running(scenario, port, "mqtt.discovery=false") as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        await asyncio.sleep(0.5)
    after = await collect(port, ["homeassistant/#"], 1.5)
    assert after == {}  # an empty retained payload deletes the retained config


async def test_owner_settings_survive_a_restart(broker, scenario):
    """Settings sent through the broker outlive a Controller restart: the new controller
    runs with them and its first states carry them (no command sent again)."""
    from controller._owner import default_path

    port = broker()
    async with running(scenario, port, "mqtt.allow_anonymous_commands=true") as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        for name, value in (("reserve_soc", "45"), ("mode", "hold"), ("departure", "06:30"),
                            ("departure_soc", "75")):
            rc, out = await mosquitto_pub(port, f"v2h/bench/set/{name}", value)
            assert rc == 0, out
        await until(lambda: ctl.owner.departure_soc == 75.0, 5.0, "the last command")
        await until(lambda: default_path().exists() and b"75" in default_path().read_bytes(),
                    5.0, "the settings on disk")
    async with running(scenario, port) as (ctl, _bench):
        assert (ctl.owner.mode, ctl.owner.reserve_soc, ctl.owner.departure,
                ctl.owner.departure_soc) == ("hold", 45.0, "06:30", 75.0)
        assert ctl.lim.reserve_soc == 45.0 and ctl.plan.hold
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        got = await collect(port, ["v2h/bench/state"], 2.5)
    state = json.loads(got["v2h/bench/state"][-1])
    assert (state["mode"], state["reserve_soc"], state["departure"],
            state["departure_soc"]) == ("hold", 45.0, "06:30", 75.0)
    assert state["setpoint_w"] == 0.0  # hold, as the owner left it
