"""The charger drivers other than the Quasar against their emulators over Modbus TCP: the
plant follows ev_w (+ charging) whatever each map's sign, readings come back in ev_w, what a
driver declares it never writes it never writes, and a lost configuration reads as not ours."""

from __future__ import annotations

import math

import pytest

from controller import config
from controller.devices import CHARGERS, DeviceError
from hil import Fault
from tests.helpers import follows_discharge

pytestmark = pytest.mark.hil
NEW = ["evtec", "ambibox", "sigenergy", "sunspec"]


def driver(bench, kind: str, *extra: str):
    cfg = config.defaults((f"charger.driver={kind}", f"charger.port={bench.ports['charger']}",
                           *extra))
    return CHARGERS[kind](cfg.charger)


@pytest.mark.parametrize("kind", NEW)
async def test_driver_discharges_charges_and_stops(make_bench, kind):
    """-2 kW, then +3 kW, then a stop: the plant follows; power, SoC and state read back."""
    bench = await make_bench(charger_kind=kind)
    d = driver(bench, kind)
    try:
        await d.take_control(15)
        await d.stop()
        await follows_discharge(bench, d)
        await d.set_power(3000)
        bench.advance(5)
        r = await d.read()
        assert abs(bench.plant.p - 3000) < 10.0 and r.power_w > 2900
        await d.stop()
        bench.advance(5)
        assert bench.plant.cmd_act == 0.0 and abs(bench.plant.p) < 10.0
        assert abs((await d.read()).power_w) <= 15
        await d.release()
        assert bench.charger.command_w() == 0.0
    finally:
        await d.close()


@pytest.mark.parametrize("kind", NEW)
async def test_driver_errors_are_device_errors(make_bench, kind):
    """A charger that does not answer raises DeviceError, never anything else."""
    bench = await make_bench(charger_kind=kind, faults=[Fault("charger_lost", 5, 10)])
    d = driver(bench, kind)
    try:
        await d.take_control(15)
        bench.advance(6)
        with pytest.raises(DeviceError):
            await d.read()
        with pytest.raises(DeviceError):
            await d.set_power(1500)
    finally:
        await d.close()


@pytest.mark.parametrize("kind", ["ambibox", "sunspec"])
async def test_driver_without_car_has_no_soc(make_bench, kind):
    """Unplugged: no car, and the SoC is missing data (NaN), not 0 %."""
    bench = await make_bench(charger_kind=kind, faults=[Fault("car_unplug", 0, 100)])
    d = driver(bench, kind)
    try:
        await d.take_control(15)
        bench.advance(2)
        r = await d.read()
        assert not r.car_present and math.isnan(r.soc)
    finally:
        await d.close()


async def test_sigenergy_never_writes_zero_to_the_power_limit(make_bench):
    """Whatever it is asked (0, small, either sign, stop, release), 41002 never gets 0 and
    every stop is a 41000 = 1; the emulator's latch stays off."""
    bench = await make_bench(charger_kind="sigenergy")
    d = driver(bench, "sigenergy")
    try:
        await d.take_control(15)
        for w in (0, 500, -500, 2000, 0, -999, -3000, 999, 1000, 0):
            await d.set_power(w)
            bench.advance(1)
        await d.stop()
        await d.release()
        bench.advance(5)
        ch = bench.charger
        limits = [(w[2] << 16) | ch.writes[i + 1][2] for i, w in enumerate(ch.writes)
                  if w[1] == 41002]  # FC 16: 41002 then 41003, one 32-bit value
        assert limits and min(limits) >= 1000
        assert not ch.latched
        stops = [w for w in ch.writes if w[1] == 41000 and w[2] == 1]
        assert len(stops) >= 4  # each small command and each stop went through 41000
        assert bench.plant.cmd_act == 0.0
    finally:
        await d.close()


async def test_sigenergy_reboot_reads_not_ours(make_bench):
    """After a reboot the limits are the factory's: the reading says not under control."""
    bench = await make_bench(charger_kind="sigenergy", faults=[Fault("charger_reboot", 5, 2)])
    d = driver(bench, "sigenergy")
    try:
        await d.take_control(15)
        await d.set_power(-2000)
        assert (await d.read()).controlled
        bench.advance(8)
        await bench.settle()
        d.forget()
        assert not (await d.read()).controlled
    finally:
        await d.close()


async def test_evtec_idle_timeout_stops_it(make_bench):
    """The idle timeout v2h writes to register 42 stops the BiDiPro after that much silence."""
    bench = await make_bench(charger_kind="evtec")
    d = driver(bench, "evtec")
    try:
        await d.take_control(4)
        await d.set_power(-3000)
        bench.advance(3.5)
        assert bench.plant.p < -2500
        bench.advance(1.0)  # 4.5 s without traffic
        assert bench.plant.cmd_act == 0.0
        bench.advance(6.0)
        assert bench.plant.p == 0.0
    finally:
        await d.close()


async def test_evtec_plug_two_and_ambibox_connector_two(make_bench):
    """The outlet keys move the registers: EVtec plug 2 at 200.., Ambibox connector 2 at
    3100 / 4200."""
    from hil._ambibox import Ambibox
    from hil._evtec import Evtec

    bench = await make_bench(charger_kind="evtec")
    bench.charger = Evtec(bench, plug=2)
    await bench.stop()
    await bench.start()
    d = driver(bench, "evtec", "charger.plug=2")
    try:
        await d.take_control(15)
        await d.set_power(1500)
        assert {w[1] for w in bench.charger.writes} >= {286, 287, 288, 289}
    finally:
        await d.close()
    bench2 = await make_bench(charger_kind="ambibox")
    bench2.charger = Ambibox(bench2, connector=2)
    await bench2.stop()
    await bench2.start()
    d2 = driver(bench2, "ambibox", "charger.connector=2")
    try:
        await d2.set_power(1500)
        bench2.advance(5)
        assert {w[1] for w in bench2.charger.writes} == {3100, 3101}
        assert (await d2.read()).power_w > 1400
    finally:
        await d2.close()


async def test_sigenergy_take_control_stops_before_touching_the_limits(make_bench):
    """Taking control of a running EVDC: 41000 = 1 first, then the limits; clearing the
    discharge limit before the stop would turn a discharging car to charging."""
    bench = await make_bench(charger_kind="sigenergy")
    d = driver(bench, "sigenergy")
    try:
        await d.take_control(15)
        await d.set_power(-3000)
        bench.advance(5)
        n = len(bench.charger.writes)
        await d.take_control(15)
        after = [(a, v) for _, a, v in bench.charger.writes[n:]]
        assert after[0] == (41000, 1) and (41004, 0) in after[1:]
        bench.advance(5)
        assert bench.plant.cmd_act == 0.0
    finally:
        await d.close()


@pytest.mark.parametrize("kind", NEW)
async def test_session_ended_at_the_charger_is_not_ours(make_bench, kind):
    """Someone ends the session at the charger or in its app while v2h discharges
    (charger_user_mode): a charger with a start command (EVtec: its gate closed; Sigenergy:
    state 6, its 41000 being write-only) reads as not under our control, so the loop takes
    control again and starts it anew; before, the driver believed it still ran and never
    started it again (the matrix's charger-user-mode never resumed). One run by its
    setpoint alone (Ambibox, SunSpec) resumes on the next setpoint."""
    bench = await make_bench(charger_kind=kind, faults=[Fault("charger_user_mode", 8, 1)])
    d = driver(bench, kind)
    try:
        await d.take_control(15)
        await d.set_power(-2500)
        bench.advance(6)
        assert (await d.read()).controlled and bench.plant.p < -2400
        bench.advance(6)  # the session ends at 8 s; the car ramps down
        assert bench.charger.command_w() == 0.0
        r = await d.read()
        gated = kind in ("evtec", "sigenergy")
        assert r.controlled is not gated
        if gated:  # what the loop does: control again, a stop first, then the command
            await d.take_control(15)
            await d.stop()
            assert (await d.read()).controlled
        await d.set_power(-2500)
        bench.advance(6)
        assert bench.plant.p < -2400 and (await d.read()).controlled
    finally:
        await d.close()
