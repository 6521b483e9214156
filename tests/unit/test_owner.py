"""The owner's settings (controller/_owner.py): narrowing, the file, re-validation on load."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from controller import config
from controller._owner import OwnerSettings, bounds, default_path
from controller.mqtt import (
    ChargeNow,
    SetDeparture,
    SetDepartureSoc,
    SetMaxDischarge,
    SetMode,
    SetReserve,
    decode_command,
)


def cfg(*overrides: str):
    return config.defaults(overrides)


class TestApply:
    def test_apply_narrows_the_config(self):
        """Each command within the config is taken and recorded as the owner's."""
        c = cfg()
        o = OwnerSettings(c)
        assert o.apply(SetReserve(value=45.0), c) is None
        assert o.apply(SetMaxDischarge(value=3000.0), c) is None
        assert o.apply(SetMode(value="hold"), c) is None
        assert o.apply(SetDeparture(value="07:30"), c) is None
        assert o.apply(SetDepartureSoc(value=70.0), c) is None
        assert (o.reserve_soc, o.max_discharge_w, o.mode, o.departure, o.departure_soc) == \
            (45.0, 3000.0, "hold", "07:30", 70.0)
        assert o.chosen == {"reserve_soc", "max_discharge_w", "mode", "departure",
                            "departure_soc"}

    def test_apply_never_widens_the_config(self):
        """Below the configured reserve, over max_soc − hysteresis, above the configured
        discharge power, a departure SoC over max_soc: refused with a reason, unchanged."""
        c = cfg()
        o = OwnerSettings(c)
        assert "below the configured reserve" in o.apply(SetReserve(value=29.0), c)
        assert "max_soc" in o.apply(SetReserve(value=88.5), c)
        assert "configured maximum" in o.apply(SetMaxDischarge(value=7401.0), c)
        assert "max_soc" in o.apply(SetDepartureSoc(value=95.0), c)
        assert (o.reserve_soc, o.max_discharge_w, o.departure_soc) == (30.0, 7400.0, 80.0)
        assert not o.chosen

    def test_apply_takes_exactly_the_bounds(self):
        """The bounds Home Assistant is offered are taken, one step beyond is not."""
        c = cfg("limits.max_soc=85", "limits.soc_hyst=3", "limits.reserve_soc=25")
        b = bounds(c)
        assert b["reserve_soc"] == (25.0, 82.0)
        o = OwnerSettings(c)
        assert o.apply(SetReserve(value=82.0), c) is None
        assert o.apply(SetReserve(value=25.0), c) is None
        assert o.apply(SetReserve(value=83.0), c) is not None
        assert o.apply(SetDepartureSoc(value=85.0), c) is None
        assert o.apply(SetDepartureSoc(value=86.0), c) is not None

    def test_charge_now_sets_the_mode(self):
        """The button is the mode charge-now."""
        c = cfg()
        o = OwnerSettings(c)
        assert o.apply(ChargeNow(), c) is None and o.mode == "charge-now"

    def test_empty_departure_restores_the_configs(self):
        """An emptied departure text ("" or no payload) clears the owner's departure."""
        c = cfg("plan.departure=06:15")
        o = OwnerSettings(c)
        assert o.departure == "06:15"
        o.apply(SetDeparture(value="08:00"), c)
        assert o.apply(decode_command("departure", b""), c) is None
        assert o.departure == "06:15" and "departure" not in o.chosen


class TestFile:
    def test_round_trip(self, tmp_path):
        """Saved, loaded: the same chosen values; the file is 0600 and holds only those."""
        c = cfg()
        o = OwnerSettings(c)
        o.apply(SetReserve(value=50.0), c)
        o.apply(SetMode(value="self-consumption"), c)
        o.apply(SetDeparture(value="07:45"), c)
        p = tmp_path / "sub" / "owner.json"
        o.save(p)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        assert json.loads(p.read_bytes()) == {"version": 1, "mode": "self-consumption",
                                              "reserve_soc": 50.0, "departure": "07:45"}
        back = OwnerSettings.load(p, c)
        assert (back.mode, back.reserve_soc, back.departure) == \
            ("self-consumption", 50.0, "07:45")
        assert back.max_discharge_w == 7400.0 and back.chosen == o.chosen
        assert [f.name for f in tmp_path.joinpath("sub").iterdir()] == ["owner.json"]

    def test_save_soon_writes_in_order(self, tmp_path):
        """Saves off the caller's thread, in order: the last settings win."""
        c = cfg()
        o = OwnerSettings(c)
        p = tmp_path / "owner.json"
        futs = []
        for v in range(31, 60):
            o.apply(SetReserve(value=float(v)), c)
            futs.append(o.save_soon(p))
        for f in futs:
            f.result(5)
        assert OwnerSettings.load(p, c).reserve_soc == 59.0

    def test_missing_file_is_the_defaults(self, tmp_path, caplog):
        """No file (a first start): the config's settings, nothing logged above info."""
        with caplog.at_level(logging.INFO, logger="v2h.owner"):
            o = OwnerSettings.load(tmp_path / "none.json", cfg())
        assert (o.mode, o.reserve_soc, o.chosen) == ("auto", 30.0, set())
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    @pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"x"',
                                      b'{"mode": "hold"}', b'{"version": 99}', b"",
                                      b"{" + b" " * 70_000 + b"}"])
    def test_corrupt_file_is_a_warning_and_defaults(self, tmp_path, caplog, body):
        """Garbage, a foreign shape, another version, empty, huge: one warning, defaults."""
        p = tmp_path / "owner.json"
        p.write_bytes(body)
        with caplog.at_level(logging.INFO, logger="v2h.owner"):
            o = OwnerSettings.load(p, cfg())
        assert (o.mode, o.reserve_soc, o.chosen) == ("auto", 30.0, set())
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "corrupt" in warnings[0].getMessage()

    def test_unreadable_file_is_a_warning(self, tmp_path, caplog):
        """A directory where the file should be: one warning, the defaults."""
        p = tmp_path / "owner.json"
        p.mkdir()
        with caplog.at_level(logging.INFO, logger="v2h.owner"):
            o = OwnerSettings.load(p, cfg())
        assert not o.chosen
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1

    def test_wider_than_config_is_dropped_with_one_warning(self, tmp_path, caplog):
        """Values the config (made stricter since) no longer allows are dropped, never
        applied, in one warning; the values still allowed are kept."""
        p = tmp_path / "owner.json"
        p.write_text(json.dumps({"version": 1, "mode": "hold", "reserve_soc": 35.0,
                                 "max_discharge_w": 6000.0, "departure_soc": 88.0,
                                 "departure": "25:00"}))
        strict = cfg("limits.reserve_soc=40", "limits.max_discharge_w=5000",
                     "limits.max_soc=85")
        with caplog.at_level(logging.INFO, logger="v2h.owner"):
            o = OwnerSettings.load(p, strict)
        assert o.mode == "hold" and o.chosen == {"mode"}
        assert (o.reserve_soc, o.max_discharge_w, o.departure_soc, o.departure) == \
            (40.0, 5000.0, 80.0, None)
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        for name in ("reserve_soc", "max_discharge_w", "departure_soc", "departure"):
            assert name in warnings[0]

    def test_default_path_is_beside_the_ledger(self, monkeypatch, tmp_path):
        """$STATE_DIRECTORY/owner.json under systemd, the ledger's directory otherwise."""
        from controller.ledger import default_path as ledger_path

        monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "st"))
        assert default_path() == tmp_path / "st" / "owner.json"
        monkeypatch.delenv("STATE_DIRECTORY")
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
        assert default_path().parent == ledger_path().parent == tmp_path / "xdg" / "v2h"
