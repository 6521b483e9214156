"""An independent Modbus master (Debian's mbpoll, no code shared with pymodbus) reads each
emulated charger's power and SoC registers and writes its setpoint, as an installer would
against the real unit: the plant's values come back in each map's own encoding and sign."""

from __future__ import annotations

import pytest

from hil._codec import from_i16
from tests.hil.test_mbpoll import mbpoll

pytestmark = pytest.mark.hil


def q(bench, table: str) -> list[str]:
    """mbpoll's unit, table and port for the bench's charger."""
    return ["-a", "1", "-t", table, "-p", str(bench.ports["charger"]), "127.0.0.1"]


async def test_mbpoll_evtec_setpoint_power_soc(make_bench):
    """EVtec plug 1: int32 setpoint at 186 and start at 188 (big-endian words); power
    float32 at 110 and SoC per mille at 112 read back the plant's."""
    bench = await make_bench(charger_kind="evtec")
    await mbpoll("-B", "-r", "186", *q(bench, "4:int"), "--", "-2500")
    await mbpoll("-B", "-r", "188", *q(bench, "4:int"), "1")
    assert await mbpoll("-B", "-r", "186", "-c", "1", *q(bench, "4:int")) == [-2500.0]
    bench.advance(10)
    pl = bench.plant
    assert abs(pl.p + 2500.0) < 1.0
    power = await mbpoll("-B", "-r", "110", "-c", "1", *q(bench, "4:float"))
    assert abs(power[0] - pl.p * pl.meas_gain) <= 10.0 and power[0] < 0
    soc = await mbpoll("-B", "-r", "112", "-c", "1", *q(bench, "4:int"))
    assert abs(soc[0] / 10.0 - pl.soc_pct) <= 0.1
    state = await mbpoll("-B", "-r", "100", "-c", "1", *q(bench, "4:int"))
    assert state == [8.0]  # discharging


async def test_mbpoll_ambibox_target_is_negative_to_charge(make_bench):
    """Ambibox connector 1: a target of -3000 W at 3000 charges the car at 3 kW; power
    (int32, input 4018) and SoC (float32, input 4054) read back the plant's."""
    bench = await make_bench(charger_kind="ambibox")
    await mbpoll("-B", "-r", "3000", *q(bench, "4:int"), "--", "-3000")
    bench.advance(10)
    pl = bench.plant
    assert abs(pl.p - 3000.0) < 1.0  # negative target: charging
    power = await mbpoll("-B", "-r", "4018", "-c", "1", *q(bench, "3:int"))
    assert abs(power[0] - pl.p * pl.meas_gain) <= 10.0 and power[0] > 0
    soc = await mbpoll("-B", "-r", "4054", "-c", "1", *q(bench, "3:float"))
    assert abs(soc[0] - pl.soc_pct) <= 0.01
    connected = await mbpoll("-B", "-r", "4084", "-c", "1", *q(bench, "3:int"))
    assert connected == [1.0]


async def test_mbpoll_sigenergy_limits_and_start(make_bench):
    """Sigenergy: discharge limit 2000 W (41004), start (41000 = 0, FC 6): power (int32,
    input 31502) negative, SoC x 0.1 % (31504); stop by 41000 = 1."""
    bench = await make_bench(charger_kind="sigenergy")
    await mbpoll("-B", "-r", "41004", *q(bench, "4:int"), "2000")
    await mbpoll("-r", "41000", *q(bench, "4"), "0")
    bench.advance(10)
    pl = bench.plant
    assert abs(pl.p + 2000.0) < 1.0
    power = await mbpoll("-B", "-r", "31502", "-c", "1", *q(bench, "3:int"))
    assert abs(power[0] - pl.p * pl.meas_gain) <= 10.0 and power[0] < 0
    soc = await mbpoll("-r", "31504", "-c", "1", *q(bench, "3"))
    assert abs(soc[0] / 10.0 - pl.soc_pct) <= 0.1
    assert await mbpoll("-r", "31513", "-c", "1", *q(bench, "3")) == [8.0]  # discharging
    await mbpoll("-r", "41000", *q(bench, "4"), "1")
    bench.advance(10)
    assert pl.p == 0.0


async def test_mbpoll_sigenergy_zero_limit_latches_an_error(make_bench):
    """A 0 W write to 41002 puts the car in an error (state 4) that a start does not clear:
    the emulator does what the field report says the real one does."""
    bench = await make_bench(charger_kind="sigenergy")
    await mbpoll("-B", "-r", "41002", *q(bench, "4:int"), "0")
    await mbpoll("-B", "-r", "41002", *q(bench, "4:int"), "3000")
    await mbpoll("-r", "41000", *q(bench, "4"), "0")
    bench.advance(10)
    assert bench.plant.p == 0.0
    assert await mbpoll("-r", "31513", "-c", "1", *q(bench, "3")) == [4.0]
    assert bench.charger.forbidden == 1  # and the HIL run that sees this fails


async def test_mbpoll_sunspec_walks_models_and_sets_power(make_bench):
    """SunSpec: "SunS" at 40000, the first model's header after it; the 704 setpoint
    (40301, int16) at -1500 W discharges; W (40080) and SoC (41104) read the plant's."""
    bench = await make_bench(charger_kind="sunspec")
    marker = await mbpoll("-r", "40000", "-c", "4", *q(bench, "4"))
    assert marker == [0x5375, 0x6E53, 1.0, 66.0]
    assert (await mbpoll("-r", "40070", "-c", "1", *q(bench, "4"))) == [701.0]
    # 16-bit registers: mbpoll takes and shows the word; -1500 is 0x10000 - 1500
    await mbpoll("-r", "40301", *q(bench, "4"), str(0x10000 - 1500))
    bench.advance(10)
    pl = bench.plant
    assert abs(pl.p + 1500.0) < 1.0
    w = from_i16(int((await mbpoll("-r", "40080", "-c", "1", *q(bench, "4")))[0]))
    assert abs(w - pl.p * pl.meas_gain) <= 10.0 and w < 0
    soc = await mbpoll("-r", "41104", "-c", "1", *q(bench, "4"))
    assert soc == [float(round(pl.soc_pct))]
