"""A real Mosquitto broker on a free 127.0.0.1 port: the MQTT tests' and `make bench`'s."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ._child import die_with_parent


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
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until cond() holds (polled every 0.1 s); fail with `what` after timeout s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


class Brokers:
    """Mosquitto processes on 127.0.0.1 by port, each stopped by `stop_all`. Called as
    `broker(extra, port)`: start one and wait (blocking) until it listens; its port."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self, extra: str | None = "allow_anonymous true\n", port: int | None = None
              ) -> int:
        """Launch mosquitto without waiting; its port. extra=None: the port's last config."""
        port = port or free_port()
        conf = self.tmp / f"mosquitto-{port}.conf"
        if extra is not None or not conf.exists():
            extra = "allow_anonymous true\n" if extra is None else extra
            # as root mosquitto would switch to its own user, who cannot read the test's files
            who = "user root\n" if os.geteuid() == 0 else ""
            conf.write_text(f"listener {port} 127.0.0.1\npersistence false\n{who}{extra}")
        self.procs[port] = subprocess.Popen([mosquitto_path(), "-c", str(conf)],
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL,
                                            preexec_fn=die_with_parent())
        return port

    def __call__(self, extra: str = "allow_anonymous true\n", port: int | None = None) -> int:
        port = self.spawn(extra, port)
        proc = self.procs[port]
        deadline = time.monotonic() + 10
        heard = 0
        while time.monotonic() < deadline:
            # its own mosquitto, not whatever else listens there (a port taken between
            # free_port() and the bind, by another worker on the machine): one that cannot
            # bind exits at once, so the port must answer while it still runs, 0.2 s on
            if proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {proc.returncode} (port {port})")
            heard = heard + 1 if listening(port) else 0
            if heard > 4:
                return port
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    async def restart(self, port: int) -> None:
        """Start the broker on `port` again, same config; waits without blocking the loop."""
        self.spawn(None, port)
        await until(lambda: listening(port), 10.0, "mosquitto to listen again")

    async def kill(self, port: int) -> None:
        """SIGKILL the broker on `port` (no goodbye to its clients) and reap it."""
        proc = self.procs.pop(port)
        proc.kill()
        await until(lambda: proc.poll() is not None, 5.0, "mosquitto to die")

    def stop_all(self) -> None:
        for p in self.procs.values():
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        self.procs.clear()
