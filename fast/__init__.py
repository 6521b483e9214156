"""The compiled core of v2h: control step, supervisor, policies, plant and batch runner.

One source per module (`_core.py`, `_profile.py`, `_battery.py`: the home battery of
`v2h assess`) in Cython's pure-Python mode. Built, they
load as C extensions; `V2H_NO_EXTENSIONS=1` forces the very same files to run as plain
Python. `COMPILED` tells which path is in use, and `implementations()` gives both for the
parity tests.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

NO_EXTENSIONS = os.environ.get("V2H_NO_EXTENSIONS") == "1"
_DIR = Path(__file__).parent


def _load_pure(name: str) -> ModuleType:
    """Run fast/<name>.py as Python even when its compiled twin sits beside it."""
    full = f"fast.{name}_py"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location(full, _DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[full] = mod
    spec.loader.exec_module(mod)
    return mod


def _is_compiled(mod: ModuleType) -> bool:
    return not str(getattr(mod, "__file__", "")).endswith(".py")


def _load(name: str) -> ModuleType:
    if NO_EXTENSIONS:
        return _load_pure(name)
    return importlib.import_module(f"fast.{name}")


core = _load("_core")
profile = _load("_profile")
battery = _load("_battery")
COMPILED = _is_compiled(core) and _is_compiled(profile) and _is_compiled(battery)


def implementations() -> dict[str, ModuleType]:
    """{"pure": module, "compiled": module} for _core; "compiled" only when it is built."""
    impls = {"pure": _load_pure("_core")}
    compiled = importlib.import_module("fast._core")
    if _is_compiled(compiled):
        impls["compiled"] = compiled
    return impls


def profile_implementations() -> dict[str, ModuleType]:
    """The same for _profile."""
    impls = {"pure": _load_pure("_profile")}
    compiled = importlib.import_module("fast._profile")
    if _is_compiled(compiled):
        impls["compiled"] = compiled
    return impls


def battery_implementations() -> dict[str, ModuleType]:
    """The same for _battery."""
    impls = {"pure": _load_pure("_battery")}
    compiled = importlib.import_module("fast._battery")
    if _is_compiled(compiled):
        impls["compiled"] = compiled
    return impls


Limits = core.Limits
Plan = core.Plan
Measurement = core.Measurement
CtlState = core.CtlState
Plant = core.Plant
Totals = core.Totals
EvccState = core.EvccState
MODES = core.MODES
REASONS = core.REASONS
FLAGS = core.FLAGS
POLICIES = core.POLICIES
LIMIT_FIELDS = core.LIMIT_FIELDS
step = core.step
supervise = core.supervise
decide = core.decide
fast_path = core.fast_path
meter_ok = core.meter_ok
grid_state = core.grid_state
reason_names = core.reason_names
run_batch = core.run_batch
Ident = core.Ident

__all__ = [
    "COMPILED", "CtlState", "EvccState", "FLAGS", "Ident", "LIMIT_FIELDS", "Limits", "MODES",
    "Measurement", "NO_EXTENSIONS", "POLICIES", "Plan", "Plant", "REASONS", "Totals", "battery",
    "battery_implementations", "core", "decide", "fast_path", "grid_state", "implementations",
    "meter_ok", "profile", "profile_implementations", "reason_names", "run_batch", "step",
    "supervise",
]
