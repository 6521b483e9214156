"""Bench fixtures: emulators on free 127.0.0.1 ports, the plant driven by a fake clock (the
tests advance it), every server stopped when the test ends."""

from __future__ import annotations

import os
import shutil

import pytest
import pytest_asyncio
from pymodbus.client import AsyncModbusTcpClient

from controller import sim
from hil import Bench, Fault

STEP = """
name = "bench-test"
duration_s = 7200
start = "12:00"
seed = 3
[car]
soc_pct = 55
[pv]
peak_w = 6000
sunrise = "06:00"
sunset = "18:00"
[load]
hourly_w = [400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400,
            400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400]
noise_w = 20
"""


def mbpoll_path() -> str:
    """mbpoll is installed by `make test` (Debian's package); its absence is a failure."""
    path = shutil.which("mbpoll")
    if path is None:
        raise RuntimeError("mbpoll is not installed: run `make test` (it installs it as "
                           "root) or `apt-get install mbpoll`"
                           + (" [CI]" if os.environ.get("CI") else ""))
    return path


@pytest.fixture
def scenario(tmp_path):
    f = tmp_path / "bench.toml"
    f.write_text(STEP)
    return sim.load(str(f))


@pytest_asyncio.fixture
async def make_bench(scenario):
    """Build and start benches; all are stopped at the end of the test."""
    benches: list[Bench] = []

    async def make(meter_kind: str = "sdm630", faults: list[Fault] | None = None,
                   **kw) -> Bench:
        b = Bench(scenario, meter_kind=meter_kind, faults_schedule=list(faults or []),
                  clock=lambda: 0.0, **kw)
        await b.start()
        benches.append(b)
        return b

    yield make
    for b in benches:
        await b.stop()


@pytest_asyncio.fixture
async def client_for():
    """Modbus TCP clients (pymodbus) that are closed at the end of the test."""
    clients: list[AsyncModbusTcpClient] = []

    async def connect(port: int, timeout: float = 0.5) -> AsyncModbusTcpClient:
        c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=timeout, retries=0)
        assert await c.connect()
        clients.append(c)
        return c

    yield connect
    for c in clients:
        c.close()
