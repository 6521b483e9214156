"""Prices from a retained JSON message on an MQTT topic (a home automation that already has
prices publishes them once a day; format in `_payload`). The broker is the one of [mqtt]."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable

import aiomqtt

from controller.config import Mqtt

from ._model import MarketPrices, PriceError
from ._payload import parse_json


class MqttSource:
    """The `mqtt` source: one short connection per fetch that reads the retained message."""

    name = "mqtt"

    def __init__(self, broker: Mqtt, topic: str, *, timeout_s: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.broker = broker
        self.topic = topic
        self.timeout_s = timeout_s
        self.clock = clock

    def _client(self) -> aiomqtt.Client:
        m = self.broker
        tls = None
        if m.ca_file or m.cert_file:
            tls = ssl.create_default_context(cafile=m.ca_file)
            if m.cert_file:
                tls.load_cert_chain(m.cert_file, m.key_file)
        # no fixed identifier: the bridge's session must not be taken over by this one
        return aiomqtt.Client(m.host, m.port, username=m.username, password=m.password,
                              tls_context=tls, timeout=self.timeout_s,
                              max_queued_incoming_messages=10)

    async def fetch(self, start_utc: float, end_utc: float) -> MarketPrices:
        source = f"mqtt {self.topic}"
        payload: object = None
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._client() as client:
                    await client.subscribe(self.topic, qos=1)
                    async for msg in client.messages:
                        payload = msg.payload
                        break
        except TimeoutError:
            raise PriceError(source, f"no retained message within {self.timeout_s:g} s") from None
        if not isinstance(payload, bytes | bytearray) or not payload:
            raise PriceError(source, "empty or non-binary payload")
        return parse_json(bytes(payload), source=source, fetched_utc=self.clock()).clip(
            start_utc, end_utc)
