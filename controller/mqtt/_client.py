"""The MQTT bridge: state out every cycle, owner commands in, Home Assistant discovery. It
is never in the safety path: the loop only offers it the newest state (never waits), and a
slow, dead or hostile broker changes nothing but what reaches the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Callable

import aiomqtt
import msgspec

from controller.config import Config

from . import _discovery
from ._inbox import MAX_QUEUED, Episodes, Inbox, Oversize
from ._messages import ENCODER, MAX_PAYLOAD, AnyCommand, CommandError, State, decode_command

log = logging.getLogger("v2h.mqtt")
RATE_PER_S = 20.0   # commands accepted per second...
BURST = 40.0        # ...with this burst; beyond, dropped (counted, one error a second)
PUBLISH_TIMEOUT_S = 2.0
TLS_LOAD_TIMEOUT_S = 5.0
BACKOFF_MAX_S = 8.0


class Bridge:
    """One broker connection, reconnecting with jittered backoff until `stop` is set."""

    def __init__(self, cfg: Config, apply: Callable[[AnyCommand], str | None],
                 clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random) -> None:
        self.cfg = cfg
        self.apply = apply
        self.clock = clock
        self.jitter = jitter
        self.prefix = f"{cfg.mqtt.topic_prefix}/{cfg.site.id}"
        self._latest: bytes | None = None
        self._fresh = asyncio.Event()
        self.dropped_states = 0
        self.published_states = 0
        self.rejected = 0
        self.rate_limited = 0
        self._tokens = BURST
        self._t_tokens = clock()
        self._last_limit_note = -1e9
        self.connected = asyncio.Event()
        self.failures = 0  # failed connection attempts since the last success
        self.oversize = 0  # command payloads over MAX_PAYLOAD, dropped unread
        self.queue_dropped = 0  # messages dropped because the incoming queue was full
        self._inbox: Inbox | None = None
        self._episodes = Episodes(log, clock)
        m = cfg.mqtt
        # an owner's command moves the car's energy: only from a session the broker has
        # authenticated (its ACL then says who may command), unless the owner says otherwise
        self.authenticated = bool(m.username and m.password) or bool(m.cert_file)
        self.commands = self.authenticated or m.allow_anonymous_commands

    def _start_notes(self) -> None:
        """What the [mqtt] settings mean for security, said once when the bridge starts."""
        m = self.cfg.mqtt
        if m.password and not (m.ca_file or m.cert_file):
            log.warning("mqtt: a password without TLS (mqtt.ca_file unset): it crosses the "
                        "network in clear text")
        if not self.authenticated and m.allow_anonymous_commands:
            log.warning("mqtt: owner commands taken over an anonymous session "
                        "(mqtt.allow_anonymous_commands = true): whoever reaches the broker "
                        "can command the car")
        elif not self.commands:
            log.info("mqtt: owner commands off (not subscribed to %s/set/+): no username and "
                     "password or client certificate, and mqtt.allow_anonymous_commands is "
                     "false; state and discovery are published", self.prefix)

    # -- from the control loop: never blocks ------------------------------------------------
    def offer(self, state: State) -> None:
        """Keep the newest state for the publisher; an unsent older one is dropped."""
        if self._latest is not None:
            self.dropped_states += 1
        self._latest = ENCODER.encode(state)
        self._fresh.set()

    # -- the connection -------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext | None:
        """TLS when ca_file or cert_file is set: the server's certificate checked against
        ca_file (the system's CAs when unset) and its name against mqtt.host; cert_file (and
        key_file, else the key is read from cert_file) is our client certificate."""
        m = self.cfg.mqtt
        if m.key_file and not m.cert_file:
            raise ValueError("mqtt.key_file is set without mqtt.cert_file")
        if not (m.ca_file or m.cert_file):
            return None
        ctx = ssl.create_default_context(cafile=m.ca_file)
        if m.cert_file:
            ctx.load_cert_chain(m.cert_file, m.key_file)
        return ctx

    def _client(self, tls: ssl.SSLContext | None) -> aiomqtt.Client:
        m = self.cfg.mqtt
        return aiomqtt.Client(
            m.host, m.port, username=m.username, password=m.password,
            identifier=f"v2h-{self.cfg.site.id}", tls_context=tls, timeout=5.0,
            will=aiomqtt.Will(f"{self.prefix}/availability", "offline", qos=1, retain=True),
            max_queued_incoming_messages=MAX_QUEUED, queue_type=self._new_inbox,  # type: ignore[arg-type]  # a factory of Inbox(maxsize) will do
            keepalive=15)

    def _new_inbox(self, maxsize: int) -> Inbox:
        self._inbox = Inbox(maxsize)
        return self._inbox

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        m = self.cfg.mqtt
        tls: ssl.SSLContext | None = None
        self._start_notes()
        while not stop.is_set():
            try:
                if tls is None and (m.ca_file or m.cert_file or m.key_file):
                    # file reads (the system's CA bundle may take tens of ms): once, and
                    # off the loop's thread
                    async with asyncio.timeout(TLS_LOAD_TIMEOUT_S):
                        tls = await asyncio.to_thread(self._tls_context)
                async with self._client(tls) as client:
                    backoff = 1.0
                    await self._session(client, stop)
            except Exception as caught:  # noqa: BLE001 - whatever the broker does, control goes on
                exc: BaseException = caught
                if isinstance(caught, BaseExceptionGroup):
                    exc = caught.exceptions[0]
                self.connected.clear()
                # capped low: a home broker that restarts should see us back within seconds
                delay = min(BACKOFF_MAX_S, backoff) * (0.5 + 0.5 * self.jitter())
                # the text only: a record holding the exception would keep its frames (and
                # the sockets in them) alive for as long as a handler keeps the record
                why = str(exc) or type(exc).__name__
                if self.failures == 0:  # one line when the trouble starts, then debug
                    log.warning("fault start mqtt %s; retrying with backoff (<= %.0f s)", why,
                                BACKOFF_MAX_S)
                else:
                    log.debug("mqtt: %s; retrying in %.1f s", why, delay)
                self.failures += 1
                backoff *= 2.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _session(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        p = self.prefix
        await client.publish(f"{p}/availability", "online", qos=1, retain=True)
        for topic, payload in _discovery.configs(self.cfg, p):
            body = ENCODER.encode(payload) if self.cfg.mqtt.discovery else b""
            await client.publish(topic, body, qos=1, retain=True)
        if self.commands:
            await client.subscribe(f"{p}/set/+", qos=1)
        self.connected.set()
        if self.failures:
            log.info("fault end mqtt: connected to %s:%d after %d failed attempts",
                     self.cfg.mqtt.host, self.cfg.mqtt.port, self.failures)
        else:
            log.info("mqtt: connected to %s:%d", self.cfg.mqtt.host, self.cfg.mqtt.port)
        self.failures = 0
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self._publisher(client), name="v2h.mqtt.state")]
            if self.commands:
                tasks.append(tg.create_task(self._listener(client), name="v2h.mqtt.commands"))
            await stop.wait()
            for task in tasks:
                task.cancel()
        self._episodes.tick(force=True)
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await client.publish(f"{p}/availability", "offline", qos=1, retain=True)

    async def _publisher(self, client: aiomqtt.Client) -> None:
        while True:
            await self._fresh.wait()
            self._fresh.clear()
            body, self._latest = self._latest, None
            if body is None:
                continue
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await client.publish(f"{self.prefix}/state", body, qos=0)
            self.published_states += 1
            self._note_queue()
            self._episodes.tick()  # a flood's end is logged within a cycle of QUIET_S

    # -- commands ---------------------------------------------------------------------------
    def _take_token(self) -> bool:
        now = self.clock()
        self._tokens = min(BURST, self._tokens + (now - self._t_tokens) * RATE_PER_S)
        self._t_tokens = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _note_queue(self) -> None:
        dropped = self._inbox.dropped if self._inbox is not None else 0
        if dropped > self.queue_dropped:
            self._episodes.note("mqtt_queue_full",
                                f"{dropped - self.queue_dropped} incoming message(s) dropped "
                                f"(queue of {MAX_QUEUED} full)")
            self.queue_dropped = dropped

    async def _listener(self, client: aiomqtt.Client) -> None:
        async for msg in client.messages:
            self._note_queue()
            if isinstance(msg, Oversize):
                reply = self.handle_oversize(msg.topic.rsplit("/", 1)[-1], msg.size)
            else:
                name = str(msg.topic).rsplit("/", 1)[-1]
                payload = (msg.payload if isinstance(msg.payload, bytes)
                           else str(msg.payload).encode())
                reply = self.handle(name, payload)
            if reply is not None:
                topic, body = reply
                async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                    await client.publish(f"{self.prefix}/{topic}", body, qos=1)

    def _rate_limited(self, name: str) -> tuple[str, bytes] | None:
        self.rate_limited += 1
        now = self.clock()
        if now - self._last_limit_note >= 1.0:
            self._last_limit_note = now
            return "error", ENCODER.encode({"name": name[:64],
                                            "reason": "rate limited: dropped"})
        return None

    def handle_oversize(self, name: str, size: int) -> tuple[str, bytes] | None:
        """A payload of `size` bytes, over MAX_PAYLOAD, already let go unread: its error
        (within the rate limit), and the episode's log line when it is the first."""
        self.oversize += 1
        # repr: the topic is the sender's text, and a log line stays one line
        self._episodes.note("mqtt_oversize", f"command payload of {size} bytes for "
                            f"{name[:64]!r} dropped unread (limit {MAX_PAYLOAD} bytes)")
        if not self._take_token():
            return self._rate_limited(name)
        self.rejected += 1
        return "error", ENCODER.encode({"name": name[:64], "reason":
                                        f"payload too large ({size} bytes > {MAX_PAYLOAD}): "
                                        "dropped unread"})

    def handle(self, name: str, payload: bytes) -> tuple[str, bytes] | None:
        """One command: ('ack' | 'error', message) to publish, or None when rate-limited."""
        if not self._take_token():
            return self._rate_limited(name)
        try:
            cmd = decode_command(name, payload)
            reason = self.apply(cmd)
            if reason:
                raise CommandError(name, reason)
        except CommandError as exc:
            self.rejected += 1
            return "error", ENCODER.encode({"name": exc.name, "reason": exc.reason})
        return "ack", ENCODER.encode({"name": name, "value": msgspec.to_builtins(cmd)["value"]})
