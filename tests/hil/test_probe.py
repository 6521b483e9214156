"""`v2h probe` on the bench (issue #12, point 2): against the emulators over Modbus TCP, in
real time, it finds the bench's charger and meter within 20 % (or 0.15 s) in under 60 s,
checks the meter's sign and the charger's phase, and leaves the charger stopped and handed
back. The bench's plant runs at 20 sub-steps a second here (a real charger is no staircase
of 0.25-s steps)."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

from controller import _probe, config, sim
from controller.devices import CHARGERS, METERS
from hil import Bench

pytestmark = [pytest.mark.hil]


async def _probe_on_bench(*overrides: str) -> tuple[dict, Bench, float]:
    sc = sim.load("standard-day")
    sc = msgspec.structs.replace(sc, plant=msgspec.structs.replace(sc.plant, n_sub=20,
                                                                   meter_lat_n=5))
    bench = Bench(sc, config.defaults())
    bench.t_bench = 3 * 3600.0  # a night: the house's base load, the car home
    ports = await bench.start()
    runner = asyncio.create_task(bench.run(bench.t_bench + 120.0))
    cfg = config.defaults((f"meter.port={ports['meter']}", f"charger.port={ports['charger']}",
                           "ledger.enabled=false", *overrides))
    t0 = time.monotonic()
    try:
        out = await _probe.probe(cfg, METERS[cfg.meter.driver](cfg.meter),
                                 CHARGERS[cfg.charger.driver](cfg.charger))
        return out, bench, time.monotonic() - t0
    finally:
        runner.cancel()
        await bench.stop()


async def test_probe_finds_the_bench_charger_and_meter_in_a_minute():
    out, bench, took = await _probe_on_bench()
    pl = bench.plant
    assert took <= 60.0, took
    assert abs(out["charger_dead_s"] - pl.dead_s) <= max(0.2 * pl.dead_s, 0.15), out
    assert abs(out["charger_tau_s"] - pl.tau_s) <= max(0.2 * pl.tau_s, 0.15), out
    assert abs(out["charger_gain"] - pl.meas_gain) <= 0.01, out
    lag = pl.meter_lat_n / pl.n_sub
    assert abs(out["meter_delay_s"] - lag) <= 0.15 and out["meter_window_s"] == 0.0, out
    assert out["meter_sign"] == "ok" and out["charger_phase_ok"], out
    assert all(v is not None for v in out["spread"].values()), out
    assert f"charger_dead_s = {out['charger_dead_s']:.2f}" in out["config"]
    # the lines pasted into the config make it the step's model from the first cycle
    assert "model_measured = true" in out["config"]
    # the probe ends as `v2h run` does: 0 W, control handed back (the Quasar's 81 = 0)
    assert bench.charger.command_w() == 0.0
    assert bench.charger.control_after() == 0
    text = _probe.text(out)
    assert "meter sign: ok" in text and "config lines:" in text


def test_a_reversed_meter_is_named():
    """The figures as a meter wired backwards gives them: the grid falls as the car
    charges. The report says so and how to fix it (no bench needed)."""
    rec = _probe.Probe(step_w=2000.0)
    rec.steps = [(10.0, 2000.0), (16.0, 0.0)]
    for k in range(200):
        t = 5.0 + 0.1 * k
        on = 10.5 <= t < 16.0
        ev = 2000.0 if on else 0.0
        rec.looks.append((t, ev, 2000.0 if t >= 10.0 and t < 16.0 else 0.0, 10.0, t,
                          300.0 - (2000.0 if on else 0.0), 100.0, 100.0))
    out = _probe._sign_and_phase(config.defaults(), rec)
    assert out["meter_sign"] == "reversed"
    full = {"steps": 2, "looks": 200, "waited_s": 0.0, "charger_dead_s": 0.5,
            "charger_tau_s": 0.7, "charger_ramp_w_s": None, "charger_gain": 1.0,
            "meter_delay_s": 0.25, "meter_window_s": 0.0,
            "spread": {"dead_s": None, "tau_s": None, "meter_delay_s": None},
            "config": "[control]\n", **out}
    assert "REVERSED" in _probe.text(full)
