"""An independent Modbus master (Debian's mbpoll, no shared code with pymodbus) reads the
emulated meter and drives the emulated Quasar as it would the real devices."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.hil.conftest import mbpoll_path

pytestmark = pytest.mark.hil


async def mbpoll(*args: str) -> list[float]:
    """Run mbpoll once (0-based addresses) and return the values it printed."""
    proc = await asyncio.create_subprocess_exec(
        mbpoll_path(), "-m", "tcp", "-0", "-1", "-o", "1", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
    text = out.decode()
    assert proc.returncode == 0, text
    return [float(v) for v in re.findall(r"^\[\d+\]:\s+(\S+)", text, re.M)]


async def test_mbpoll_reads_sdm630_floats(make_bench):
    """Voltage, phase power and energy as big-endian float32 match the plant."""
    bench = await make_bench("sdm630")
    bench.charger.reg.update({81: 1, 83: 1})
    bench.advance(600)
    port = str(bench.ports["meter"])
    v = await mbpoll("-a", "1", "-t", "3:float", "-B", "-r", "0", "-c", "3", "-p", port,
                     "127.0.0.1")
    assert all(abs(x - 230.0) <= 0.5 for x in v)
    p = await mbpoll("-a", "1", "-t", "3:float", "-B", "-r", "12", "-c", "3", "-p", port,
                     "127.0.0.1")
    pl = bench.plant
    for got, want in zip(p, bench.meter_phases()):
        assert abs(got - want) <= pl.meter_noise_w + 0.01
    e = await mbpoll("-a", "1", "-t", "3:float", "-B", "-r", "72", "-c", "2", "-p", port,
                     "127.0.0.1")
    assert abs(e[0] - pl.imp_wh / 1000) < 1e-4 and abs(e[1] - pl.exp_wh / 1000) < 1e-4
    assert e[1] > 0.5  # ten minutes of midday export


async def test_mbpoll_quasar_take_control_rule(make_bench):
    """Writes are ignored until register 81 is 1; then a power setpoint runs the charger."""
    bench = await make_bench()
    q = ["-a", "1", "-t", "4", "-p", str(bench.ports["charger"]), "127.0.0.1"]
    await mbpoll("-r", "260", *q, "1500")
    assert (await mbpoll("-r", "260", "-c", "1", *q)) == [0.0]  # ignored in user control
    await mbpoll("-r", "81", *q, "1")
    await mbpoll("-r", "83", *q, "1")
    await mbpoll("-r", "257", *q, "1")
    await mbpoll("-r", "260", *q, "3000")
    assert (await mbpoll("-r", "260", "-c", "1", *q)) == [3000.0]
    bench.advance(10)
    assert abs(bench.plant.p - 3000.0) < 1.0
    state = await mbpoll("-r", "537", "-c", "2", *q)
    assert state[0] == 1.0 and 50 <= state[1] <= 60  # charging; SoC in whole per cent
    power = await mbpoll("-r", "526", "-c", "1", *q)
    assert abs(power[0] - 3000 * bench.plant.meas_gain) <= 3


async def test_mbpoll_quasar_watchdog_stops_charger(make_bench):
    """Register 88 set to 3 s: no traffic for longer and the charger stops by itself."""
    bench = await make_bench()
    q = ["-a", "1", "-t", "4", "-p", str(bench.ports["charger"]), "127.0.0.1"]
    for reg, val in (("81", "1"), ("83", "1"), ("88", "3"), ("257", "1"), ("260", "2000")):
        await mbpoll("-r", reg, *q, val)
    bench.advance(2.5)
    assert bench.plant.p > 1500.0
    bench.advance(1.0)  # silence on the bus: 3.5 s since the last request
    assert bench.plant.cmd_act == 0.0  # the charger dropped its command by itself
    bench.advance(6.0)
    assert bench.plant.p == 0.0
    state = await mbpoll("-r", "537", "-c", "1", *q)
    assert state == [4.0]  # paused by its watchdog


async def test_mbpoll_quasar_reboot_refused_then_factory(make_bench):
    """A rebooting Quasar refuses mbpoll's connection; after it, the factory registers."""
    from hil import Fault

    bench = await make_bench(faults=[Fault("charger_reboot", 5, 5)])
    q = ["-a", "1", "-t", "4", "-p", str(bench.ports["charger"]), "127.0.0.1"]
    for reg, val in (("81", "1"), ("83", "1"), ("88", "10")):
        await mbpoll("-r", reg, *q, val)
    bench.advance(6)
    proc = await asyncio.create_subprocess_exec(
        mbpoll_path(), "-m", "tcp", "-0", "-1", "-o", "1", "-r", "81", "-c", "1", *q,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode != 0 and b"refused" in out.lower()
    bench.advance(5)
    await bench.settle()
    assert await mbpoll("-r", "81", "-c", "3", *q) == [0.0, 1.0, 0.0]
    assert await mbpoll("-r", "88", "-c", "1", *q) == [0.0]
