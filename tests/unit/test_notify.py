"""The systemd notify protocol: datagrams to $NOTIFY_SOCKET, silence without it."""

from __future__ import annotations

import socket

from controller._notify import Notifier


def test_notify_sends_datagrams(tmp_path):
    """READY=1 and WATCHDOG=1 arrive at the socket systemd listens on."""
    path = str(tmp_path / "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    try:
        n = Notifier(path)
        n.send("READY=1")
        n.send("WATCHDOG=1")
        assert srv.recv(64) == b"READY=1"
        assert srv.recv(64) == b"WATCHDOG=1"
        n.close()
    finally:
        srv.close()


def test_notify_without_socket_is_silent(monkeypatch):
    """Not under systemd: nothing is sent and nothing fails."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    n.send("READY=1")
    assert n.sock is None
