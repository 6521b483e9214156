"""`v2h probe`: a commissioning run for installers (issue #12, point 2).

Small steps of the charger's power, forced through the control step itself, so every clamp
and the supervisor hold as in `v2h run`: no discharge without a grid confirmed healthy for
`grid_reconnect_s` and a known SoC above the reserve, the fuse, the charger's limits, the
grid watch's 0 W on a loss. The charger and the meter are read ten times a second into the
same identifier the loop uses (`fast.Ident`), and what it finds is printed with its spread
(fits on each half of the run), the meter's sign and phase, and the config lines to use.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import fast
from controller.config import Config
from controller.loop import Controller

TICK_S = 0.1  # the probe's look at both devices (the grid watch's pace)
STEP_S = 6.0  # each step held this long
START_WAIT_S = 30.0  # the longest wait for REGULATING (grid confirmed, control taken)
# the schedule, in shares of the step size: charge, rest, discharge, rest, half each way
SCHEDULE = (1.0, 0.0, -1.0, 0.0, 0.5, -0.5, 0.0)


@dataclass
class Probe:
    """What the probe saw: each look (t, charger W, command W, command written at, meter
    phases W), and the steps as (start t, commanded W)."""

    looks: list[tuple[float, float, float, float, float, float, float, float]] = \
        field(default_factory=list)
    steps: list[tuple[float, float]] = field(default_factory=list)
    step_w: float = 0.0
    waited_s: float = 0.0


async def probe(cfg: Config, meter: Any, charger: Any, clock: Any = None) -> dict[str, Any]:
    """Run the steps against the devices; the identified figures (a dict, see `report`)."""
    import time

    clock = clock or time.monotonic
    ctl = Controller(cfg, meter, charger, clock=clock)
    ctl.identify = None  # the probe keeps its own record, ten looks a second
    rec = Probe(step_w=min(2000.0, cfg.limits.max_charge_w, cfg.limits.max_discharge_w))
    try:
        t0 = clock()
        while ctl.st.mode != fast.MODES.index("REGULATING"):
            if clock() - t0 > START_WAIT_S:
                raise ProbeError(f"not regulating after {START_WAIT_S:.0f} s (state "
                                 f"{fast.MODES[ctl.st.mode]}; faults: "
                                 f"{', '.join(sorted(ctl.faults)) or 'none'})")
            await _second(ctl, 0.0, rec, clock)
        rec.waited_s = clock() - t0
        for share in SCHEDULE:
            rec.steps.append((clock(), share * rec.step_w))
            for _ in range(round(STEP_S)):
                await _second(ctl, share * rec.step_w, rec, clock)
    finally:
        await ctl.shutdown()
    return report(cfg, rec)


class ProbeError(Exception):
    pass


async def _second(ctl: Controller, forced_w: float, rec: Probe, clock: Any) -> None:
    """One cycle with the plan forcing forced_w (clamped like any setpoint), then the grid
    watch's nine looks, each recorded with the charger read anew."""
    ctl.plan.forced_w = forced_w
    due = clock()
    await ctl.cycle()
    t_cmd, cmd = clock(), ctl.charger.sent_w
    _look(ctl, rec, t_cmd, cmd)
    for k in range(1, 10):
        await asyncio.sleep(max(0.0, due + k * TICK_S - clock()))
        await ctl.watch_once()
        r = await ctl.charger.read()
        if r is not None:
            ctl.m.ev_t, ctl.m.ev_w = r.t, r.power_w
        _look(ctl, rec, t_cmd, cmd)
    await asyncio.sleep(max(0.0, due + 1.0 - clock()))


def _look(ctl: Controller, rec: Probe, t_cmd: float, cmd: float) -> None:
    s = ctl.meter.sample
    m = ctl.m
    if s is None:
        return
    regulating = ctl.st.mode == fast.MODES.index("REGULATING")
    rec.looks.append((m.ev_t, m.ev_w if regulating else math.nan, cmd, t_cmd, s.t, s.p1, s.p2,
                      s.p3))


def _fit(cfg: Config, looks: Sequence[tuple[float, ...]]) -> Any:
    """The identifier on every other look (5 a second: what fits its window of readings)."""
    idn = fast.Ident(cfg.control.meter_lag_s, 0.0)
    for t, ev, cmd, t_cmd, t_m, p1, p2, p3 in looks[::2]:
        idn.record(t, ev, t_cmd, cmd, not math.isnan(ev), t_m, p1 + p2 + p3)
    return idn if idn.fit() else None


def report(cfg: Config, rec: Probe) -> dict[str, Any]:
    """The model from all looks, its spread (the largest difference of a fit on either
    half), the meter's sign and phases on the charging step, and the config lines."""
    full = _fit(cfg, rec.looks)
    if full is None:
        raise ProbeError(f"too few readings that say anything ({len(rec.looks)} looks): the "
                         "charger did not follow the steps")
    mid = len(rec.looks) // 2
    halves = [h for h in (_fit(cfg, rec.looks[:mid]), _fit(cfg, rec.looks[mid:]))
              if h is not None]
    names = ("dead_s", "tau_s", "meter_delay_s")

    def spread(name: str) -> float | None:
        if not halves:
            return None
        return round(max(abs(getattr(h, name) - getattr(full, name)) for h in halves), 3)

    out: dict[str, Any] = {
        "looks": len(rec.looks), "steps": len(rec.steps), "waited_s": round(rec.waited_s, 1),
        "charger_dead_s": round(full.dead_s, 3), "charger_tau_s": round(full.tau_s, 3),
        "charger_ramp_w_s": None if math.isinf(full.ramp_w_s) else round(full.ramp_w_s),
        "charger_gain": round(full.gain, 4), "meter_delay_s": round(full.meter_delay_s, 3),
        "meter_window_s": full.meter_window_s,
        "spread": {n: spread(n) for n in names},
    }
    out.update(_sign_and_phase(cfg, rec))
    lag = min(full.meter_delay_s + full.meter_window_s / 2, 1.0)  # the config's one figure
    out["config"] = (f"[control]\ncharger_dead_s = {full.dead_s:.2f}\n"
                     f"charger_tau_s = {max(full.tau_s, 0.06):.2f}\nmeter_lag_s = {lag:.2f}\n"
                     "model_measured = true\n")
    return out


def _sign_and_phase(cfg: Config, rec: Probe) -> dict[str, Any]:
    """On the charging step: how the meter's phases moved against the charger's reading
    (before: the last second of the step before; after: the last second of this one)."""
    i = next((k for k, (_, w) in enumerate(rec.steps) if w > 0.0), None)
    if i is None or i + 1 >= len(rec.steps):
        return {"meter_sign": "unknown", "meter_phases_w": None}
    t_on, t_off = rec.steps[i][0], rec.steps[i + 1][0]

    def mean(a: float, b: float) -> list[float]:
        rows = [r for r in rec.looks if a <= r[0] < b and not math.isnan(r[1])]
        if not rows:
            return [math.nan] * 4
        return [sum(r[j] for r in rows) / len(rows) for j in (1, 5, 6, 7)]

    before, after = mean(t_on - 1.0, t_on), mean(t_off - 1.0, t_off)
    d_ev = after[0] - before[0]
    d_ph = [after[j] - before[j] for j in (1, 2, 3)]
    ratio = sum(d_ph) / d_ev if abs(d_ev) > 100.0 else math.nan
    sign = ("ok" if 0.7 <= ratio <= 1.3 else "reversed" if -1.3 <= ratio <= -0.7
            else "unclear")
    out: dict[str, Any] = {"meter_sign": sign, "meter_grid_per_charger_w": round(ratio, 3),
                           "meter_phases_w": [round(x) for x in d_ph]}
    ch = cfg.charger
    if ch.phases == 1 and sign == "ok":
        seen = max(range(3), key=lambda k: abs(d_ph[k])) + 1
        out["charger_phase_seen"] = seen
        out["charger_phase_ok"] = seen == ch.phase
    return out


def text(out: dict[str, Any]) -> str:
    """The report for a person: the figures, their spread, the meter's checks, the config."""
    def sp(name: str) -> str:
        v = out["spread"].get(name)
        return "" if v is None else f" ± {v:.2f}"

    ramp = out["charger_ramp_w_s"]
    lines = [
        f"v2h probe: {out['steps']} steps, {out['looks']} looks "
        f"(waited {out['waited_s']} s for the grid and the charger)",
        f"charger: dead time {out['charger_dead_s']:.2f} s{sp('dead_s')}, time constant "
        f"{out['charger_tau_s']:.2f} s{sp('tau_s')}, ramp "
        f"{'none seen' if ramp is None else f'{ramp} W/s'}, reading gain "
        f"{out['charger_gain']:.3f}",
        f"meter: delay {out['meter_delay_s']:.2f} s{sp('meter_delay_s')}, "
        f"{'a mean over 1 s' if out['meter_window_s'] else 'a sample of the instant'}",
    ]
    sign = out["meter_sign"]
    if sign == "ok":
        lines.append(f"meter sign: ok (the grid moved {out['meter_grid_per_charger_w']:.2f} W "
                     f"per W of charging; phases {out['meter_phases_w']} W)")
    elif sign == "reversed":
        lines.append("meter sign: REVERSED: the grid fell as the car charged; the meter counts "
                     "export as positive (turn its current transformers or its wiring)")
    else:
        lines.append(f"meter sign: {sign} (the house moved during the step? run it again)")
    if "charger_phase_ok" in out:
        lines.append(f"charger phase: L{out['charger_phase_seen']} by the meter, "
                     f"{'as configured' if out['charger_phase_ok'] else 'NOT charger.phase'}")
    lines += ["config lines:", out["config"].rstrip()]
    return "\n".join(lines)
