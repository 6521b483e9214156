"""The price plan in the live controller on the bench: a real PriceFeed reading the recorded
December prices from a file, a calendar clock set to a winter night before a departure, the
charger driven over Modbus TCP. Without usable prices the plan stands aside."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller import sim
from controller.prices import recorded
from tests.helpers import on_bench
from tests.mqtt.conftest import until

pytestmark = [pytest.mark.hil, pytest.mark.loop]

NIGHT = """
name = "winter-night"
duration_s = 7200
start = "02:00"
seed = 5
[car]
soc_pct = 20
[pv]
peak_w = 0
[load]
hourly_w = [500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500,
            500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500]
noise_w = 20
"""
RECORDED = (Path(__file__).parents[2] / "controller" / "prices" / "data"
            / "nl-2025-12-16-to-18-quarter.csv")
T0 = datetime(2025, 12, 16, 1, 0, tzinfo=UTC).timestamp()  # 02:00 in Amsterdam


@contextlib.asynccontextmanager
async def running(tmp_path, *overrides: str):
    f = tmp_path / "night.toml"
    f.write_text(NIGHT)
    t_start = asyncio.get_running_loop().time()
    async with on_bench(sim.load(str(f)), "plan.by_price=true", "prices.source=file",
                        f"prices.cache_dir={tmp_path}", "plan.departure=07:45",
                        "plan.departure_soc=90", *overrides,
                        wall=lambda: T0 + asyncio.get_running_loop().time() - t_start) as run:
        yield run


async def test_live_plan_charges_for_departure(tmp_path):
    """At 02:00 with 20 % and 90 % needed by 07:45 the plan charges from the grid at once,
    as hard as the fuse allows, and the state names the slot's decision."""
    async with running(tmp_path, f"prices.file={RECORDED}") as (ctl, bench):
        await until(lambda: ctl.planner.plans >= 1, 15.0, "a first plan")
        assert ctl.planner.slot(ctl.wall()).why == "charge-cheap"
        await until(lambda: bench.plant.p > 3000.0, 20.0, "charging from the grid")
        assert ctl.state_message().plan == "charge-cheap"
        assert ctl.planner.solve_ms and max(ctl.planner.solve_ms) < 200.0
        # the ledger's minutes carry the price of their slot, tariff applied
        t = ctl.wall()
        rec = recorded("nl-2025-12-16-to-18-quarter")
        market = rec.market_eur_kwh[rec.index(t)]
        assert ctl.price_at(t) == pytest.approx(((market + 0.028 + 0.10154) * 1.21, market))


async def test_live_plan_without_prices_stands_aside(tmp_path):
    """With the price file missing there is no plan: self-consumption, no grid charging, and
    the loop runs on."""
    async with running(tmp_path, f"prices.file={tmp_path / 'missing.csv'}") as (ctl, bench):
        await until(lambda: len(ctl.cycles) >= 8, 20.0, "eight cycles")
        assert ctl.planner.result is None and ctl.state_message().plan == "-"
        assert abs(bench.plant.p) < 1.0


async def test_live_plan_failure_leaves_control_running(tmp_path, monkeypatch, caplog):
    """A planner that dies is logged; the control loop goes on with the standing plan."""
    from controller import _planning

    async def broken(self, stop):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(_planning.LivePlanner, "run", broken)
    async with running(tmp_path, f"prices.file={RECORDED}") as (ctl, _bench):
        await until(lambda: len(ctl.cycles) >= 6, 20.0, "six cycles after the failure")
        assert ctl.planner.result is None
    assert "plan: stopped by an error" in caplog.text
