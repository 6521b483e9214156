"""Open a page in headless Chromium over the DevTools protocol and collect what its console
says: console errors and warnings, uncaught exceptions, and the browser's own log entries
(a resource that failed to load, a blocked request). For the statement's test."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

_LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")
TIMEOUT_S = 30.0


def chromium() -> str:
    """The chromium binary. `make test` installs it (the Makefile's sysdeps), as it does
    Mosquitto; its absence is a failure, never a skip."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    pytest.fail("chromium is not installed: run `make test` (it installs it as root) or "
                "`apt-get install chromium`")


@dataclass
class Page:
    """What one page load showed: problems (console errors, exceptions, error log entries),
    warnings, values evaluated in the page, and its print (PDF bytes)."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    pdf: bytes = b""
    png: bytes = b""  # a screenshot of the whole page, when asked for


class _Cdp:
    """One DevTools websocket: commands by id, events kept in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.n = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Condition()

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            fut = self.waiting.pop(data.get("id", -1), None)
            if fut is not None:
                fut.set_result(data)
            else:
                async with self.changed:
                    self.events.append(data)
                    self.changed.notify_all()

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   session: str | None = None) -> dict[str, Any]:
        self.n += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[self.n] = fut
        msg: dict[str, Any] = {"id": self.n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send_str(json.dumps(msg))
        answer = await fut
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def wait_for(self, method: str) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: any(e.get("method") == method
                                                    for e in self.events))


def _sort(events: list[dict[str, Any]], page: Page) -> None:
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            if p["type"] in ("error", "assert"):
                page.problems.append(f"console.{p['type']}: {text}")
            elif p["type"] == "warning":
                page.warnings.append(f"console.warning: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            page.problems.append(f"exception: {d.get('exception', {}).get('description') or d}")
        elif m == "Log.entryAdded":
            entry = p["entry"]
            line = f"log {entry['source']}: {entry['text']} {entry.get('url', '')}".strip()
            if entry["level"] == "error":
                page.problems.append(line)
            elif entry["level"] == "warning":
                page.warnings.append(line)


async def open_page(url: str, expressions: dict[str, str] | None = None,
                    screenshot: bool = False) -> Page:
    """Load `url` in a fresh headless Chromium (its own profile, DevTools on a free port of
    127.0.0.1), evaluate `expressions` in the page, print it to PDF (and, with
    `screenshot`, take a PNG of the whole page), and report."""
    args = [chromium(), "--headless=new", "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1", "--no-first-run",
            "--no-default-browser-check", "--disable-gpu", "--disable-extensions"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
    page = Page()
    with tempfile.TemporaryDirectory(prefix="v2h-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            *args, f"--user-data-dir={profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await _drive(proc, url, expressions or {}, page, screenshot)
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
    return page


async def _drive(proc: asyncio.subprocess.Process, url: str, expressions: dict[str, str],
                 page: Page, screenshot: bool = False) -> None:
    assert proc.stderr is not None
    ws_url = None
    while ws_url is None:
        line = await proc.stderr.readline()
        if not line:
            raise RuntimeError("chromium ended before its DevTools endpoint was up")
        m = _LISTENING.search(line)
        ws_url = m.group(1).decode() if m else None
    drain = asyncio.create_task(proc.stderr.read(), name="chromium.stderr")
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
        cdp = _Cdp(ws)
        reader = asyncio.create_task(cdp.read(), name="chromium.cdp")
        try:
            target = await cdp.call("Target.createTarget", {"url": "about:blank"})
            s = (await cdp.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                          "flatten": True}))["sessionId"]
            for domain in ("Runtime", "Log", "Page"):
                await cdp.call(f"{domain}.enable", session=s)
            await cdp.call("Page.navigate", {"url": url}, session=s)
            await cdp.wait_for("Page.loadEventFired")
            for name, expr in expressions.items():
                r = await cdp.call("Runtime.evaluate", {"expression": expr,
                                                        "returnByValue": True}, session=s)
                page.values[name] = r["result"].get("value")
            if screenshot:
                shot = await cdp.call("Page.captureScreenshot",
                                      {"format": "png", "captureBeyondViewport": True},
                                      session=s)
                page.png = base64.b64decode(shot["data"])
            pdf = await cdp.call("Page.printToPDF", {"preferCSSPageSize": True}, session=s)
            page.pdf = base64.b64decode(pdf["data"])
            _sort([e for e in cdp.events if e.get("sessionId") == s], page)
            # no answer awaited: the browser may close the socket before it sends one
            await ws.send_str(json.dumps({"id": 0, "method": "Browser.close"}))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    await proc.wait()
    await drain
