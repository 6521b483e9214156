"""The config file: Structs from TOML, errors as FILE:LINE: key.path: message, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import cli, config

EXAMPLE = Path(__file__).parents[2] / "config" / "example.toml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "v2h.toml"
    p.write_text(text, encoding="utf-8")
    return p


class TestLoad:
    def test_config_defaults(self):
        """No file: the documented defaults."""
        cfg = config.defaults()
        assert cfg.limits.fuse_a == 25.0 and cfg.limits.min_power_w == 150.0
        assert cfg.control.meter_stale_s == 2.5 and cfg.control.grid_reconnect_s == 60.0

    @pytest.mark.parametrize("text, known", [
        ("", 0.0),  # a guess, identified on the way
        ("[control]\nmodel_measured = true\n", 1.0),  # `v2h probe`'s lines
        ("[control]\nidentify = false\n", 1.0),  # the config's word is all there is
    ])
    def test_model_known_from_config(self, tmp_path, text, known):
        """Whether the step traces back with the config's charger model from the first
        cycle (`Limits.model_known`), or brackets until the first fit."""
        cfg = config.load(write(tmp_path, text))
        assert config.core_limits(cfg).model_known == known

    def test_config_example_is_valid_and_complete(self):
        """The commented example validates and sets every section."""
        cfg = config.load(EXAMPLE)
        assert cfg.site.id and cfg.meter.driver == "sdm630"
        text = EXAMPLE.read_text()
        for section in ("site", "meter", "charger", "car", "limits", "control", "mqtt", "plan"):
            assert f"[{section}]" in text

    def test_config_overrides_fixed_key_paths(self):
        """Every key path firmware_notes/design.md "Command line" fixes can be set with --set."""
        cfg = config.defaults((
            "site.id=garage", "meter.driver=em24", "meter.host=10.0.0.5", "meter.port=1502",
            "meter.unit_id=2", "charger.driver=quasar", "charger.host=10.0.0.6",
            "charger.port=502", "charger.unit_id=1", "mqtt.host=broker", "mqtt.port=8883",
            "limits.fuse_a=35", "limits.reserve_soc=40", "limits.max_soc=85",
            "limits.max_charge_w=11000", "limits.max_discharge_w=10000",
            "limits.min_power_w=200"))
        assert cfg.site.id == "garage" and cfg.meter.driver == "em24"
        assert cfg.meter.port == 1502 and cfg.limits.fuse_a == 35.0
        assert cfg.limits.max_charge_w == 11000.0 and cfg.mqtt.port == 8883


class TestErrors:
    @pytest.mark.parametrize(("text", "expected"), [
        ("[limits]\nfuse_a = 25\ncolour = 'blue'\n", "v2h.toml:3: limits.colour: unknown key"),
        ("[limits]\n\nfuse_a = 'big'\n", "v2h.toml:3: limits.fuse_a: Expected `float`, got `str`"),
        ("[limits]\nfuse_a = -25\n", "v2h.toml:2: limits.fuse_a: Expected `float` > 0.0"),
        ("[limits]\nmax_soc = 80\nreserve_soc = 85\n",
         "v2h.toml:3: limits.reserve_soc: must be below limits.max_soc (85 >= 80)"),
        ("[limit]\nfuse_a = 25\n", "v2h.toml:1: limit: unknown section"),
        ("[meter]\nport = 70000\n", "v2h.toml:2: meter.port: Expected `int` <= 65535"),
        ("[limits\nfuse_a = 25\n", "v2h.toml:1: (toml):"),
    ])
    def test_check_config_reports_file_line_key(self, tmp_path, capsys, text, expected):
        """check-config exits 2 and prints FILE:LINE: key.path: message."""
        p = write(tmp_path, text)
        assert cli.main(["check-config", str(p)]) == 2
        err = capsys.readouterr().err.strip().replace(str(tmp_path) + "/", "")
        assert err.startswith(expected), err

    def test_check_config_lists_every_problem(self, tmp_path, capsys):
        """Several problems in one file: one line each."""
        p = write(tmp_path, "[limits]\nfuse_a = -1\nreserve_soc = 95\nmax_soc = 90\nfoo = 1\n"
                            "[control]\nkp = 'x'\n")
        assert cli.main(["check-config", str(p)]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        keys = {line.split(": ")[1] for line in lines}
        assert keys == {"limits.fuse_a", "limits.foo", "control.kp", "limits.reserve_soc"}

    def test_check_config_ok(self, tmp_path, capsys):
        """A good file: exit 0."""
        assert cli.main(["check-config", str(EXAMPLE)]) == 0

    def test_check_config_missing_file(self, tmp_path, capsys):
        """A file that is not there: exit 2 with its name."""
        assert cli.main(["check-config", str(tmp_path / "nope.toml")]) == 2
        assert "nope.toml" in capsys.readouterr().err

    def test_set_errors_point_at_the_flag(self, capsys):
        """A bad --set names itself: --set:N: key.path: message."""
        rc = cli.main(["simulate", "--scenario", "load-steps", "--set", "limits.fuse_a=0",
                       "--set", "nonsense"])
        assert rc == 2
        err = capsys.readouterr().err.splitlines()
        assert "--set:1: limits.fuse_a: Expected `float` > 0.0" in err
        assert "--set:2: nonsense: expected key.path=value" in err


class TestCrossChecks:
    """Keys that are each valid but wrong together: one exact FILE:LINE: key.path: line."""

    @pytest.mark.parametrize(("text", "expected"), [
        ("[limits]\nfuse_a = 16\nfuse_margin_a = 16\n",
         "v2h.toml:3: limits.fuse_margin_a: must be below limits.fuse_a (16 >= 16): "
         "nothing would be left for the charger"),
        ("[control]\ngrid_undervoltage_v = 50\n",
         "v2h.toml:2: control.grid_undervoltage_v: must be at least 100 V, or 0 to switch "
         "the check off (50)"),
        ("[control]\ngrid_overvoltage_v = 250\n\ngrid_undervoltage_v = 260\n",
         "v2h.toml:4: control.grid_undervoltage_v: must be below control.grid_overvoltage_v "
         "(260 >= 250)"),
        ("[site]\nnominal_v = 120\n[control]\ngrid_undervoltage_v = 195.5\n",
         "v2h.toml:4: control.grid_undervoltage_v: must be below site.nominal_v "
         "(195.5 >= 120)"),
        ("[control]\ngrid_undervoltage_v = 0\ngrid_overvoltage_v = 220\n",
         "v2h.toml:3: control.grid_overvoltage_v: must be above site.nominal_v (220 <= 230)"),
        ("[control]\ngrid_freq_min_hz = 50\ngrid_freq_max_hz = 50\n",
         "v2h.toml:2: control.grid_freq_min_hz: must be below control.grid_freq_max_hz "
         "(50 >= 50)"),
        ("[control]\nperiod_s = 2\n[charger]\nwatchdog_s = 3\n",
         "v2h.toml:4: charger.watchdog_s: must be at least max(2 x control.period_s, "
         "control.charger_lost_s + control.period_s) = 7 s (3): else the charger stops "
         "itself before v2h notices the loss"),
        ("[charger]\nwatchdog_s = 5\n",
         "v2h.toml:2: charger.watchdog_s: must be at least max(2 x control.period_s, "
         "control.charger_lost_s + control.period_s) = 6 s (5): else the charger stops "
         "itself before v2h notices the loss"),
        ("[control]\ncharger_lost_s = 61\n[charger]\nwatchdog_s = 600\n",
         "v2h.toml:2: control.charger_lost_s: must be at most 60 s (61): the charger runs on "
         "its last setpoint until then"),
        ("[control]\nperiod_s = 2\nmeter_stale_s = 1.5\n[charger]\nwatchdog_s = 10\n",
         "v2h.toml:3: control.meter_stale_s: must be at least control.period_s (1.5 < 2): "
         "every reading would be stale"),
        ("[limits]\nreserve_soc = 80\nmax_soc = 90\nsoc_hyst = 10\n",
         "v2h.toml:4: limits.soc_hyst: reserve_soc + soc_hyst must be below max_soc "
         "(80 + 10 >= 90)"),
    ])
    def test_cross_check_reports_the_offending_line(self, tmp_path, capsys, text, expected):
        """check-config exits 2 with the exact line of the key that breaks the rule."""
        p = write(tmp_path, text)
        assert cli.main(["check-config", str(p)]) == 2
        err = capsys.readouterr().err.replace(str(tmp_path) + "/", "").splitlines()
        assert expected in err, err

    @pytest.mark.parametrize("overrides", [
        ("control.grid_undervoltage_v=0",),  # 0 switches the undervoltage check off
        ("control.period_s=2", "charger.watchdog_s=7"),  # exactly charger_lost_s + period
        ("control.charger_lost_s=60", "charger.watchdog_s=61"),
        ("limits.reserve_soc=80", "limits.soc_hyst=9.5", "limits.max_soc=90"),
    ])
    def test_cross_check_boundaries_accepted(self, overrides):
        """Values on the allowed side of each rule load."""
        config.defaults(overrides)

    def test_builtin_scenarios_and_example_still_load(self):
        """The example and every scenario shipped (simulator, HIL, tests) with its `set`."""
        from controller import sim
        from hil._scenario import load as hil_load

        root = Path(__file__).parents[2]
        files = [*root.glob("controller/sim/scenarios/*.toml"), *root.glob("tests/**/*.toml")]
        bench = list(root.glob("hil/scenarios/*.toml"))  # with the bench's own keys
        assert len(files) > 5 and len(bench) > 10
        config.load(EXAMPLE)
        for f in files:
            config.defaults(tuple(sim.load(str(f)).set))
        for f in bench:
            config.defaults(tuple(hil_load(str(f))[0].set))


class TestChargerChecks:
    """The charger section against its driver's Capabilities, and the outlet keys."""

    @pytest.mark.parametrize(("text", "expected"), [
        ('[charger]\ndriver = "sigenergy"\nconnector = 2\n',
         "v2h.toml:3: charger.connector: the sigenergy driver has no connector (only "
         "ambibox has)"),
        ('[charger]\ndriver = "quasar"\n\nplug = 2\n',
         "v2h.toml:4: charger.plug: the quasar driver has no plug (only evtec has)"),
        ('[charger]\nphases = 3\n',
         "v2h.toml:2: charger.phases: the quasar charger comes in 1 phase(s), not 3"),
        ('[charger]\ndriver = "sigenergy"\n[limits]\nmin_power_w = 100\nmax_charge_w = 1000\n',
         "v2h.toml:4: limits.min_power_w: the sigenergy charger regulates no less than "
         "1000 W: with min_power_hyst_w the smallest power is 1050 W, above max_charge_w "
         "or max_discharge_w"),
        ('[charger]\ndriver = "evtec"\nplug = 9\n',
         "v2h.toml:3: charger.plug: Expected `int` <= 8"),
        ('[charger]\ndriver = "wallbox"\n',
         "v2h.toml:2: charger.driver: Invalid enum value 'wallbox'"),
        ('[charger]\ndriver = "quasar"\nsecurity_profile = 2\n',
         "v2h.toml:3: charger.security_profile: only the ocpp21 driver has security_profile"),
        ('[charger]\ndriver = "ocpp21"\nhost = "0.0.0.0"\nport = 9000\n',
         "v2h.toml:3: charger.host: 0.0.0.0 is no loopback address: a plain websocket "
         "(security_profile 0) only there; else 2 (TLS + password) or 3 (client "
         "certificates)"),
        ('[charger]\ndriver = "ocpp21"\nhost = "0.0.0.0"\nsecurity_profile = 2\n'
         'cert_file = "/nonexistent.crt"\n',
         "v2h.toml:4: charger.security_profile: 2 needs charger.password"),
        ('[charger]\ndriver = "ocpp21"\nhost = "0.0.0.0"\nsecurity_profile = 2\n'
         'cert_file = "/nonexistent.crt"\n',
         "v2h.toml:5: charger.cert_file: no such file: /nonexistent.crt"),
        ('[charger]\ndriver = "ocpp21"\nsecurity_profile = 3\nkey_file = "/etc/hostname"\n'
         'cert_file = "/etc/hostname"\n',
         "v2h.toml:3: charger.security_profile: 3 needs charger.ca_file"),
        ('[charger]\ndriver = "ocpp21"\npassword = "short"\n',
         "v2h.toml:3: charger.password: Expected `str` of length >= 16"),
    ])
    def test_charger_check_reports_the_offending_line(self, tmp_path, capsys, text, expected):
        """check-config exits 2 with FILE:LINE: key.path: message for the charger's keys."""
        p = write(tmp_path, text)
        assert cli.main(["check-config", str(p)]) == 2
        err = capsys.readouterr().err.replace(str(tmp_path) + "/", "").splitlines()
        assert expected in err, err

    @pytest.mark.parametrize("overrides", [
        ("charger.driver=evtec", "charger.plug=2", "charger.phases=3"),
        ("charger.driver=ambibox", "charger.connector=10"),
        ("charger.driver=sigenergy", "charger.unit_id=247"),
        ("charger.driver=sunspec", "charger.port=8502"),
        ("charger.driver=evtec", "charger.watchdog_s=600"),
    ])
    def test_charger_keys_accepted(self, overrides):
        """Each driver loads with its own keys."""
        cfg = config.defaults(overrides)
        assert cfg.charger.driver == overrides[0].split("=")[1]
