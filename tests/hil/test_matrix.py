"""The HIL matrix's plumbing: the checks that need a charger's own watchdog, the
controller's config naming the charger's driver, and each model's writes in the checks'
vocabulary (hil/_checks.py reads one log for every charger)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import config
from controller.devices import CHARGER_CAPS, CHARGERS
from hil._bench import CHARGER_MODELS
from hil._checks import NEEDS_WATCHDOG
from hil._run import _config_text, make_bench, not_applicable
from hil._scenario import load

pytestmark = pytest.mark.hil
SCEN = Path(__file__).parents[2] / "hil" / "scenarios"


def test_every_driver_has_an_emulator():
    """One emulator per driver, by the same name."""
    assert set(CHARGER_MODELS) == set(CHARGERS)


@pytest.mark.parametrize("name", sorted(CHARGERS))
def test_watchdog_checks_apply_only_with_a_watchdog(name):
    """The checks that time the charger stopping by its own watchdog while the link to it is
    gone (charger_stop_s in charger-lost-quick) are n/a,
    with the reason, for a charger whose driver declares none; every other check of every
    scenario applies to all (sigkill's kill_stop_s too: the unit's post-stop reaches it)."""
    for path in SCEN.glob("*.toml"):
        sc, _, _ = load(str(path))
        for c in sc.checks:
            why = not_applicable(c.name, name)
            if c.name in NEEDS_WATCHDOG and not CHARGER_CAPS[name].has_watchdog:
                assert "no Modbus watchdog" in why, (path.name, c.name)
            else:
                assert why == "", (path.name, c.name)
    assert {p.stem for p in SCEN.glob("*.toml")
            if any(c.name in NEEDS_WATCHDOG for c in load(str(p))[0].checks)} == {
        "charger-lost-quick"}


@pytest.mark.parametrize("name", sorted(CHARGERS))
def test_controller_config_names_the_driver(tmp_path, name):
    """The controller the bench starts runs the charger's own driver on the bench's port."""
    _, spec, cfg, bench = make_bench(str(SCEN / "grid-loss-quick.toml"), charger=name)
    bench.ports = {"meter": 1502, "charger": 1503}
    text = _config_text(spec, bench, tmp_path / "ledger.db")
    c = config.loads(text)
    assert c.charger.driver == name == cfg.charger.driver and c.charger.port == 1503


async def test_sigenergy_log_in_the_checks_vocabulary(make_bench, client_for):
    """Sigenergy's writes as the checks read them: 41004 a negative power, 41002 a positive
    one, 41000 a start (1) or stop (2)."""
    bench = await make_bench(charger_kind="sigenergy")
    c = await client_for(bench.ports["charger"])
    await c.write_registers(41004, [0, 2500], device_id=1)
    await c.write_register(41000, 0, device_id=1)
    await c.write_registers(41002, [0, 3000], device_id=1)
    await c.write_register(41000, 1, device_id=1)
    log = [(r, v) for _, r, v in bench.charger.command_log]
    assert log == [(260, -2500 & 0xFFFF), (257, 1), (260, 3000), (257, 2)]


async def test_ambibox_log_reverses_its_sign(make_bench, client_for):
    """The Ambibox's target of -3000 W (charge) is logged as +3000 W; a 0 is also a stop."""
    bench = await make_bench(charger_kind="ambibox")
    c = await client_for(bench.ports["charger"])
    await c.write_registers(3000, [0xFFFF, (-3000) & 0xFFFF], device_id=1)
    await c.write_registers(3000, [0, 0], device_id=1)
    log = [(r, v) for _, r, v in bench.charger.command_log]
    assert log == [(260, 3000), (260, 0), (257, 2)]


async def test_templates_drive_each_other(make_bench, monkeypatch):
    """The driver and emulator templates are a working pair: a new charger starts from
    something that runs (and that the Charger Protocol accepts)."""
    from controller.devices import Charger
    from controller.devices._template import Template as TemplateDriver
    from hil import _bench
    from hil._template import Template as TemplateModel

    monkeypatch.setitem(_bench.CHARGER_MODELS, "template", TemplateModel)
    bench = await make_bench(charger_kind="template")
    cfg = config.defaults((f"charger.port={bench.ports['charger']}",))
    d = TemplateDriver(cfg.charger)
    try:
        assert isinstance(d, Charger)
        await d.take_control(10)
        await d.set_power(-1800)
        bench.advance(6)
        r = await d.read()
        assert abs(bench.plant.p + 1800) < 5.0 and r.power_w < -1700
        assert abs(r.soc - bench.plant.soc_pct) <= 0.1
        await d.stop()
        assert bench.charger.command_log[-1] == (bench.now(), 257, 2)
    finally:
        await d.close()
