"""Owner commands only over an authenticated session: anonymous, v2h publishes but does not
listen; with a password (or a client certificate) it takes commands; a password without TLS
and anonymous commands allowed by the flag are each warned about at start."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess

import aiomqtt
import pytest

from controller import config
from controller.mqtt import Bridge
from tests.mqtt.conftest import free_port, mosquitto_pub, until
from tests.mqtt.test_bridge import running


async def _states_after(port: int, send, n: int, *auth: str) -> dict[str, list[bytes]]:
    """Subscribe to v2h/bench/#, call send(), then collect until n more states came."""
    got: dict[str, list[bytes]] = {}
    user = {"username": auth[0], "password": auth[1]} if auth else {}
    async with aiomqtt.Client("127.0.0.1", port, **user) as c:
        await c.subscribe("v2h/bench/#")
        await send()
        async with asyncio.timeout(15):
            async for msg in c.messages:
                got.setdefault(str(msg.topic), []).append(bytes(msg.payload))
                if len(got.get("v2h/bench/state", [])) >= n:
                    break
    return got


@pytest.mark.hil
async def test_bridge_anonymous_session_takes_no_commands(broker, scenario, caplog):
    """Anonymous, flag unset: states flow, a command is neither applied nor acknowledged
    (the bridge is not subscribed to set/+), and the start says commands are off."""
    port = broker()
    with caplog.at_level(logging.INFO, logger="v2h.mqtt"):
        async with running(scenario, port) as (ctl, _bench):
            await asyncio.wait_for(ctl.bridge.connected.wait(), 10)

            async def send() -> None:
                rc, out = await mosquitto_pub(port, "v2h/bench/set/reserve_soc", "45")
                assert rc == 0, out

            got = await _states_after(port, send, 3)
            assert ctl.owner.reserve_soc == 30.0 and not ctl.bridge.commands
    assert "v2h/bench/ack" not in got and "v2h/bench/error" not in got
    assert json.loads(got["v2h/bench/state"][-1])["reserve_soc"] == 30.0
    assert any("owner commands off" in r.getMessage() for r in caplog.records)


def _passwords(tmp_path, *users: tuple[str, str]):
    pw = tmp_path / "passwd"
    tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    for i, (user, secret) in enumerate(users):
        subprocess.run([tool, "-b", *(["-c"] if i == 0 else []), str(pw), user, secret],
                       check=True, capture_output=True, timeout=10)
    return pw


@pytest.mark.hil
async def test_bridge_password_session_takes_commands(broker, scenario, tmp_path, caplog):
    """Mosquitto with a password_file (mosquitto_passwd -b): v2h logs in, the owner's
    command is applied and acknowledged; the password without TLS is warned about."""
    pw = _passwords(tmp_path, ("v2h", "v2h-secret"), ("owner", "owner-secret"))
    port = broker(f"allow_anonymous false\npassword_file {pw}\n")
    with caplog.at_level(logging.INFO, logger="v2h.mqtt"):
        async with running(scenario, port, "mqtt.username=v2h", "mqtt.password=v2h-secret") \
                as (ctl, _bench):
            await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
            assert ctl.bridge.commands

            async def send() -> None:
                rc, out = await mosquitto_pub(port, "v2h/bench/set/reserve_soc", "45", "-u",
                                              "owner", "-P", "owner-secret")
                assert rc == 0, out

            got = await _states_after(port, send, 3, "owner", "owner-secret")
            await until(lambda: ctl.owner.reserve_soc == 45.0, 5.0, "the owner's reserve")
    assert {"name": "reserve_soc", "value": 45.0} in [json.loads(b) for b in got["v2h/bench/ack"]]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("password without TLS" in w for w in warned), warned


class TestStartNotes:
    """What the bridge says at start about its [mqtt] security settings (no broker needed)."""

    @staticmethod
    def notes(caplog, *overrides: str) -> tuple[Bridge, list[logging.LogRecord]]:
        cfg = config.defaults(("mqtt.enabled=true", f"mqtt.port={free_port()}", "site.id=x",
                               *overrides))
        bridge = Bridge(cfg, lambda cmd: None)
        stop = asyncio.Event()
        stop.set()  # run() says its piece, then sees the stop before connecting
        with caplog.at_level(logging.INFO, logger="v2h.mqtt"):
            asyncio.run(bridge.run(stop))
        return bridge, [r for r in caplog.records if r.name == "v2h.mqtt"]

    def test_bridge_warns_password_without_tls(self, caplog):
        """A password and no ca_file: one warning that it crosses the network in clear."""
        bridge, recs = self.notes(caplog, "mqtt.username=v2h", "mqtt.password=s")
        assert bridge.commands and bridge.authenticated
        assert [r.levelno for r in recs] == [logging.WARNING]
        assert "password without TLS" in recs[0].getMessage()

    def test_bridge_password_with_tls_is_quiet(self, caplog, tmp_path):
        """The same password with ca_file (TLS): nothing to warn about."""
        _, recs = self.notes(caplog, "mqtt.username=v2h", "mqtt.password=s",
                             f"mqtt.ca_file={tmp_path / 'ca.crt'}")
        assert recs == []

    def test_bridge_warns_anonymous_commands_allowed(self, caplog):
        """allow_anonymous_commands = true without credentials: commands on, and a warning."""
        bridge, recs = self.notes(caplog, "mqtt.allow_anonymous_commands=true")
        assert bridge.commands and not bridge.authenticated
        assert [r.levelno for r in recs] == [logging.WARNING]
        assert "allow_anonymous_commands" in recs[0].getMessage()

    def test_bridge_anonymous_commands_off(self, caplog):
        """No credentials, no flag: commands off, said once (info: a choice, not a fault)."""
        bridge, recs = self.notes(caplog)
        assert not bridge.commands
        assert [r.levelno for r in recs] == [logging.INFO]
        assert "owner commands off" in recs[0].getMessage()

    def test_bridge_client_certificate_authenticates(self, caplog, tmp_path):
        """A client certificate is an authenticated session: commands on, no warning."""
        bridge, recs = self.notes(caplog, f"mqtt.cert_file={tmp_path / 'c.crt'}",
                                  f"mqtt.ca_file={tmp_path / 'ca.crt'}")
        assert bridge.commands and recs == []
