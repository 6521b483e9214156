"""The mqtt source against a real Mosquitto on a free 127.0.0.1 port (tests/mqtt's fixture)."""

from __future__ import annotations

import json

import aiomqtt
import pytest

from controller.config import defaults
from controller.prices import PriceError
from controller.prices._mqtt import MqttSource
from tests.mqtt.conftest import mosquitto_pub
from tests.prices.conftest import epoch

T0 = epoch("2025-05-30T22:00:00Z")
TOPIC = "home/prices/day-ahead"


def source(port: int, timeout_s: float = 5.0) -> MqttSource:
    cfg = defaults((f"mqtt.port={port}",))
    return MqttSource(cfg.mqtt, TOPIC, timeout_s=timeout_s, clock=lambda: 11.0)


async def publish(port: int, payload: str) -> None:
    rc, out = await mosquitto_pub(port, TOPIC, payload, "-r", "-q", "1")
    assert rc == 0, out


class TestMqttSource:
    async def test_mqtt_retained_message_read(self, broker):
        """The retained message on the topic is the price series, cut to the period."""
        port = broker()
        await publish(port, json.dumps({"start_utc": T0, "end_utc": T0 + 4 * 3600,
                                        "slot_s": 3600, "market_eur_kwh": [0.1, 0.2, -0.3, 0.4]}))
        m = await source(port).fetch(T0 + 3600, T0 + 3 * 3600)
        assert (m.start_utc, m.slot_s, m.market_eur_kwh) == (T0 + 3600, 3600, [0.2, -0.3])
        assert (m.source, m.fetched_utc) == (f"mqtt {TOPIC}", 11.0)

    @pytest.mark.parametrize("payload, match", [
        ("{oops", "invalid price message"),
        ('{"start_utc": 0, "end_utc": 1800, "market_eur_kwh": [0.1]}', "do not fill"),
        ('{"start_utc": 0, "end_utc": 900, "market_eur_kwh": ["NaN"]}', "invalid price message"),
    ])
    async def test_mqtt_bad_payload_rejected(self, broker, payload, match):
        """Invalid JSON, a wrong length, a NaN string: PriceError, no prices taken."""
        port = broker()
        await publish(port, payload)
        with pytest.raises(PriceError, match=match):
            await source(port).fetch(0, 86_400)

    async def test_mqtt_no_retained_message_times_out(self, broker):
        """Nothing retained on the topic: PriceError after timeout_s, not a hang."""
        port = broker()
        with pytest.raises(PriceError, match="no retained message within 0.5 s"):
            await source(port, timeout_s=0.5).fetch(0, 86_400)

    async def test_mqtt_broker_down_is_an_error(self):
        """No broker listening: the client's MqttError reaches the feed (which retries)."""
        from tests.mqtt.conftest import free_port

        with pytest.raises(aiomqtt.MqttError):
            await source(free_port(), timeout_s=2.0).fetch(0, 86_400)
