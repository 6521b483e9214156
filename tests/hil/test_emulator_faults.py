"""The faults real devices produce, as the emulators produce them (issue #10 point 11): a
meter dead with the grid (no reply, or its port closed), a charger that reboots to its
factory registers, loses write replies, is taken to app control, gets stuck at its power,
or shows a SoC of 0 while idle or jumping by 2 points. On a fake clock (`Bench.advance`),
over Modbus TCP with pymodbus clients."""

from __future__ import annotations

import struct

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException

from hil import KINDS, Fault, Faults
from hil._faults import BENCH_KINDS, SIM_KINDS
from tests.helpers import loop_turns

pytestmark = pytest.mark.hil


def f32(regs: list[int]) -> float:
    return struct.unpack(">f", struct.pack(">HH", *regs))[0]


async def connects(port: int) -> bool:
    """A fresh client's connect: False when the port refuses (no reconnect left behind)."""
    c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.3, retries=0,
                             reconnect_delay=0.0)
    try:
        return await c.connect()
    finally:
        c.close()


async def drive(c, *pairs: tuple[int, int]) -> None:
    for reg, val in pairs:
        r = await c.write_register(reg, val & 0xFFFF, device_id=1)
        assert not r.isError(), (reg, val)


# no watchdog (88) set: the fake clock passes seconds without traffic
DISCHARGE = ((81, 1), (83, 1), (257, 1), (260, -3000))


def test_fault_kinds_one_list():
    """The kinds are Faults' fields: the simulator's eight first, the bench's after."""
    from dataclasses import fields

    assert tuple(f.name for f in fields(Faults)) == KINDS
    assert KINDS == SIM_KINDS + BENCH_KINDS and "charger_reboot" in BENCH_KINDS


class TestMeterDark:
    async def test_meter_dark_with_grid_no_reply_until_booted(self, make_bench, client_for):
        """Dies with the grid: no reply from the loss until the grid has been back 3 s."""
        bench = await make_bench(faults=[Fault("grid_loss", 10, 5)], meter_dies_with_grid=True)
        c = await client_for(bench.ports["meter"], timeout=0.3)
        bench.advance(11)
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=2, device_id=1)
        bench.advance(6)  # grid back at 15, the meter still booting until 18
        c = await client_for(bench.ports["meter"], timeout=0.3)
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=2, device_id=1)
        bench.advance(2)
        c = await client_for(bench.ports["meter"])
        v = f32((await c.read_input_registers(0, count=2, device_id=1)).registers)
        assert abs(v - 230.0) < 2.0

    async def test_meter_refused_closes_port_then_reopens(self, make_bench, client_for):
        """The refused variant (EM24): the open connection is closed, new ones are refused;
        after the boot the same port answers again."""
        bench = await make_bench("em24", faults=[Fault("grid_loss", 10, 5)],
                                 meter_dies_with_grid=True, meter_dark_kind="meter_refused")
        port = bench.ports["meter"]
        c = await client_for(port, timeout=0.3)
        assert not (await c.read_input_registers(0, count=2, device_id=1)).isError()
        bench.advance(11)
        await loop_turns()
        assert not await connects(port)
        with pytest.raises(ModbusException):  # closed under it: not connected
            await c.read_input_registers(0, count=2, device_id=1)
        bench.advance(7.5)
        await bench.settle()
        assert await connects(port)
        c = await client_for(port)
        r = await c.read_input_registers(0, count=2, device_id=1)
        assert not r.isError() and r.registers[0] > 2000  # 230 V x 10, low word first


class TestQuasarFaults:
    async def test_reboot_refused_then_factory_registers(self, make_bench, client_for):
        """Reboot: port closed (refused) for its duration, the output drops; then it answers
        with user control, autostart on, current setpoints, no watchdog, paused."""
        bench = await make_bench(faults=[Fault("charger_reboot", 10, 5)])
        port = bench.ports["charger"]
        c = await client_for(port)
        await drive(c, *DISCHARGE, (88, 10))
        bench.advance(9)
        assert bench.plant.p < -2900.0
        bench.advance(4)
        await loop_turns()
        assert not await connects(port)
        assert abs(bench.plant.p) < 100.0
        bench.advance(2.5)
        await bench.settle()
        c = await client_for(port)
        assert (await c.read_holding_registers(81, count=3, device_id=1)).registers == [0, 1, 0]
        assert (await c.read_holding_registers(88, count=1, device_id=1)).registers == [0]
        assert (await c.read_holding_registers(257, count=1, device_id=1)).registers == [2]
        assert (await c.read_holding_registers(537, count=1, device_id=1)).registers == [4]
        assert bench.charger.control_hist[-1][1:] == (0, 0, 0)

    async def test_reply_lost_write_applied(self, make_bench, client_for):
        """Every other write reply is lost, but each write is applied; reads answer."""
        bench = await make_bench(faults=[Fault("charger_reply_lost", 5, 20)])
        c = await client_for(bench.ports["charger"], timeout=0.3)
        await drive(c, (81, 1), (83, 1), (257, 1))
        bench.advance(6)
        with pytest.raises(ModbusIOException):
            await c.write_register(260, -1000 & 0xFFFF, device_id=1)
        assert bench.charger.reg[260] == -1000 & 0xFFFF
        c = await client_for(bench.ports["charger"])
        assert not (await c.write_register(260, -1500 & 0xFFFF, device_id=1)).isError()
        assert (await c.read_holding_registers(260, count=1, device_id=1)).registers == [
            -1500 & 0xFFFF]
        bench.advance(5)
        assert bench.plant.p < -1400.0

    async def test_user_mode_hands_back_and_ignores(self, make_bench, client_for):
        """Taken to app control: 81 reads 0, it stops, writes are ignored until 81 = 1."""
        bench = await make_bench(faults=[Fault("charger_user_mode", 10, 1)])
        c = await client_for(bench.ports["charger"])
        await drive(c, *DISCHARGE)
        bench.advance(11)
        assert (await c.read_holding_registers(81, count=2, device_id=1)).registers == [0, 1]
        await drive(c, (260, -2000), (257, 1))
        bench.advance(5)
        assert abs(bench.plant.p) < 5.0 and bench.charger.reg[260] == -3000 & 0xFFFF
        await drive(c, (81, 1), (257, 1), (260, -2000))
        bench.advance(5)
        assert bench.plant.p < -1900.0

    async def test_stuck_keeps_power_then_obeys(self, make_bench, client_for):
        """Stuck: stop and 0 W acknowledged, the power stays, its watchdog (3 s) ignored;
        after the fault it obeys."""
        bench = await make_bench(faults=[Fault("charger_stuck", 10, 10)])
        c = await client_for(bench.ports["charger"])
        await drive(c, *DISCHARGE, (88, 60))
        bench.advance(11)
        await drive(c, (88, 3), (260, 0), (257, 2))
        assert (await c.read_holding_registers(257, count=1, device_id=1)).registers == [2]
        bench.advance(8)  # 8 s without traffic, its watchdog at 3 s
        assert bench.plant.p < -2900.0
        bench.advance(5)  # the fault ended at 20: the registers say stop
        assert abs(bench.plant.p) < 100.0

    async def test_soc_zero_while_idle(self, make_bench, client_for):
        """SoC 0 while the car is present and idle; the true SoC while discharging."""
        bench = await make_bench(faults=[Fault("soc_zero_idle", 0, 100)])
        c = await client_for(bench.ports["charger"])
        bench.advance(2)
        assert (await c.read_holding_registers(537, count=2, device_id=1)).registers == [4, 0]
        await drive(c, *DISCHARGE)
        bench.advance(5)
        state, soc = (await c.read_holding_registers(537, count=2, device_id=1)).registers
        assert state == 11 and soc == int(bench.plant.soc_pct) > 0

    async def test_soc_jumps_two_points(self, make_bench, client_for):
        """SoC reading: true, -2, true, +2, 5 s each."""
        bench = await make_bench(faults=[Fault("soc_jump", 0, 100)])
        c = await client_for(bench.ports["charger"])
        seen = []
        for _ in range(4):
            bench.advance(5)
            soc = (await c.read_holding_registers(538, count=1, device_id=1)).registers[0]
            seen.append(soc - int(bench.plant.soc_pct))
        assert seen == [-2, 0, 2, 0]


class TestSync:
    async def test_faults_wait_for_the_power_write(self, make_bench, client_for):
        """sync_faults: a grid loss due at 5 s (and the meter dark with it) starts on the
        tick after the controller's next write to 260, and the schedule says so."""
        bench = await make_bench(faults=[Fault("grid_loss", 5, 5)], sync_faults=True,
                                 meter_dies_with_grid=True)
        c = await client_for(bench.ports["charger"])
        await drive(c, (81, 1), (83, 1), (260, 0))
        bench.advance(6)
        assert not bench.faults.grid_loss and not bench.faults.meter_dark
        await drive(c, (257, 2))  # not a power write
        bench.advance(1)
        assert not bench.faults.grid_loss
        await drive(c, (260, 0))
        bench.advance(0.25)
        assert bench.faults.grid_loss and bench.faults.meter_dark
        # the tick after the write (a sub-step of the bench: 0.05 s)
        assert [f.at_s for f in bench.faults_schedule] == [7.0 + bench.h] * 2
        bench.advance(5)
        assert not bench.faults.grid_loss and bench.faults.meter_dark  # booting until 15.05
