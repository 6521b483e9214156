"""systemd's notify protocol (sd_notify): READY=1 once, WATCHDOG=1 after each completed
cycle, STOPPING=1 at the end. A datagram to $NOTIFY_SOCKET; nothing without it."""

from __future__ import annotations

import contextlib
import os
import socket


class Notifier:
    """Sends state lines to systemd when run as a Type=notify service."""

    def __init__(self, address: str | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if addr.startswith("@"):  # an abstract socket
            addr = "\0" + addr[1:]
        self.addr = addr
        self.sock: socket.socket | None = None
        if addr:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.setblocking(False)

    def send(self, state: str) -> None:
        if self.sock is None:
            return
        with contextlib.suppress(OSError):  # systemd gone or busy: its watchdog will say so
            self.sock.sendto(state.encode(), self.addr)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
