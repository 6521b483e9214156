"""The bench's reading of a scenario file (hil/_scenario.py): its own [hil] keys and fault
kinds are taken out, the rest is the simulator's scenario as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import ConfigError
from hil._run import make_bench
from hil._scenario import load

pytestmark = pytest.mark.hil
SCENARIOS = sorted((Path(__file__).parents[2] / "hil" / "scenarios").glob("*.toml"))
BASE = """name = "t"
duration_s = 60
start = "19:00"
"""


def test_every_shipped_scenario_loads():
    """Each file in hil/scenarios loads, and its checks are known."""
    from hil._checks import CHECKS

    for path in SCENARIOS:
        sc, _spec, _events = load(str(path))
        assert all(c.name in CHECKS for c in sc.checks), path.name


def test_bench_kinds_and_keys_kept_from_the_simulator(tmp_path):
    """A bench-only kind and [hil] meter = "p1" reach the bench, not the simulator."""
    f = tmp_path / "s.toml"
    f.write_text(BASE + """
[hil]
meter = "p1"
meter_dies_with_grid = true
kill_at_s = 30

[[events]]
kind = "grid_loss"
at_s = 10
duration_s = 5

[[events]]
kind = "charger_reboot"
at_s = 20
duration_s = 6
""")
    sc, spec, extra = load(str(f))
    assert [e.kind for e in sc.events] == ["grid_loss"] and sc.hil.kill_at_s == 30
    assert spec.meter == "p1" and spec.meter_dies_with_grid and spec.kill_at_s == 30
    assert [(e.kind, e.at_s, e.duration_s) for e in extra] == [("charger_reboot", 20, 6)]
    _sc, _spec, _cfg, bench = make_bench(str(f))
    assert sorted((x.kind, x.at_s, x.duration_s) for x in bench.faults_schedule) == [
        ("charger_reboot", 20.0, 6.0), ("grid_loss", 10.0, 5.0), ("meter_dark", 10.0, 8.0)]


def test_bad_bench_key_points_at_its_line(tmp_path):
    """A typo in [hil] is an error with the file's line and the key's path."""
    f = tmp_path / "s.toml"
    f.write_text(BASE + "\n[hil]\nmeter = \"p2\"\n")
    with pytest.raises(ConfigError) as exc:
        load(str(f))
    (problem,) = exc.value.problems
    assert problem.line == 6 and problem.path == "hil.meter"


def test_unknown_kind_is_the_simulators_error(tmp_path):
    """A kind neither knows is refused by the simulator's schema, with its key path."""
    f = tmp_path / "s.toml"
    f.write_text(BASE + "\n[[events]]\nkind = \"meteor\"\nat_s = 1\nduration_s = 1\n")
    with pytest.raises(ConfigError) as exc:
        load(str(f))
    assert exc.value.problems[0].path == "events[0].kind"
