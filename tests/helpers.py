"""Small builders shared by the tests."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def reading(core: ModuleType, t: float = 100.0, grid_w: float = 0.0, ev_w: float = 0.0,
            soc: float = 60.0, split: tuple[float, float, float] = (1.0, 0.0, 0.0),
            **kw: Any) -> Any:
    """A fresh, healthy measurement at time t; the grid power split over the phases."""
    m = core.Measurement(t=t, ev_t=t, grid_w=grid_w, ev_w=ev_w, soc=soc,
                         p1=grid_w * split[0], p2=grid_w * split[1], p3=grid_w * split[2])
    for k, v in kw.items():
        setattr(m, k, v)
    return m


def regulating(core: ModuleType, **kw: Any) -> Any:
    """A controller state that is REGULATING with the grid confirmed healthy."""
    st = core.CtlState(mode=core.MODES.index("REGULATING"), grid_ok=True)
    for k, v in kw.items():
        setattr(st, k, v)
    return st
