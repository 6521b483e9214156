"""The Mosquitto helper the MQTT tests and `make bench` share (hil._broker)."""

from __future__ import annotations

import socket

import pytest

from hil._broker import Brokers


def test_a_port_taken_by_another_server_is_not_handed_back(tmp_path):
    """Review R, session 7: the helper waited for anything to listen on the port, so a port
    taken between free_port() and mosquitto's bind (another worker on the machine) came
    back as the broker's while its mosquitto had exited. It now watches its own process."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        brokers = Brokers(tmp_path)
        try:
            with pytest.raises(RuntimeError, match="mosquitto exited"):
                brokers(port=port)
        finally:
            brokers.stop_all()
