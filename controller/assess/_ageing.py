"""Battery ageing from a model made for it: NREL's BLAST-Lite on the battery's SoC and
temperature series (calendar and cycle ageing), and rainflow cycle counting (`rainflow`) for
the cycles the report shows. The car's extra ageing is its loss with V2H less its loss in
the same year without (the "nothing" option); its cost feeds the plan's wear price
(`plan.wear_eur_kwh`).

Models (firmware_notes/assessment.md, "Ageing"): NMC -> BLAST-Lite `NMC_Gr_75Ah_A` (a
75 Ah automotive NMC-graphite cell), LFP -> `Lfp_Gr_250AhPrismatic` (a large prismatic
LFP cell as in stationary and standard-range cars). Temperature: the monthly mean air
temperature of De Bilt (KNMI normals 1991-2020), plus CAR_WARM_C for a car in a garage or
in the street and a home battery indoors at HOME_C."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._types import Arr

MODELS = {"NMC": "NMC_Gr_75Ah_A", "LFP": "Lfp_Gr_250AhPrismatic"}
# KNMI De Bilt, monthly mean temperature (degC), normals 1991-2020
DE_BILT_C = (3.6, 3.9, 6.5, 9.8, 13.4, 16.2, 18.3, 17.9, 14.7, 10.9, 7.0, 4.2)
CAR_WARM_C = 3.0
HOME_C = 18.0


@dataclass
class Ageing:
    """A battery's year: capacity lost (fraction of new), equivalent full cycles, and the
    rainflow count as (depth %, count) pairs."""

    q_loss: float
    efc: float
    cycles: list[tuple[float, float]]


def blast() -> Any:
    """BLAST-Lite's `blast` package, imported on first use (about 1 s). Its h5pyd (used
    only to fetch climate data, which v2h does not) warns on import that distutils' version
    class is deprecated: not ours to fix, and silenced here only."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "distutils Version classes", DeprecationWarning)
        import blast.models
        import blast.utils.demo
    return blast


def _model(chem: str) -> Any:
    return getattr(blast().models, MODELS[chem])()


def temperatures(start_month: int, n: int, slot_s: int, indoor: bool) -> Arr:
    """degC per slot: the month's mean (indoors: HOME_C), months of 30.4 days from
    `start_month` (0 = January)."""
    if indoor:
        return np.full(n, HOME_C)
    month = (start_month + (np.arange(n) * slot_s / (30.4 * 86_400)).astype(int)) % 12
    out: Arr = np.array(DE_BILT_C)[month] + CAR_WARM_C
    return out


def cycles(soc_pct: Arr) -> list[tuple[float, float]]:
    """Rainflow-counted cycles of a SoC series (%): (depth %, count), deepest first."""
    import rainflow

    hist = rainflow.count_cycles(np.asarray(soc_pct, dtype=float), binsize=10.0)
    return [(float(d), float(c)) for d, c in sorted(hist, reverse=True) if c > 0]


def age(soc_pct: Arr, slot_s: int, chem: str, start_month: int = 0,
        indoor: bool = False, years: float | None = None) -> Ageing:
    """BLAST-Lite over the SoC series (% per slot), repeated to `years` when given (the
    series is one year of the battery's life otherwise). BLAST-Lite gets the SoC once an
    hour (its steps are a day or a full cycle; hourly samples change a year's loss by
    under 1 % of itself against 15-min ones and take a twentieth of the time); the
    rainflow count uses every slot."""
    every = max(1, 3600 // slot_s)
    counted = cycles(soc_pct)
    soc = np.clip(np.asarray(soc_pct, dtype=float)[::every] / 100.0, 0.0, 1.0)
    slot_s *= every
    n = len(soc)
    cell = _model(chem)
    data = {"Time_s": np.arange(n) * float(slot_s), "SOC": soc,
            "Temperature_C": temperatures(start_month, n, slot_s, indoor)}
    span = n * slot_s / (365 * 86_400)
    cell.simulate_battery_life(data, threshold_time=years if years else span)
    q = float(cell.outputs["q"][-1])
    efc = float(cell.stressors["efc"][-1])
    return Ageing(1.0 - q, efc, counted)
