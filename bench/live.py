"""The live loop's timing on the bench: `v2h run` as its own process against the emulators
over loopback Modbus TCP for a while; its read-to-write latency and period jitter (from its
own record), and its resident memory and CPU share (from /proc)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from controller import config, sim
from hil import Bench, sample_to_write_ms


def _p99(xs: list[float]) -> float:
    return _pct(xs, 0.99)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def _proc(pid: int) -> tuple[float, float]:
    """(CPU seconds used, resident MB) of a process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text()
               .splitlines() if line.startswith("VmRSS:")) / 1024.0
    return cpu, rss


def _prices_for_today(path: Path) -> None:
    """The recorded December quarters, shifted so that they start at today's UTC midnight:
    the plan then has prices that cover now (the controller's calendar is the real one)."""
    import time

    from controller.prices import recorded

    rec = recorded("nl-2025-12-16-to-18-quarter")
    t0 = time.time() // 86_400 * 86_400
    rows = ["start_utc,end_utc,market_eur_per_kwh"]
    for i, p in enumerate(rec.market_eur_kwh):
        a = t0 + i * 900
        rows.append(f"{_iso(a)},{_iso(a + 900)},{p}")
    path.write_text("\n".join(rows) + "\n")


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def measure(seconds: float = 120.0) -> dict[str, float]:
    sc = sim.load("standard-day")
    # the meter publishes on a clock of its own, a sample a second at a phase the loop does
    # not know (as an SDM630 or a P1 port does): the loop must find it (issue #12, point 7)
    bench = Bench(sc, config.defaults(), meter_publish_s=1.0, meter_publish_phase_s=0.6)
    bench.t_bench = 11 * 3600.0  # late morning: surplus and clouds to regulate
    ports = await bench.start()
    runner = asyncio.create_task(bench.run(bench.t_bench + seconds + 30))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "v2h.toml"
        # the whole product: the ledger on, the price plan on and replanning every minute
        # (the shortest replan_s) so its solves fall inside the measurement
        _prices_for_today(Path(tmp) / "prices.csv")
        cfg.write_text(f'[meter]\nport = {ports["meter"]}\n[charger]\nport = {ports["charger"]}\n'
                       f'[plan]\nby_price = true\nreplan_s = 60\ndeparture = "07:45"\n'
                       f'[prices]\nsource = "file"\nfile = "{tmp}/prices.csv"\n'
                       f'cache_dir = "{tmp}"\n[ledger]\npath = "{Path(tmp) / "ledger.db"}"\n')
        out = Path(tmp) / "stats.json"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controller.cli", "run", "--config", str(cfg), "--stats",
            str(out), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        await asyncio.sleep(10.0)  # start-up (imports, grid confirmation) is not the loop
        cpu0, _ = _proc(proc.pid)
        await asyncio.sleep(seconds)
        cpu1, rss = _proc(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = await proc.communicate()
        st = json.loads(out.read_text())
        plans = err.decode(errors="replace").count(" plan: 192 slots")
    runner.cancel()
    await bench.stop()
    # the first writes are the start-up's (the phase is found within a few samples), the
    # last is the stop's on SIGTERM
    ages = sample_to_write_ms(bench)[12:-1]
    return {"read_to_write_ms_p99": round(_p99(st["read_to_write_ms"]), 2),
            "period_jitter_ms_p99": round(_p99([abs(x) for x in st["start_late_ms"]]), 2),
            "rss_mb": round(rss, 1), "cpu_pct": round((cpu1 - cpu0) / seconds * 100.0, 2),
            "live_cycles": len(st["read_to_write_ms"]), "live_plans": plans,
            "meter_sample_to_write_ms_p50": round(_pct(ages, 0.5), 1),
            "meter_sample_to_write_ms_p99": round(_p99(ages), 1)}
