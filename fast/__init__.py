"""The compiled core of v2h: control step, supervisor, policies, plant and batch runner.

One source per module in Cython's pure-Python mode: the core, split by concern
(CORE_MODULES; the map is in firmware_notes/control-core.md), `_profile.py` (which draws from
the core's `_rng`) and `_battery.py` (the home battery of `v2h assess`). Built, they load as
C extensions; `V2H_NO_EXTENSIONS=1` forces the very same files to run as plain Python. `core`
is one namespace over the core's modules (the names the rest of the program takes),
`COMPILED` tells which path is in use, and `implementations()` gives both for the parity
tests.
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
# the core's modules by concern (a table of contents above), each built as a C extension
# and also run as is on the pure path; a module comes after those it imports from
CORE_MODULES = ("_rng", "_types", "_model", "_pulse", "_step", "_supervisor", "_plant",
                "_policies", "_batch", "_idrec", "_ident")


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


# what a one-file module (_profile, _battery) takes from the core's modules, pure
_SINGLE_NEEDS = {"_profile": ("_rng",), "_battery": ()}


def _load_single_pure(name: str) -> ModuleType:
    return _load_pure_set((*_SINGLE_NEEDS[name], name))[-1]


def _load(name: str) -> ModuleType:
    if NO_EXTENSIONS:
        return _load_single_pure(name)
    return importlib.import_module(f"fast.{name}")


def _namespace(kind: str, mods: tuple[ModuleType, ...]) -> ModuleType:
    """One namespace over the core's modules of one kind, as the code outside fast/ uses it."""
    ns = ModuleType(f"fast.core[{kind}]")
    for mod in mods:
        for name, value in vars(mod).items():
            if not name.startswith("_"):
                setattr(ns, name, value)
    ns.MODULES = mods  # the modules behind the namespace, in CORE_MODULES's order
    return ns


def _load_pure_set(names: tuple[str, ...]) -> tuple[ModuleType, ...]:
    """Run fast/<name>.py for each of names, in that order, as Python.

    Each module takes its siblings' names with `from cython.cimports.fast._types import ...`
    (the compiled build's cimport) or `from fast._types import ...` (a Python name). While
    these load, both names are made to mean the siblings' Python sources, even where their
    compiled twins sit beside them; a module comes after those it imports from."""
    names_full = [f"{pre}.{name}" for name in names for pre in ("fast", "cython.cimports.fast")]
    saved = {full: sys.modules.get(full) for full in names_full}
    try:
        mods = []
        for name in names:
            mods.append(_load_pure(name))
            sys.modules[f"fast.{name}"] = sys.modules[f"cython.cimports.fast.{name}"] = mods[-1]
    finally:
        for full, mod in saved.items():
            if mod is None:
                sys.modules.pop(full, None)
            else:
                sys.modules[full] = mod
    return tuple(mods)


def _core(kind: str) -> ModuleType:
    if kind == "compiled":
        return _namespace(kind, tuple(importlib.import_module(f"fast.{name}")
                                      for name in CORE_MODULES))
    return _namespace(kind, _load_pure_set(CORE_MODULES))


def _all_compiled(ns: ModuleType) -> bool:
    return all(_is_compiled(m) for m in ns.MODULES)


core = _core("pure" if NO_EXTENSIONS else "compiled")
profile = _load("_profile")
battery = _load("_battery")
COMPILED = _all_compiled(core) and _is_compiled(profile) and _is_compiled(battery)


def implementations() -> dict[str, ModuleType]:
    """{"pure": core, "compiled": core}, each over all of the core's modules of its kind;
    "compiled" only when every one of them is built."""
    impls = {"pure": _core("pure")}
    compiled = _core("compiled")
    if _all_compiled(compiled):
        impls["compiled"] = compiled
    return impls


def _single_implementations(name: str) -> dict[str, ModuleType]:
    """{"pure": module, "compiled": module} for a one-file module (_profile, _battery);
    "compiled" only when it is built."""
    impls = {"pure": _load_single_pure(name)}
    compiled = importlib.import_module(f"fast.{name}")
    if _is_compiled(compiled):
        impls["compiled"] = compiled
    return impls


def profile_implementations() -> dict[str, ModuleType]:
    """Both kinds of _profile (`_single_implementations`)."""
    return _single_implementations("_profile")


def battery_implementations() -> dict[str, ModuleType]:
    """Both kinds of _battery (`_single_implementations`)."""
    return _single_implementations("_battery")


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
