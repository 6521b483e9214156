"""Ageing: BLAST-Lite as its documentation shows it, and rainflow counting."""

from __future__ import annotations

import numpy as np
import pytest

from controller.assess import _ageing


def test_blast_lite_matches_its_documented_figure():
    """BLAST-Lite's README figure ("Example battery life predictions", assets/
    example_battery_life.png) runs its own demo profile (a fixed daily SoC cycle, 10 years,
    blast.utils.demo.generate_sample_data) through each model; the LFP-Gr 250Ah curve ends
    at 0.825 relative capacity at 9.6 years. The package gives the same within 0.015."""
    b = _ageing.blast()
    cell = b.models.Lfp_Gr_250AhPrismatic()
    cell.simulate_battery_life(b.utils.demo.generate_sample_data())
    q = float(np.interp(9.6 * 365, cell.stressors["t_days"], cell.outputs["q"]))
    assert q == pytest.approx(0.825, abs=0.015)


def test_rainflow_counts_a_constant_cycle():
    """Ten identical 30 -> 90 -> 30 % cycles are ten cycles of 60 % depth."""
    soc = np.r_[np.tile(np.r_[np.linspace(30, 90, 8), np.linspace(90, 30, 8)[1:-1]], 10), 30]
    cycles = _ageing.cycles(soc)
    assert sum(c for d, c in cycles if d >= 55) == pytest.approx(10.0, abs=0.5)


def test_more_cycling_ages_more():
    """A year of daily 60 % cycles loses more capacity than a year at rest at the same mean
    SoC, for both chemistries, and counts about 220 full cycles."""
    day = np.r_[np.linspace(30, 90, 40), np.linspace(90, 30, 56)]
    cyc = np.tile(day, 365)
    rest = np.full(len(cyc), float(cyc.mean()))
    for chem in ("NMC", "LFP"):
        a, b = _ageing.age(cyc, 900, chem), _ageing.age(rest, 900, chem)
        assert a.q_loss > b.q_loss > 0.0
        assert a.efc == pytest.approx(219, rel=0.05)
