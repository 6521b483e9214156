"""Local stand-ins for the price APIs, and the recorded prices as fixtures.

The energyzero and easyenergy clients fix their host (https://api.energyzero.nl,
https://mijn.easyenergy.com) but take an aiohttp ClientSession (their documented `session=`
argument). So the tests hand them a session whose resolver sends those names, and only those,
to an aiohttp server on 127.0.0.1 with a throwaway certificate (trustme) that the session
trusts: the clients run unchanged, TLS included, and nothing can reach the network (any other
name fails to resolve). The ENTSO-E source is ours and takes the same session."""

from __future__ import annotations

import csv
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from tests.mqtt.conftest import broker, free_port  # noqa: F401  (a real Mosquitto)

DATA = Path(__file__).parents[2] / "controller" / "prices" / "data"
HOSTS = ("api.energyzero.nl", "mijn.easyenergy.com", "web-api.tp.entsoe.eu")


def rows(name: str) -> list[dict[str, str]]:
    """The rows of one recorded CSV file, as strings."""
    with open(DATA / f"{name}.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class _Resolver(AbstractResolver):
    """The price APIs' host names resolve to the local stand-in; every other name fails."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host not in HOSTS:
            raise OSError(f"tests resolve no name but the price APIs, not {host!r}")
        return [ResolveResult(hostname=host, host="127.0.0.1", port=self.port,
                              family=socket.AF_INET, proto=0, flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        pass


@dataclass
class Api:
    """The stand-in: `answers[path] = (status, content_type, body)`; `seen` the requests."""

    port: int = 0
    ca: trustme.CA | None = None
    answers: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    def answer(self, path: str, body: bytes | str, *, status: int = 200,
               content_type: str = "application/json") -> None:
        self.answers[path] = (status, content_type,
                              body.encode() if isinstance(body, str) else body)

    def session(self) -> aiohttp.ClientSession:
        """A session that reaches only this stand-in, trusting its certificate."""
        assert self.ca is not None
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        s = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=ctx, resolver=_Resolver(self.port)))
        self.sessions.append(s)
        return s


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """The price APIs' stand-in on a free 127.0.0.1 port, over TLS; stopped after the test."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*HOSTS).configure_cert(server_ctx)
    state = Api(ca=ca)

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        state.seen.append((request.method, request.path, dict(request.query),
                           body.decode() if body else None))
        if request.path not in state.answers:
            return web.Response(status=404, text="not found")
        status, ctype, payload = state.answers[request.path]
        return web.Response(status=status, body=payload, content_type=ctype)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    state.port = runner.addresses[0][1]
    try:
        yield state
    finally:
        for s in state.sessions:
            await s.close()
        await runner.cleanup()
