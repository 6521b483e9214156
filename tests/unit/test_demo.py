"""`v2h demo`: bench and controller over Modbus TCP in one process, a line a second, and a
clean stop with control handed back."""

from __future__ import annotations

import io

import pytest

from controller._demo import demo

pytestmark = [pytest.mark.hil, pytest.mark.loop]


async def test_demo_runs_and_stops_cleanly():
    """Twelve seconds: the controller regulates, then hands control back."""
    out = io.StringIO()
    assert await demo("demo-evening", 0.2, (), out) == 0
    text = out.getvalue()
    assert "REGULATING" in text
    assert "control handed back (register 81 = 0)" in text
    assert len([ln for ln in text.splitlines() if ln[:2].isdigit()]) >= 10


@pytest.mark.once  # the other charger's driver and emulator: the core's path is the first's
async def test_demo_runs_with_another_charger():
    """--charger sigenergy: its emulator and driver, regulating, left stopped at the end."""
    out = io.StringIO()
    assert await demo("demo-evening", 0.2, (), out, charger="sigenergy") == 0
    text = out.getvalue()
    assert "charger sigenergy" in text and "REGULATING" in text
    assert "left stopped (it has no control to hand back)" in text
