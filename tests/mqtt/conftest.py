"""A real Mosquitto broker on a free 127.0.0.1 port, started and stopped by the test."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time

import pytest


def mosquitto_path() -> str:
    """Mosquitto is installed by `make test` (Debian's package); its absence is a failure."""
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.path.exists(cand):
            return cand
    raise RuntimeError("mosquitto is not installed: run `make test` (it installs it as root) "
                       "or `apt-get install mosquitto mosquitto-clients`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker(tmp_path):
    """Start mosquitto with the given extra config lines; yields its port."""
    procs: list[subprocess.Popen] = []

    def start(extra: str = "allow_anonymous true\n", port: int | None = None) -> int:
        port = port or free_port()
        conf = tmp_path / f"mosquitto-{port}.conf"
        # as root mosquitto would switch to its own user, who cannot read the test's files
        who = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(f"listener {port} 127.0.0.1\npersistence false\n{who}{extra}")
        proc = subprocess.Popen([mosquitto_path(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return port
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()


async def until(cond, timeout: float, what: str) -> None:
    """Wait until cond() holds (polled every 0.1 s); fail with `what` after timeout s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def mosquitto_pub(port: int, topic: str, payload: str, *extra: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
        "-t", topic, "-m", payload, *extra, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
    return proc.returncode, out.decode()


from tests.hil.conftest import scenario  # noqa: E402,F401  (the bench's midday scenario)
