"""The emulators answer as the devices do: maps, exceptions, silence, and every fault."""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct

import pytest
from pymodbus.exceptions import ModbusIOException

from hil import Fault

pytestmark = pytest.mark.hil


def f32(regs: list[int]) -> float:
    return struct.unpack(">f", struct.pack(">HH", *regs))[0]


def i32_lsw(regs: list[int]) -> int:
    return struct.unpack("<i", struct.pack("<HH", *regs))[0]


class TestSdm630:
    async def test_sdm630_total_is_sum_of_phases(self, make_bench, client_for):
        """Total power (0x0034) equals the phase powers' sum, frequency 50 Hz."""
        bench = await make_bench()
        bench.advance(5)
        c = await client_for(bench.ports["meter"])
        r = await c.read_input_registers(0x000C, count=6, device_id=1)
        phases = [f32(r.registers[i:i + 2]) for i in (0, 2, 4)]
        tot = f32((await c.read_input_registers(0x0034, count=2, device_id=1)).registers)
        hz = f32((await c.read_input_registers(0x0046, count=2, device_id=1)).registers)
        assert abs(sum(phases) - tot) < 30.0  # each read draws its own meter noise
        assert abs(hz - 50.0) < 0.01

    async def test_sdm630_unknown_register_and_function(self, make_bench, client_for):
        """Beyond the table: exception 2; coils: exception 1."""
        bench = await make_bench()
        c = await client_for(bench.ports["meter"])
        r = await c.read_input_registers(0x0400, count=2, device_id=1)
        assert r.isError() and r.exception_code == 2
        r = await c.read_coils(0, count=1, device_id=1)
        assert r.isError() and r.exception_code == 1

    async def test_sdm630_wrong_unit_id_is_silent(self, make_bench, client_for):
        """A request for another unit gets no answer (the client times out)."""
        bench = await make_bench()
        c = await client_for(bench.ports["meter"], timeout=0.3)
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=2, device_id=7)

    async def test_sdm630_faults(self, make_bench, client_for):
        """Silent, exception replies, garbage, frozen and a grid loss, each on schedule."""
        faults = [Fault("meter_silent", 10, 5), Fault("meter_exception", 20, 5),
                  Fault("meter_garbage", 30, 5), Fault("meter_frozen", 40, 5),
                  Fault("grid_loss", 50, 5)]
        bench = await make_bench(faults=faults)
        c = await client_for(bench.ports["meter"], timeout=0.3)
        bench.advance(11)
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=2, device_id=1)
        c = await client_for(bench.ports["meter"])
        bench.advance(10)
        r = await c.read_input_registers(0, count=2, device_id=1)
        assert r.isError() and r.exception_code == 6
        bench.advance(10)
        vals = [f32((await c.read_input_registers(0x0C, count=2, device_id=1)).registers)
                for _ in range(3)]
        assert all(math.isnan(v) or abs(v) > 1e6 for v in vals)
        bench.advance(10)
        a = (await c.read_input_registers(0, count=0x4C, device_id=1)).registers
        bench.advance(2)
        b = (await c.read_input_registers(0, count=0x4C, device_id=1)).registers
        assert a == b  # frozen: the very same words
        bench.advance(10)
        v = f32((await c.read_input_registers(0, count=2, device_id=1)).registers)
        hz = f32((await c.read_input_registers(0x46, count=2, device_id=1)).registers)
        assert v == 0.0 and hz == 0.0
        bench.advance(10)
        v = f32((await c.read_input_registers(0, count=2, device_id=1)).registers)
        assert abs(v - 230.0) < 1.0


class TestEm24:
    async def test_em24_scaled_int32_low_word_first(self, make_bench, client_for):
        """Power /10 W and voltage /10 V as int32 low word first; frequency int16 /10."""
        bench = await make_bench("em24")
        bench.advance(5)
        c = await client_for(bench.ports["meter"])
        r = (await c.read_input_registers(0x0000, count=0x34, device_id=1)).registers
        v1 = i32_lsw(r[0:2]) / 10
        p = [i32_lsw(r[a:a + 2]) / 10 for a in (0x12, 0x14, 0x16)]
        tot = i32_lsw(r[0x28:0x2A]) / 10
        assert abs(v1 - 230.0) <= 0.6
        assert abs(sum(p) - tot) < 30.0 and tot < -1000.0  # midday export
        assert abs(r[0x33] / 10 - 50.0) <= 0.1
        assert abs(p[0] - bench.meter_phases()[0]) <= bench.plant.meter_noise_w + 0.1


class TestPlantInRealTime:
    async def test_the_plant_is_where_it_is_at_bench_time_in_fine_steps(self, make_bench,
                                                                       client_for):
        """Session 12: each tick ran the plant's next sub-step from the bench's time on, so
        between two ticks the emulators showed it a sub-step ahead of real time (a quarter
        second, four a second): a charger that answered a command a tick early, readings
        from the future, a dead time that depended on the controller's phase against the
        ticks. The OCPP station's load steps settled in 9-10 s about one run in three.
        Now the sub-steps are of 0.05 s at most, and a command written at t moves the
        plant from t + the dead time on: nothing at t + dead, one sub-step's move after."""
        bench = await make_bench()
        assert bench.h <= 0.05
        c = await client_for(bench.ports["charger"])
        for reg, val in ((81, 1), (83, 1), (257, 1), (260, 3000)):
            assert not (await c.write_register(reg, val, device_id=1)).isError()
        dead, ramp = bench.plant.dead_s, bench.plant.ramp_w_s
        bench.advance(dead)
        assert bench.plant.p == 0.0
        bench.advance(bench.h)
        assert 0.0 < bench.plant.p <= ramp * bench.h + 1e-6


    async def test_a_command_between_two_ticks_acts_after_its_dead_time_not_before(
            self, make_bench, client_for):
        """Review R13: a write that reached the charger between two ticks was stamped with
        the last tick's time, so the plant acted on it up to a sub-step before its dead
        time had passed (the mended bench's kindness, five times smaller). Running in real
        time (`run`, here on a fake clock) a write is stamped when it arrives."""
        bench = await make_bench()
        now = [0.0]
        bench.clock = lambda: now[0]
        task = asyncio.get_running_loop().create_task(bench.run(10.0), name="bench")
        try:
            c = await client_for(bench.ports["charger"])
            now[0] = 1.0 + 0.4 * bench.h  # between the ticks at 1.0 and 1.0 + h
            while bench.t_bench < 1.0:
                await asyncio.sleep(0.001)
            for reg, val in ((81, 1), (83, 1), (257, 1), (260, 3000)):
                assert not (await c.write_register(reg, val, device_id=1)).isError()
            dead = bench.plant.dead_s
            for k, moved in ((1, False), (2, True)):  # the sub-steps from 1.0 + dead on
                now[0] = 1.0 + dead + k * bench.h + 1e-6
                while bench.t_bench < now[0] - bench.h:
                    await asyncio.sleep(0.001)
                assert (bench.plant.p > 0.0) == moved, (bench.t_bench, bench.plant.p)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class TestQuasar:
    async def test_quasar_no_car_and_error_states(self, make_bench, client_for):
        """Unplugged: state 0 and SoC 0; charger error: state 7 with an error code."""
        bench = await make_bench(faults=[Fault("car_unplug", 0, 10),
                                         Fault("charger_error", 20, 10)])
        c = await client_for(bench.ports["charger"])
        bench.advance(1)
        r = (await c.read_holding_registers(537, count=2, device_id=1)).registers
        assert r == [0, 0]
        bench.advance(20)
        r = (await c.read_holding_registers(537, count=3, device_id=1)).registers
        assert r[0] == 7 and r[2] != 0

    async def test_quasar_refuses_discharge_on_grid_loss(self, make_bench, client_for):
        """Discharging 3 kW when the grid goes: the charger stops discharging by itself."""
        bench = await make_bench(faults=[Fault("grid_loss", 20, 30)])
        c = await client_for(bench.ports["charger"])
        for reg, val in ((81, 1), (83, 1), (257, 1), (260, -3000 & 0xFFFF)):
            assert not (await c.write_register(reg, val, device_id=1)).isError()
        bench.advance(15)
        assert bench.plant.p < -2900.0
        bench.advance(10)
        assert bench.plant.p > -5.0

    async def test_quasar_rejects_bad_values_and_readonly(self, make_bench, client_for):
        """Out-of-range values: exception 3; read-only registers: exception 2."""
        bench = await make_bench()
        c = await client_for(bench.ports["charger"])
        await c.write_register(81, 1, device_id=1)
        r = await c.write_register(260, 9000, device_id=1)
        assert r.isError() and r.exception_code == 3
        r = await c.write_register(81, 5, device_id=1)
        assert r.isError() and r.exception_code == 3
        r = await c.write_register(537, 1, device_id=1)
        assert r.isError() and r.exception_code == 2
        r = await c.read_holding_registers(300, count=1, device_id=1)
        assert r.isError() and r.exception_code == 2

    async def test_quasar_hand_back_stops(self, make_bench, client_for):
        """81 = 0 ends the remote session: the charger stops and autostart is on again."""
        bench = await make_bench()
        c = await client_for(bench.ports["charger"])
        for reg, val in ((81, 1), (82, 0), (83, 1), (257, 1), (260, 2500)):
            await c.write_register(reg, val, device_id=1)
        bench.advance(5)
        assert bench.plant.p > 2400.0
        await c.write_register(81, 0, device_id=1)
        bench.advance(10)
        assert bench.plant.p == 0.0
        r = (await c.read_holding_registers(81, count=2, device_id=1)).registers
        assert r == [0, 1]

    async def test_quasar_unreachable_hears_nothing(self, make_bench, client_for):
        """Unreachable: no reply, and a write sent meanwhile changes nothing."""
        bench = await make_bench(faults=[Fault("charger_lost", 10, 10)])
        c = await client_for(bench.ports["charger"], timeout=0.3)
        for reg, val in ((81, 1), (83, 1), (257, 1), (260, 2000)):
            await c.write_register(reg, val, device_id=1)
        bench.advance(11)
        with pytest.raises(ModbusIOException):
            await c.write_register(260, 500, device_id=1)
        assert bench.charger.reg[260] == 2000
