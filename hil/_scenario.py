"""A HIL scenario: the simulator's scenario (`controller.sim`) plus what only the bench
knows, read from the same TOML file. The bench's own part is taken out before the rest goes
to the simulator's schema, so the batch simulator never sees a kind it cannot model:

* `[hil]`: the simulator's keys (`kill_at_s`, `restart_after_s`) and the bench's: the meter
  model (`meter`, now also "p1"), how it is wired (`meter_link`, "tcp" or "rtu"), and
  whether it dies with the grid (`meter_dies_with_grid`, `meter_dark_kind`,
  `meter_boot_s`), and whether faults wait for the controller's write (`sync_faults`);
* `[[events]]` whose kind is one of `BENCH_KINDS` (hil/_faults.py).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from controller import sim
from controller.config import Base, ConfigError, Problem
from controller.config._load import find_line

from ._faults import BENCH_KINDS

SIM_HIL_KEYS = ("kill_at_s", "restart_after_s")


class HilSpec(Base, frozen=True):
    """How the bench runs a scenario: the meter model and link, a controller crash, and a
    self-powered meter that goes dark with the grid (from the loss until the grid has been
    back for meter_boot_s, s)."""

    meter: Literal["sdm630", "em24", "p1"] = "sdm630"
    meter_link: Literal["tcp", "rtu"] = "tcp"
    meter_dies_with_grid: bool = False
    meter_dark_kind: Literal["meter_dark", "meter_refused"] = "meter_dark"
    meter_boot_s: Annotated[float, Meta(ge=0.0, le=60.0)] = 3.0
    sync_faults: bool = False  # each fault starts on the tick after v2h's next power write
    kill_at_s: Annotated[float, Meta(ge=0.0)] | None = None
    restart_after_s: Annotated[float, Meta(ge=0.0)] = 10.0


class BenchEvent(Base, frozen=True):
    """A fault only the bench models, from at_s (s from the start) for duration_s."""

    kind: Literal[BENCH_KINDS]  # type: ignore[valid-type]  # msgspec takes a tuple of names
    duration_s: Annotated[int, Meta(ge=1)]
    at_s: Annotated[int, Meta(ge=0)]


def _convert(raw, typ, text: str, path: str, prefix: str):
    try:
        return msgspec.convert(raw, typ)
    except msgspec.ValidationError as exc:
        msg, _, where = str(exc).partition(" - at `$")
        key = prefix + where.rstrip("`").lstrip(".")
        raise ConfigError([Problem(path, find_line(text, key), key or "scenario",
                                   msg)]) from None


def load(path: str) -> tuple[sim.Scenario, HilSpec, list[BenchEvent]]:
    """The scenario TOML at `path`: the simulator's part, the bench's `[hil]`, and the
    bench-only events; raises ConfigError pointing at file, line and key (as sim.load)."""
    if not Path(path).exists():
        return sim.load(path), HilSpec(), []  # a built-in name, or sim.load's error
    text = Path(path).read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(path, 0, "(toml)", str(exc))]) from None
    raw.pop("base_dir", None)
    hil_raw = raw.pop("hil", {})
    raw["hil"] = {k: hil_raw[k] for k in SIM_HIL_KEYS if k in hil_raw}
    spec = _convert(hil_raw, HilSpec, text, path, "hil.")
    events = raw.get("events", [])
    mine = [_convert(e, BenchEvent, text, path, f"events[{i}].")
            for i, e in enumerate(events) if e.get("kind") in BENCH_KINDS]
    raw["events"] = [e for e in events if e.get("kind") not in BENCH_KINDS]
    sc = _convert(raw, sim.Scenario, text, path, "")
    return msgspec.structs.replace(sc, base_dir=str(Path(path).parent)), spec, mine
