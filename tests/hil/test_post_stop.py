"""`v2h stop-charger` (the systemd unit's ExecStopPost=) against each charger's emulator: a
discharging charger is stopped from outside a dead controller, by its own stop (Sigenergy:
41000 = 1, never a 0 W 41002); a charger that does not answer is retried, then reported; the
bench runs exactly the unit's command (hil/_run.py)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from controller import config
from controller.devices import CHARGERS, DeviceError
from controller.devices._poststop import stop_charger
from hil import Fault
from hil._run import UNIT, has_watchdog, not_applicable, post_stop_argv, stopped_by

pytestmark = pytest.mark.hil
MODBUS = ["quasar", "evtec", "ambibox", "sigenergy", "sunspec"]


def _cfg(bench, kind: str) -> config.Config:
    return config.defaults((f"charger.driver={kind}",
                            f"charger.port={bench.ports['charger']}"))


@pytest.mark.parametrize("kind", MODBUS)
async def test_stop_charger_stops_a_discharging_charger(make_bench, kind):
    """The controller leaves the charger discharging 3 kW and is gone (its driver closed
    without a stop); stop_charger writes the charger's stop and the plant goes to 0 W."""
    bench = await make_bench(charger_kind=kind)
    cfg = _cfg(bench, kind)
    d = CHARGERS[kind](cfg.charger)
    try:
        await d.take_control(10)
        await d.set_power(-3000)
        bench.advance(5)
        assert bench.plant.p < -2900
    finally:
        await d.close()  # the controller dies: no stop written
    line = await stop_charger(cfg)
    assert line == f"charger {kind}: stop written"
    assert bench.charger.command_w() == 0.0
    assert bench.charger.command_log[-1][1:] == (257, 2)  # a stop, in the checks' words
    bench.advance(5)
    assert abs(bench.plant.p) < 10.0
    assert bench.charger.forbidden == 0  # Sigenergy: no 0 W limit (41002) written
    if kind == "sigenergy":
        assert bench.charger.writes[-1][1:] == (41000, 1)


async def test_stop_charger_retries_then_reports(make_bench):
    """A charger that does not answer: retried until the deadline, then a DeviceError (the
    command exits 1 and systemd logs it); one that answers again within it is stopped."""
    bench = await make_bench(charger_kind="ambibox", faults=[Fault("charger_lost", 0, 60)])
    cfg = config.defaults(("charger.driver=ambibox", f"charger.port={bench.ports['charger']}",
                           "charger.timeout_s=0.05"))
    with pytest.raises(DeviceError, match="stop not written within 0.3 s"):
        await stop_charger(cfg, deadline_s=0.3)
    assert bench.charger.command_log == []
    # the charger answers again (the fault ends) while the command retries
    asyncio.get_running_loop().call_later(0.2, bench.advance, 61.0)
    assert await stop_charger(cfg, deadline_s=3.0) == "charger ambibox: stop written"
    assert bench.charger.command_log[-1][1:] == (257, 2)


async def test_ocpp_station_is_left_to_its_profiles():
    """An OCPP station is not written to (its connection died with v2h): the line says
    that its profiles expire."""
    cfg = config.defaults(("charger.driver=ocpp21",))
    line = await stop_charger(cfg)
    assert "expires after charger.watchdog_s (10 s)" in line


def test_bench_runs_the_units_exec_stop_post(tmp_path):
    """The bench's post-stop is the unit's ExecStopPost= with this interpreter and the
    bench's config; a unit without one, or with another command, is an error."""
    assert "\nExecStopPost=/opt/v2h/.venv/bin/v2h stop-charger --config /etc/v2h/v2h.toml\n" \
        in UNIT.read_text()
    cfg = tmp_path / "v2h.toml"
    assert post_stop_argv(cfg) == [sys.executable, "-m", "controller.cli", "stop-charger",
                                   "--config", str(cfg)]
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=/opt/v2h/.venv/bin/v2h run\n")
    with pytest.raises(ValueError, match="no ExecStopPost"):
        post_stop_argv(cfg, bad)
    bad.write_text("[Service]\nExecStopPost=/bin/true\n")
    with pytest.raises(ValueError, match="is not"):
        post_stop_argv(cfg, bad)


@pytest.mark.parametrize("kind", [*MODBUS, "ocpp21"])
def test_who_stops_after_a_sigkill(kind):
    """After a SIGKILL the charger with a watchdog stops by it; the others by the unit's
    post-stop, so kill_stop_s applies to all; charger_stop_s (the link gone: nothing can
    reach it) is n/a, with the reason, only for those without a watchdog."""
    by = stopped_by("kill_stop_s", kind)
    assert by == ("watchdog" if kind in ("quasar", "evtec", "ocpp21") else "post-stop")
    assert has_watchdog(kind) == (by == "watchdog")
    assert not_applicable("kill_stop_s", kind) == ""
    assert bool(not_applicable("charger_stop_s", kind)) == (by == "post-stop")


def test_stop_charger_command_line(tmp_path):
    """`v2h stop-charger --config FILE` parses; a bad config is exit 2 (FILE:LINE: ...)."""
    from controller.cli import main, parser

    args = parser().parse_args(["stop-charger", "--config", "x.toml"])
    assert args.func.__name__ == "_stop_charger"
    bad = tmp_path / "bad.toml"
    bad.write_text('[charger]\ndriver = "nope"\n')
    assert main(["stop-charger", "--config", str(bad)]) == 2
