"""A real Mosquitto broker on a free 127.0.0.1 port, started and stopped by the test."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from hil._broker import Brokers, free_port, listening, mosquitto_path, until

__all__ = ["Brokers", "free_port", "listening", "mosquitto_path", "until"]


@pytest.fixture
def broker(tmp_path):
    """Brokers for this test; `broker(extra, port)` starts one and returns its port."""
    brokers = Brokers(tmp_path)
    yield brokers
    brokers.stop_all()


async def mosquitto_pub(port: int, topic: str, payload: str, *extra: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
        "-t", topic, "-m", payload, *extra, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
    return proc.returncode, out.decode()



def tls_listener(pki) -> str:
    """Mosquitto lines for a TLS listener that wants a client certificate from our CA."""
    return (f"allow_anonymous true\ncafile {pki / 'ca.crt'}\ncertfile {pki / 'server.crt'}\n"
            f"keyfile {pki / 'server.key'}\nrequire_certificate true\n")


from tests.hil.conftest import scenario  # noqa: E402,F401  (the bench's midday scenario)
