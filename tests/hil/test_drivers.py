"""The Modbus drivers against the emulators: values, commands, and errors as DeviceError."""

from __future__ import annotations

import math

import pytest

from controller import config
from controller.devices import DeviceError, Em24, Quasar, Sdm630
from hil import Fault

pytestmark = pytest.mark.hil


def cfg(bench, **kw):
    return config.defaults((f"meter.port={bench.ports['meter']}",
                            f"charger.port={bench.ports['charger']}",
                            *(f"{k}={v}" for k, v in kw.items())))


@pytest.mark.parametrize("kind", ["sdm630", "em24"])
async def test_meter_driver_reads_the_plant(make_bench, kind):
    """Phase powers within the meter's noise (and EM24's 0.1 W steps), 230 V, 50 Hz."""
    bench = await make_bench(kind)
    bench.advance(5)
    c = cfg(bench, **{"meter.driver": kind})
    meter = (Sdm630 if kind == "sdm630" else Em24)(c.meter)
    try:
        r = await meter.read()
        for got, want in zip((r.p1, r.p2, r.p3), bench.meter_phases()):
            assert abs(got - want) <= bench.plant.meter_noise_w + 0.1
        assert abs(r.v1 - 230.0) <= 0.6 and abs(r.freq - 50.0) <= 0.1
        assert r.export_wh >= 0.0
    finally:
        await meter.close()


async def test_meter_driver_errors_are_device_errors(make_bench):
    """Silence (timeout) and exception replies both raise DeviceError; garbage is NaN."""
    bench = await make_bench(faults=[Fault("meter_silent", 10, 5),
                                     Fault("meter_exception", 20, 5),
                                     Fault("meter_garbage", 30, 5)])
    meter = Sdm630(cfg(bench).meter)
    try:
        bench.advance(11)
        with pytest.raises(DeviceError):
            await meter.read()
        bench.advance(10)
        with pytest.raises(DeviceError, match="exception 6"):
            await meter.read()
        bench.advance(10)
        r = await meter.read()
        assert math.isnan(r.p1) or math.isnan(r.v1)
    finally:
        await meter.close()


async def test_quasar_driver_controls_and_releases(make_bench):
    """Take control, run -2 kW, read it back, release: the registers say so."""
    bench = await make_bench()
    q = Quasar(cfg(bench, **{"charger.watchdog_s": 15}).charger)
    try:
        await q.take_control(15)
        assert bench.charger.reg[81] == 1 and bench.charger.reg[88] == 15
        await q.set_power(-2000)
        bench.advance(5)
        r = await q.read()
        assert r.state == 11 and r.car_present and r.ready
        assert abs(r.power_w + 2000 * bench.plant.meas_gain) <= 3
        assert 50 <= r.soc <= 60
        await q.release()
        assert bench.charger.reg[81] == 0 and bench.charger.command_w() == 0.0
    finally:
        await q.close()
