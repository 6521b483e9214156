"""A real Home Assistant (2025.4, its own Python 3.13 venv) as the peer of v2h's MQTT
discovery: onboarded over its REST API, the MQTT integration added through its config flow,
v2h on the bench publishing to the same Mosquitto. What Home Assistant made of it is read
back from /api/states and its log. Slow (HA takes ~10 s to start): `make ha-check`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from controller.ledger import Ledger, default_path
from controller.mqtt._words import (
    REGULATING_CHARGE,
    REGULATING_DISCHARGE,
    REGULATING_FORCED,
    STATE_WORDS,
)
from tests.helpers import on_bench
from tests.ledger.test_store import feed
from tests.mqtt.conftest import free_port, until

pytestmark = [pytest.mark.slow, pytest.mark.hil]

HA_VENV = Path(os.environ.get("V2H_HA_VENV", "/tmp/ha-venv"))
SITE = "home"
ENTITIES = {
    "sensor": ("grid_power", "car_power", "car_soc", "state", "reason", "plan",
               "energy_imported", "energy_exported", "energy_charged", "energy_discharged"),
    "select": ("mode",), "number": ("reserve_soc", "max_discharge_w", "departure_soc"),
    "text": ("departure",), "button": ("charge_now",),
}
IDS = sorted(f"{c}.v2h_{SITE}_{k}" for c, keys in ENTITIES.items() for k in keys)
PASSWORD = "v2h-check-only"  # a throwaway HA on 127.0.0.1, gone with the test


@pytest.fixture
def hass_bin() -> Path:
    """Home Assistant's `hass` in its venv: absent, the test is skipped, except in CI."""
    hass = HA_VENV / "bin" / "hass"
    if not hass.exists():
        why = f"no Home Assistant venv at {HA_VENV} (make ha-check makes one)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return hass


class HomeAssistant:
    """One Home Assistant process on a free 127.0.0.1 port, config in `d`, log in ha.log."""

    def __init__(self, hass: Path, d: Path) -> None:
        self.hass, self.d = hass, d
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = d / "ha.log"
        self.proc: subprocess.Popen | None = None
        self.token = ""

    def start(self) -> None:
        self.d.mkdir(parents=True, exist_ok=True)
        (self.d / "configuration.yaml").write_text(
            "homeassistant:\n  name: v2h check\n  latitude: 52.37\n  longitude: 4.89\n"
            "  elevation: 0\n  unit_system: metric\n  time_zone: Europe/Amsterdam\n"
            "  country: NL\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\n"
            "api:\nconfig:\nonboarding:\nlogger:\n  default: warning\n")
        self.out = open(self.d / "stdout.txt", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(self.hass), "-c", str(self.d), "--skip-pip", "--log-file", str(self.log)],
            stdout=self.out, stderr=subprocess.STDOUT, cwd=self.d)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.out.close()

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    async def onboard(self, http: aiohttp.ClientSession) -> None:
        """First user over the onboarding API, then a token from the auth code."""
        await until(self._listening, 180.0, "Home Assistant's HTTP server")
        client_id = f"{self.base}/"
        async with http.post(f"{self.base}/api/onboarding/users", json={
                "client_id": client_id, "name": "Owner", "username": "owner",
                "password": PASSWORD, "language": "en"}) as r:
            assert r.status == 200, await r.text()
            code = (await r.json())["auth_code"]
        async with http.post(f"{self.base}/auth/token", data={
                "grant_type": "authorization_code", "code": code,
                "client_id": client_id}) as r:
            assert r.status == 200, await r.text()
            self.token = (await r.json())["access_token"]

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def add_mqtt(self, http: aiohttp.ClientSession, port: int) -> None:
        """The MQTT integration through its config flow, as the UI adds it."""
        url = f"{self.base}/api/config/config_entries/flow"
        async with http.post(url, json={"handler": "mqtt"}, headers=self._auth()) as r:
            flow = await r.json()
        assert flow.get("step_id") == "broker", flow
        async with http.post(f"{url}/{flow['flow_id']}", headers=self._auth(),
                             json={"broker": "127.0.0.1", "port": port}) as r:
            done = await r.json()
        assert done.get("type") == "create_entry", done

    async def states(self, http: aiohttp.ClientSession) -> dict[str, dict]:
        async with http.get(f"{self.base}/api/states", headers=self._auth()) as r:
            assert r.status == 200
            return {s["entity_id"]: s for s in await r.json() if f"v2h_{SITE}" in
                    s["entity_id"]}

    async def call(self, http: aiohttp.ClientSession, domain: str, service: str,
                   **data) -> None:
        async with http.post(f"{self.base}/api/services/{domain}/{service}", json=data,
                             headers=self._auth()) as r:
            assert r.status == 200, await r.text()

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []


async def _wait_states(ha: HomeAssistant, http: aiohttp.ClientSession, cond, what: str,
                       timeout: float = 60.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        st = await ha.states(http)
        if cond(st):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {json.dumps(st)[:2000]}")
        await asyncio.sleep(0.5)


def _available(st: dict[str, dict]) -> bool:
    return sorted(st) == IDS and all(s["state"] != "unavailable" for s in st.values())


async def test_home_assistant_takes_v2h_discovery(broker, scenario, hass_bin, tmp_path):
    """All 16 entities appear; the departure text is a valid string (not "None"); the
    reserve's max is what v2h takes (88 %, and HA setting 88 is taken); state and reason
    read in words; the energy counters start from the ledger and continue across a v2h
    restart; no ERROR about MQTT or v2h in Home Assistant's log."""
    # a ledger with history: 10 minutes charged at 3 kW, 10 discharged at 1.2 kW, 2 h ago
    t0 = (time.time() - 7200) // 60 * 60
    led = Ledger(default_path())
    t = feed(led, t0, 601, ev_w=3000.0)
    feed(led, t + 1, 601, grid_w=-100.0, ev_w=-1200.0)
    assert led.close()
    port = broker()
    ha = HomeAssistant(hass_bin, tmp_path / "ha")
    ha.start()
    report: dict = {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            await ha.onboard(http)
            await ha.add_mqtt(http, port)
            overrides = ("mqtt.enabled=true", f"mqtt.port={port}", f"site.id={SITE}")
            async with on_bench(scenario, *overrides) as (ctl, _bench):
                await asyncio.wait_for(ctl.bridge.connected.wait(), 10)
                st = await _wait_states(ha, http, lambda s: _available(s) and s[
                    f"sensor.v2h_{SITE}_energy_charged"]["state"] not in ("unknown", ""),
                    "16 available entities with their first state")
                report["first"] = {k: (v["state"], {a: v["attributes"].get(a) for a in (
                    "min", "max", "step", "pattern", "options") if a in v["attributes"]})
                    for k, v in st.items()}
                dep = st[f"text.v2h_{SITE}_departure"]
                assert dep["state"] not in ("None", "unknown", "unavailable")
                assert re.match(dep["attributes"]["pattern"], dep["state"])
                reserve = st[f"number.v2h_{SITE}_reserve_soc"]
                assert (reserve["attributes"]["min"], reserve["attributes"]["max"]) == (30, 88)
                words = {*STATE_WORDS.values(), REGULATING_CHARGE, REGULATING_DISCHARGE,
                         REGULATING_FORCED}
                assert st[f"sensor.v2h_{SITE}_state"]["state"] in words
                assert not re.fullmatch(r"[a-z_,-]+", st[f"sensor.v2h_{SITE}_reason"]["state"])
                charged = float(st[f"sensor.v2h_{SITE}_energy_charged"]["state"])
                discharged = float(st[f"sensor.v2h_{SITE}_energy_discharged"]["state"])
                assert charged == pytest.approx(500.0, abs=2.0)
                assert discharged == pytest.approx(200.0, abs=2.0)
                # the owner moves the reserve to the top HA offers: v2h takes it
                await ha.call(http, "number", "set_value",
                              entity_id=f"number.v2h_{SITE}_reserve_soc", value=88)
                await until(lambda: ctl.owner.reserve_soc == 88.0, 10.0, "reserve 88 taken")
                await ha.call(http, "text", "set_value",
                              entity_id=f"text.v2h_{SITE}_departure", value="07:30")
                await until(lambda: ctl.owner.departure == "07:30", 10.0, "departure taken")
                await _wait_states(ha, http, lambda s: s[f"number.v2h_{SITE}_reserve_soc"][
                    "state"] == "88.0", "HA showing the reserve v2h took")
            await _wait_states(ha, http, lambda s: all(
                v["state"] == "unavailable" for v in s.values()), "v2h offline in HA")
            # a restart of v2h: counters go on from the ledger, the owner's settings hold
            async with on_bench(scenario, *overrides) as (ctl, _bench):
                assert ctl.owner.reserve_soc == 88.0 and ctl.owner.departure == "07:30"
                st = await _wait_states(ha, http, _available, "v2h back in HA")
                st = await _wait_states(ha, http, lambda s: s[
                    f"sensor.v2h_{SITE}_energy_charged"]["state"] not in ("unknown", ""),
                    "the counters after the restart")
                after = float(st[f"sensor.v2h_{SITE}_energy_charged"]["state"])
                after_d = float(st[f"sensor.v2h_{SITE}_energy_discharged"]["state"])
                assert after >= charged and after_d >= discharged
                assert st[f"number.v2h_{SITE}_reserve_soc"]["state"] == "88.0"
                assert st[f"text.v2h_{SITE}_departure"]["state"] == "07:30"
                report["after_restart"] = {k: v["state"] for k, v in st.items()}
    finally:
        ha.stop()
        lines = ha.log_lines()
        report["log_errors"] = [x for x in lines if " ERROR " in x]
        report["log_v2h_mqtt"] = [x for x in lines if re.search(r"mqtt|v2h", x, re.I)
                                  and re.search(r" (ERROR|WARNING) ", x)]
        print("home-assistant:", json.dumps(report, indent=1))
    bad = [x for x in lines if " ERROR " in x and re.search(r"mqtt|v2h", x, re.I)]
    assert not bad, "\n".join(bad)
    assert not [x for x in lines if "not strictly increasing" in x]
    with contextlib.suppress(OSError):
        (tmp_path / "ha-report.json").write_text(json.dumps(report, indent=1))
