"""The contract with Home Assistant, without a broker: every value v2h publishes for an
entity is one Home Assistant accepts, every value Home Assistant offers is one v2h takes,
entity ids stay put, counters never go back, and the state reads in words (issue #10.10)."""

from __future__ import annotations

import json
import re

import msgspec
import pytest

import fast
from controller import config
from controller._owner import OwnerSettings, bounds
from controller.ledger import Ledger, lifetime_totals
from controller.loop import Controller
from controller.mqtt import (
    SetDepartureSoc,
    SetMaxDischarge,
    SetReserve,
    configs,
    reason_text,
    state_text,
)
from controller.mqtt._words import REASON_WORDS, STATE_WORDS
from tests.helpers import Clock
from tests.ledger.test_loop import FakeCharger, FakeMeter, M
from tests.ledger.test_store import feed

COMMANDS = {"reserve_soc": SetReserve, "max_discharge_w": SetMaxDischarge,
            "departure_soc": SetDepartureSoc}
CONFIGS = [(), ("limits.max_soc=85", "limits.soc_hyst=2.5", "limits.reserve_soc=20",
                "limits.max_discharge_w=4600", "plan.departure=07:15")]


def by_key(cfg) -> dict[str, tuple[str, dict]]:
    return {t.split("/")[3]: (t.split("/")[1], p) for t, p in configs(cfg, "v2h/home")}


def controller(tmp_path, *overrides: str) -> tuple[Controller, Clock]:
    mono = Clock(1000.0)
    cfg = config.defaults((f"ledger.path={tmp_path / 'ledger.db'}", "site.id=home",
                           *overrides))
    ctl = Controller(cfg, FakeMeter(mono), FakeCharger(mono), clock=mono)
    ctl.wall = Clock(M + 0.5)
    return ctl, mono


@pytest.mark.parametrize("overrides", CONFIGS)
def test_numbers_offer_exactly_what_v2h_takes(overrides):
    """Each number's min and max are the owner's bounds from the config: both are taken by
    v2h, a step beyond either is refused (the reserve's max is max_soc − soc_hyst: 88 %
    with the defaults, where Home Assistant was offered 90 and v2h refused it)."""
    cfg = config.defaults(overrides)
    ents = by_key(cfg)
    for key, cmd in COMMANDS.items():
        component, p = ents[key]
        assert component == "number"
        assert (p["min"], p["max"]) == bounds(cfg)[key]
        o = OwnerSettings(cfg)
        assert o.apply(cmd(value=p["max"]), cfg) is None, key
        assert o.apply(cmd(value=p["min"]), cfg) is None, key
        if p["max"] + p["step"] <= (100 if key != "max_discharge_w" else 100_000):
            assert o.apply(cmd(value=p["max"] + p["step"]), cfg) is not None, key
        if p["min"] - p["step"] >= 0:
            assert o.apply(cmd(value=p["min"] - p["step"]), cfg) is not None, key
    if not overrides:
        assert ents["reserve_soc"][1]["max"] == 88.0


def test_entity_ids_are_stable_and_use_default_entity_id():
    """default_entity_id (Home Assistant 2025.10+) names the very entity object_id named
    before (kept for older versions, which drop default_entity_id), for every entity."""
    ents = by_key(config.defaults(("site.id=home",)))
    assert len(ents) == 16
    for key, (component, p) in ents.items():
        assert p["object_id"] == f"v2h_home_{key}" == p["unique_id"]
        assert p["default_entity_id"] == f"{component}.v2h_home_{key}"


@pytest.mark.parametrize("overrides", CONFIGS)
def test_every_published_value_fits_its_entity(tmp_path, overrides):
    """The state as published: the departure is a string the text entity's pattern takes
    (never None), each number within its min and max, the mode one of the options."""
    ctl, _ = controller(tmp_path, *overrides)
    try:
        state = json.loads(msgspec.json.encode(ctl.state_message(("reserve",))))
        ents = by_key(ctl.cfg)
        dep = ents["departure"][1]
        assert isinstance(state["departure"], str)
        assert re.compile(dep["pattern"]).match(state["departure"])  # as HA checks it
        assert len(state["departure"]) <= dep["max"]
        for key in COMMANDS:
            p = ents[key][1]
            assert p["min"] <= state[key] <= p["max"], key
        assert state["mode"] in ents["mode"][1]["options"]
        if overrides:
            assert state["departure"] == "07:15"
    finally:
        ctl.ledger.close()


def test_state_and_reason_in_words():
    """One word table per code list, covering every mode and reason of the core; the JSON
    keeps the codes and Home Assistant's sensors show the words."""
    assert set(STATE_WORDS) == set(fast.MODES)
    assert set(REASON_WORDS) == set(fast.REASONS)
    mode = fast.MODES.index
    assert state_text(mode("REGULATING"), -1500.0) == "Covering the house from the car"
    assert state_text(mode("GRID_LOSS"), 0.0) == "Stopped: the grid is down"
    assert state_text(mode("METER_STALE"), 0.0) == "Waiting: the meter does not answer"
    lim = fast.Limits()
    lim.reserve_soc = 30.0
    assert reason_text(("reserve", "deadband"), lim) == "Not below your reserve of 30 %"
    assert reason_text(("deadband",), lim).startswith("Balanced")
    assert reason_text((), lim) == "Nothing limits the car"
    ents = by_key(config.defaults())
    assert ents["state"][1]["value_template"] == "{{ value_json.state_text }}"
    assert ents["reason"][1]["value_template"] == "{{ value_json.reason_text }}"


def test_state_message_carries_codes_and_words(tmp_path):
    """state/reason stay codes; state_text/reason_text say them with the limits in force."""
    ctl, _ = controller(tmp_path)
    try:
        ctl.owner.apply(SetReserve(value=42.0), ctl.cfg)
        ctl._apply_owner()
        s = ctl.state_message(("reserve",))
        assert (s.state, s.reason) == ("STARTUP", "reserve")
        assert s.reason_text == "Not below your reserve of 42 %"
        assert s.state_text.startswith("Starting")
    finally:
        ctl.ledger.close()


async def test_counters_continue_from_the_ledger(tmp_path):
    """charged_wh / discharged_wh start at the ledger's lifetime totals, not at 0, and a
    restart never publishes less than the last run did."""
    led = Ledger(tmp_path / "ledger.db")
    feed(led, M - 7200, 601, ev_w=3000.0)  # 10 minutes charging at 3 kW, two hours ago
    assert led.close()
    base = lifetime_totals(tmp_path / "ledger.db")
    assert base[0] == pytest.approx(500.0, abs=1.0)
    ctl, mono = controller(tmp_path)
    first = ctl.state_message()
    assert (first.charged_wh, first.discharged_wh) == pytest.approx(base, abs=1e-3)
    for _ in range(130):  # the fake charger charges 2 kW
        await ctl.cycle()
        mono.t += 1.0
        ctl.wall.t += 1.0
    assert ctl.ledger.drain()
    await ctl.cycle()
    last = ctl.state_message().charged_wh
    assert last > base[0] + 60.0  # two committed minutes at 2 kW: 66.7 Wh
    await ctl.shutdown()
    again, _ = controller(tmp_path)
    try:
        assert again.state_message().charged_wh >= last
    finally:
        again.ledger.close()


def test_owner_settings_are_restored_at_start(tmp_path):
    """A Controller starts with the saved settings in force: in the step's limits, in the
    plan and in the first state it publishes."""
    c = config.defaults()
    o = OwnerSettings(c)
    o.apply(SetReserve(value=55.0), c)
    o.apply(SetMaxDischarge(value=2000.0), c)
    from controller.mqtt import SetMode

    o.apply(SetMode(value="self-consumption"), c)
    from controller._owner import default_path

    o.save(default_path())  # $STATE_DIRECTORY: the test's own (tests/conftest.py)
    ctl, _ = controller(tmp_path)
    try:
        assert (ctl.lim.reserve_soc, ctl.lim.max_discharge_w) == (55.0, 2000.0)
        assert ctl.plan.allow_discharge is False
        s = ctl.state_message()
        assert (s.mode, s.reserve_soc, s.max_discharge_w) == ("self-consumption", 55.0,
                                                               2000.0)
    finally:
        ctl.ledger.close()
