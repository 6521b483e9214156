"""TLS with client certificates against a real Mosquitto: the certificates are made at test
time (openssl CLI), the broker wants a client certificate from our CA."""

from __future__ import annotations

import asyncio
import gc
import json
import ssl

import aiomqtt
import pytest

from controller import config
from controller.mqtt import Bridge
from tests.mqtt.conftest import tls_listener
from tests.mqtt.test_bridge import running

pytestmark = pytest.mark.hil
# paho (2.2) leaves the socket of a failed TLS handshake to the garbage collector (its
# _create_socket does not close it when the handshake raises): a ResourceWarning, not our
# leak. The tests that fail handshakes collect in their teardown, so it shows there (where
# it is ignored) and not in whichever test the collector happens to run next.
PAHO_HANDSHAKE_LEAK = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <ssl.SSLSocket:pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def collect_after():
    """A garbage collection in the test's teardown."""
    yield
    gc.collect()


def context(pki, ca: str = "ca", cert: str | None = "client") -> ssl.SSLContext:
    """A client's TLS context: trusting `ca`, presenting `cert` (or no certificate)."""
    ctx = ssl.create_default_context(cafile=str(pki / f"{ca}.crt"))
    if cert:
        ctx.load_cert_chain(str(pki / f"{cert}.crt"), str(pki / f"{cert}.key"))
    return ctx


async def first_messages(port: int, ctx: ssl.SSLContext, topics: list[str], n: int,
                         timeout: float) -> dict[str, bytes]:
    """The first message on each of `topics` (at most n topics), read over TLS."""
    got: dict[str, bytes] = {}
    async with asyncio.timeout(timeout), \
            aiomqtt.Client("127.0.0.1", port, tls_context=ctx, timeout=5.0) as c:
        for t in topics:
            await c.subscribe(t)
        async for msg in c.messages:
            got.setdefault(str(msg.topic), bytes(msg.payload))
            if len(got) >= n:
                return got
    return got


async def test_bridge_tls_client_certificate_publishes(broker, pki, scenario):
    """CA, certificate and key set: the bridge's state and availability are read over TLS."""
    port = broker(tls_listener(pki))
    async with running(scenario, port, f"mqtt.ca_file={pki / 'ca.crt'}",
                       f"mqtt.cert_file={pki / 'client.crt'}",
                       f"mqtt.key_file={pki / 'client.key'}") as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        got = await first_messages(port, context(pki),
                                   ["v2h/bench/availability", "v2h/bench/state"], 2, 10.0)
    assert got["v2h/bench/availability"] == b"online"
    assert json.loads(got["v2h/bench/state"])["state"]
    assert ctl.bridge.published_states >= 1


async def test_bridge_tls_key_in_cert_file(broker, pki, scenario):
    """key_file unset: the key is read from cert_file (one PEM with both), as ssl does."""
    both = pki / "client-both.pem"
    both.write_bytes((pki / "client.crt").read_bytes() + (pki / "client.key").read_bytes())
    port = broker(tls_listener(pki))
    async with running(scenario, port, f"mqtt.ca_file={pki / 'ca.crt'}",
                       f"mqtt.cert_file={both}") as (ctl, _bench):
        await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
        got = await first_messages(port, context(pki), ["v2h/bench/state"], 1, 10.0)
    assert json.loads(got["v2h/bench/state"])["state"]


@PAHO_HANDSHAKE_LEAK
@pytest.mark.parametrize(("ca", "cert"), [("ca", None), ("ca", "stranger"),
                                          ("other-ca", "client")],
                         ids=["no-client-cert", "client-cert-of-another-ca",
                              "trusting-another-ca"])
async def test_tls_listener_refuses_strangers(broker, pki, ca, cert, collect_after):
    """No client certificate, one from another CA, or trusting another CA: refused."""
    port = broker(tls_listener(pki))
    with pytest.raises(aiomqtt.MqttError):
        await first_messages(port, context(pki, ca, cert), ["#"], 1, 10.0)
    # and the broker is fine: our own client still gets in
    async with aiomqtt.Client("127.0.0.1", port, tls_context=context(pki), timeout=5.0):
        pass


@PAHO_HANDSHAKE_LEAK
async def test_bridge_tls_wrong_ca_never_connects(broker, pki, scenario, collect_after):
    """The bridge trusting another CA: it keeps retrying, never connects, the loop runs."""
    port = broker(tls_listener(pki))
    async with running(scenario, port, f"mqtt.ca_file={pki / 'other-ca.crt'}",
                       f"mqtt.cert_file={pki / 'client.crt'}",
                       f"mqtt.key_file={pki / 'client.key'}") as (ctl, _bench):
        n0 = len(ctl.starts)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ctl.bridge.connected.wait(), 3.5)
        assert len(ctl.starts) - n0 >= 3  # the loop went on, a cycle a second
    assert ctl.bridge.published_states == 0


def test_bridge_tls_key_file_without_cert_file_is_an_error(pki):
    """key_file alone is a mistake, not a silent plain connection: the bridge says so."""
    cfg = config.defaults((f"mqtt.key_file={pki / 'client.key'}",))
    with pytest.raises(ValueError, match="key_file"):
        Bridge(cfg, lambda cmd: None)._tls_context()
