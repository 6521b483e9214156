"""The ocpp21 driver's security profiles over loopback TLS (certificates made with the openssl
CLI, as the MQTT TLS test makes them): profile 2 takes the station with its password and
refuses a wrong or missing one; profile 3 takes a station with a client certificate of our
CA and refuses one without (or with a stranger's)."""

from __future__ import annotations

import asyncio
import ssl

import pytest
import pytest_asyncio
import websockets

from controller import config
from controller.devices import Ocpp21
from hil._bench import free_port

pytestmark = pytest.mark.hil
PASSWORD = "s3cret-station-pass"
STATION = "HIL-V2X-1"


@pytest_asyncio.fixture
async def csms(pki):
    """v2h's ocpp21 driver listening under a security profile; closed at the end."""
    made: list[Ocpp21] = []

    async def make(profile: int) -> Ocpp21:
        port = free_port()
        sets = [f"charger.security_profile={profile}", f"charger.cert_file={pki}/server.crt",
                f"charger.key_file={pki}/server.key", f"charger.station_id={STATION}"]
        sets += ([f"charger.password={PASSWORD}"] if profile == 2
                 else [f"charger.ca_file={pki}/ca.crt"])
        cfg = config.defaults(("charger.driver=ocpp21", f"charger.port={port}", *sets))
        d = Ocpp21(cfg.charger)
        made.append(d)
        await d.start()
        return d

    yield make
    for d in made:
        await d.close()


def client_ssl(pki, cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert is not None:
        ctx.load_cert_chain(str(pki / f"{cert}.crt"), str(pki / f"{cert}.key"))
    return ctx


async def dial(d: Ocpp21, ctx: ssl.SSLContext, user: str = "") -> None:
    """Connect as the station and wait until v2h has taken it (or raise)."""
    url = f"wss://{user}127.0.0.1:{d.cfg.port}/{STATION}"
    async with websockets.connect(url, ssl=ctx, subprotocols=[
            websockets.Subprotocol("ocpp2.1")], open_timeout=3) as ws:
        async with asyncio.timeout(3):
            while d.station is None:
                await asyncio.sleep(0.01)
            await ws.send('[2,"1","Heartbeat",{}]')
            assert '"currentTime"' in await ws.recv()


class TestProfile2:
    async def test_station_with_its_password_is_taken(self, csms, pki):
        """TLS and basic auth with the station's identity and password: accepted."""
        d = await csms(2)
        await dial(d, client_ssl(pki), f"{STATION}:{PASSWORD}@")

    @pytest.mark.parametrize("user", [f"{STATION}:wrong-password-xyz@", "",
                                      f"OTHER:{PASSWORD}@"])
    async def test_wrong_or_no_password_is_refused(self, csms, pki, user):
        """A wrong password, none, or another identity: HTTP 401, no station."""
        d = await csms(2)
        with pytest.raises(websockets.InvalidStatus, match="401"):
            await dial(d, client_ssl(pki), user)
        assert d.station is None

    async def test_plain_websocket_is_refused(self, csms):
        """No TLS at all under profile 2: the handshake fails."""
        d = await csms(2)
        with pytest.raises(websockets.InvalidHandshake):
            async with websockets.connect(f"ws://127.0.0.1:{d.cfg.port}/{STATION}",
                                          open_timeout=2):
                pass
        assert d.station is None


class TestProfile3:
    async def test_station_with_a_client_certificate_is_taken(self, csms, pki):
        """A client certificate of our CA: accepted."""
        d = await csms(3)
        await dial(d, client_ssl(pki, "client"))

    @pytest.mark.parametrize("cert", [None, "stranger"])
    async def test_no_or_foreign_certificate_is_refused(self, csms, pki, cert):
        """No client certificate, or one of another CA: the TLS handshake is refused."""
        d = await csms(3)
        # TLS 1.3: the server's alert ends the connection before any HTTP reply
        with pytest.raises((ssl.SSLError, websockets.InvalidHandshake)):
            await dial(d, client_ssl(pki, cert))
        assert d.station is None


async def test_port_taken_is_a_device_error():
    """v2h cannot listen (the port is someone else's): a DeviceError, tried again later."""
    import socket

    from controller.devices import DeviceError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        cfg = config.defaults(("charger.driver=ocpp21", f"charger.port={s.getsockname()[1]}"))
        d = Ocpp21(cfg.charger)
        with pytest.raises(DeviceError, match="cannot listen"):
            await d.start()
        await d.close()
