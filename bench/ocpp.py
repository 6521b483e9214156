"""OCPP 2.1 on loopback: one setpoint's round trip (SetChargingProfile sent -> Accepted back,
the ocpp21 driver against the bench's station, schema validation on both sides), and on the
bench's plant how long from the profile accepted to power moving (> 50 W)."""

from __future__ import annotations

import asyncio
import math
import time

from controller import config, sim
from controller.devices import Ocpp21
from hil import Bench
from hil._bench import free_port
from hil._ocpp21 import Ocpp21 as Station

MOVING_W = 50.0
SCENARIO = """
name = "ocpp-bench"
duration_s = 3600
start = "19:00"
seed = 5
[car]
soc_pct = 70
[pv]
peak_w = 0
[load]
hourly_w = [3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000,
            3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000]
"""


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


async def measure(n: int = 1000) -> dict[str, float]:
    """n profiles (alternating -2 kW and -1.9 kW, as the loop refreshes them) timed one by
    one after 50 to warm up; then a step from 0 to -2 kW on the plant, sub-step by sub-step."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "s.toml"
        f.write_text(SCENARIO)
        sc = sim.load(str(f))
    port = free_port()
    cfg = config.defaults(("charger.driver=ocpp21", f"charger.port={port}"))
    drv = Ocpp21(cfg.charger)
    bench = Bench(sc, cfg, charger_kind="ocpp21", clock=lambda: 0.0)
    await drv.start()
    await bench.start(charger_port=port)
    try:
        bench.advance(0.2)
        async with asyncio.timeout(5.0):
            while drv.state.tx_id is None or math.isnan(drv.state.max_discharge_w):
                await asyncio.sleep(0.01)
        await drv.take_control(10)
        rtt = []
        for i in range(n + 50):
            t = time.perf_counter()
            await drv.set_power(-2000.0 + 100.0 * (i % 2))
            rtt.append((time.perf_counter() - t) * 1000.0)
        rtt = rtt[50:]
        await drv.set_power(0.0)
        bench.advance(5.0)
        await drv.set_power(-2000.0)
        t0 = bench.now()
        while abs(bench.plant.p) <= MOVING_W and bench.now() - t0 < 5.0:
            bench.advance(bench.h)
        move = (bench.now() - t0) * 1000.0
        assert isinstance(bench.charger, Station) and bench.charger.rejected == []
    finally:
        await drv.close()
        await bench.stop()
    return {"ocpp_setpoint_ms_p50": round(_pct(rtt, 0.5), 3),
            "ocpp_setpoint_ms_p99": round(_pct(rtt, 0.99), 3),
            "ocpp_setpoint_ms_max": round(max(rtt), 3), "ocpp_setpoints": n,
            "ocpp_accept_to_move_ms": round(move, 1)}


if __name__ == "__main__":
    import json

    print(json.dumps(asyncio.run(measure())))
