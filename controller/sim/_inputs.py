"""Turn a Scenario into per-second arrays for the batch runner: load per phase, PV, flags."""

from __future__ import annotations

import csv
import random
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fast

from ._scenario import Scenario, seconds_of_day

_FLAG = {name: 1 << i for i, name in enumerate(fast.FLAGS)}
_EVENT_FLAG = {
    "grid_loss": _FLAG["grid_down"], "meter_silent": _FLAG["meter_silent"],
    "meter_frozen": _FLAG["meter_frozen"], "meter_garbage": _FLAG["meter_garbage"],
    # an exception reply gives the controller no data, as silence does
    "meter_exception": _FLAG["meter_silent"],
    "charger_lost": _FLAG["charger_lost"], "charger_error": _FLAG["charger_error"],
    "grid_loss_dark": _FLAG["grid_down"] | _FLAG["meter_silent"],
    "charger_stuck": _FLAG["charger_stuck"],
}


@dataclass
class Inputs:
    """Per-second arrays (W) and flags, and the instants where the car comes home (s)."""

    l1: array
    l2: array
    l3: array
    pv: array
    flags: array
    returns: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pv)


def _zeros(n: int) -> array:
    return array("d", bytes(8 * n))


def _read_series(sc: Scenario) -> tuple[list[float], list[float]]:
    """A measured household: CSV with header t_s,load_w,pv_w, held between rows."""
    assert sc.series is not None
    path = Path(sc.base_dir) / sc.series
    load: list[float] = []
    pv: list[float] = []
    with path.open(newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh)
        if rows.fieldnames is None or not {"t_s", "load_w", "pv_w"} <= set(rows.fieldnames):
            raise ValueError(f"{path}: header must name t_s, load_w, pv_w")
        last_t = -1
        for lineno, row in enumerate(rows, start=2):
            try:
                t, lw, pw = int(float(row["t_s"])), float(row["load_w"]), float(row["pv_w"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{lineno}: not a number in {row}") from None
            if t <= last_t or not (0 <= lw < 1e6 and 0 <= pw < 1e6):
                raise ValueError(f"{path}:{lineno}: times must rise and powers be >= 0")
            while len(load) < t:  # hold the previous value until this row's time
                load.append(load[-1] if load else lw)
                pv.append(pv[-1] if pv else pw)
            load.append(lw)
            pv.append(pw)
            last_t = t
    return load, pv


def build(sc: Scenario, profile: Any = None) -> Inputs:
    """Generate the scenario's arrays (seeded: the same scenario gives the same arrays)."""
    prof = profile or fast.profile
    t0 = seconds_of_day(sc.start)
    if sc.series:
        load, pvs = _read_series(sc)
        n = min(sc.duration_s, len(load))
        sh = sc.load.phase_share
        inp = Inputs(array("d", (w * sh[0] for w in load[:n])),
                     array("d", (w * sh[1] for w in load[:n])),
                     array("d", (w * sh[2] for w in load[:n])), array("d", pvs[:n]),
                     array("B", bytes(n)))
    else:
        n = sc.duration_s
        inp = Inputs(_zeros(n), _zeros(n), _zeros(n), _zeros(n), array("B", bytes(n)))
        ld, pv = sc.load, sc.pv
        prof.base_load(inp.l1, inp.l2, inp.l3, array("d", ld.hourly_w), *ld.phase_share,
                       ld.noise_w, ld.noise_tau_s, float(t0), sc.seed)
        prof.pv(inp.pv, pv.peak_w, float(seconds_of_day(pv.sunrise)),
                float(seconds_of_day(pv.sunset)), pv.cloudiness, pv.cloud_s, pv.cloud_depth,
                pv.edge_s, float(t0), sc.seed + 7919)
        _appliances(sc, inp, t0, prof)
    _flags(sc, inp, t0)
    return inp


def _appliances(sc: Scenario, inp: Inputs, t0: int, prof: Any) -> None:
    rnd = random.Random(sc.seed)
    n = len(inp)
    start, dur, power = array("l"), array("l"), array("d")
    phase, cyc, on = array("i"), array("l"), array("l")
    days = (t0 + n) // 86400 + 1
    for ap in sc.load.appliances:
        for day in range(days):
            for hhmm in ap.at:
                s = day * 86400 + seconds_of_day(hhmm) - t0
                if ap.jitter_s:
                    s += rnd.randint(-ap.jitter_s, ap.jitter_s)
                if s + ap.duration_s <= 0 or s >= n:
                    continue
                start.append(s)
                dur.append(ap.duration_s)
                power.append(ap.power_w)
                phase.append(ap.phase)
                cyc.append(ap.cycle_s)
                on.append(ap.on_s if ap.cycle_s else ap.duration_s)
    prof.add_events(inp.l1, inp.l2, inp.l3, start, dur, power, phase, cyc, on)


def _span(n: int, a: int, b: int) -> range:
    return range(max(0, a), min(n, b))


def _flags(sc: Scenario, inp: Inputs, t0: int) -> None:
    n = len(inp)
    fl = inp.flags
    car = _FLAG["car"]
    fl[:] = array("B", bytes([car])) * n
    days = (t0 + n) // 86400 + 1
    for day in range(days):
        for leave, back in sc.car.away:
            a = day * 86400 + seconds_of_day(leave) - t0
            b = day * 86400 + seconds_of_day(back) - t0
            if b <= 0 or a >= n:
                continue
            for i in _span(n, a, b):
                fl[i] &= ~car
            if 0 < b < n:
                inp.returns.append(b)
    for ev in sc.events:
        a = ev.at_s if ev.at_s is not None else seconds_of_day(ev.at or "00:00") - t0
        b = a + ev.duration_s
        if ev.kind == "car_unplug":
            for i in _span(n, a, b):
                fl[i] &= ~car
        else:
            bit = _EVENT_FLAG[ev.kind]
            for i in _span(n, a, b):
                fl[i] |= bit
    inp.returns.sort()
