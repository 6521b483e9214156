"""The checks a HIL scenario may ask for, scored on the bench's timeline (0.25-s rows:
time, phase powers, charger power, commanded power, SoC, flags) and the charger's write log.
Every check is 'value <= limit'."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.config import Config

T, G1, G2, G3, P, CMD, SOC, FL = range(8)
METER_FAULTS = ("meter_silent", "meter_frozen", "meter_garbage", "meter_exception")


@dataclass
class Run:
    """What one HIL run left behind, for scoring."""

    rec: list[tuple]
    writes: list[tuple[float, int, int]]
    events: list[Any]  # hil.Fault
    cfg: Config
    exit_codes: list[int | None] = field(default_factory=list)
    control_after: int = -1
    kill_at: float | None = None
    restart_at: float | None = None
    log: str = ""
    end_s: float = math.inf  # the scenario's end: what follows is the stop, not regulation
    wall0: float = math.nan  # UTC (Unix s) at bench time 0
    stats: dict[str, list[float]] = field(default_factory=dict)  # the loop's timings (ms)


def _first(rows, t0: float, pred) -> float:
    for r in rows:
        if r[T] >= t0 and pred(r):
            return r[T] - t0
    return math.inf


def _events(run: Run, kinds) -> list:
    return [e for e in run.events if e.kind in kinds]


def grid_loss_stop_s(run: Run) -> float:
    """After the grid goes: how long until no discharge is commanded (s)."""
    return max((_first(run.rec, e.at_s, lambda r: r[CMD] >= 0.0)
                for e in _events(run, ("grid_loss",))), default=0.0)


def discharge_before_reconnect_s(run: Run) -> float:
    """Seconds of discharge commanded within grid_reconnect_s after the grid returns."""
    out = 0.0
    for e in _events(run, ("grid_loss",)):
        end = e.at_s + e.duration_s
        out += sum(0.25 for r in run.rec
                   if end <= r[T] < end + run.cfg.control.grid_reconnect_s and r[CMD] < 0.0)
    return out


def meter_stop_s(run: Run) -> float:
    """After the meter goes bad: how long until 0 W is commanded (s)."""
    return max((_first(run.rec, e.at_s, lambda r: r[CMD] == 0.0)
                for e in _events(run, METER_FAULTS)), default=0.0)


def resume_s(run: Run) -> float:
    """After a meter or charger fault ends: how long until power is commanded again (s)."""
    return max((_first(run.rec, e.at_s + e.duration_s, lambda r: r[CMD] != 0.0)
                for e in _events(run, METER_FAULTS + ("charger_lost", "charger_error",
                                                      "car_unplug"))),
               default=0.0)


STOPPED_W = 100.0  # the charger's own ramp-down (tau 0.7 s) takes the rest


def charger_stop_s(run: Run) -> float:
    """After the charger stops answering: how long until it is below 100 W by itself (s)."""
    return max((_first(run.rec, e.at_s, lambda r: abs(r[P]) < STOPPED_W)
                for e in _events(run, ("charger_lost",))), default=0.0)


def stop_not_first_after_loss(run: Run) -> float:
    """1 when the first write that moves power (power setpoint 260, current setpoint 258,
    action 257) after the charger answers again is not a stop, else 0. Writes that take
    control (81, 82, 83, 88) move none and may come first."""
    bad = 0.0
    for e in _events(run, ("charger_lost",)):
        end = e.at_s + e.duration_s
        after = [w for w in run.writes if w[0] >= end and w[1] in (257, 258, 260)]
        if after and not ((after[0][1] == 260 and after[0][2] == 0)
                          or (after[0][1] == 257 and after[0][2] == 2)):
            bad = 1.0
    return bad


def discharge_below_reserve_s(run: Run) -> float:
    """Seconds the car discharged below the reserve SoC."""
    res = run.cfg.limits.reserve_soc
    return sum(0.25 for r in run.rec if r[P] < -1.0 and r[SOC] < res)


def phase_over_fuse_a(run: Run) -> float:
    """Largest phase current above the fuse (A) over a 1-s mean, 0 when within it."""
    v = run.cfg.site.nominal_v
    worst = 0.0
    for i in range(0, len(run.rec) - 3, 4):
        rows = run.rec[i:i + 4]
        for ph in (G1, G2, G3):
            a = abs(sum(r[ph] for r in rows) / 4 / v)
            worst = max(worst, a - run.cfg.limits.fuse_a)
    return worst


def phase_over_fuse_s(run: Run) -> float:
    """Longest stretch (s) of 1-s means with a phase above the fuse while the charger adds
    to that phase's current (a fuse is thermal: a brief step of the house's own is not the
    controller's overload; DESIGN's judge allows 2 s for the loop and the charger)."""
    v = run.cfg.site.nominal_v
    shares = _shares(run.cfg)
    longest = run_s = 0.0
    for i in range(0, len(run.rec) - 3, 4):
        rows = run.rec[i:i + 4]
        pm = sum(r[P] for r in rows) / 4
        over = False
        for ph, share in zip((G1, G2, G3), shares):
            a = sum(r[ph] for r in rows) / 4 / v
            if share > 0 and abs(a) > run.cfg.limits.fuse_a and a * pm > 0:
                over = True
        run_s = run_s + 1.0 if over else 0.0
        longest = max(longest, run_s)
    return longest


def charge_below_fuse_room_w(run: Run) -> float:
    """How far (W, mean over the run's second half) the charger's phase stayed below the fuse:
    shows that a fuse check passed because the charger used the room, not because it idled."""
    v = run.cfg.site.nominal_v
    shares = _shares(run.cfg)
    ph = (G1, G2, G3)[shares.index(max(shares))]
    rows = [r for r in run.rec if run.end_s / 2 <= r[T] <= run.end_s]
    if not rows or min(r[P] for r in rows) <= 0.0:
        return math.inf  # not charging all along: the check cannot pass
    return sum(run.cfg.limits.fuse_a * v - abs(r[ph]) for r in rows) / len(rows)


def _shares(cfg: Config) -> tuple[float, float, float]:
    if cfg.charger.phases == 3:
        return (1 / 3, 1 / 3, 1 / 3)
    return tuple(1.0 if cfg.charger.phase == i else 0.0 for i in (1, 2, 3))  # type: ignore


def _steps(run: Run) -> list[int]:
    """Indices (per second) where the house's demand jumped by more than 1 kW."""
    sec = _per_second(run)
    return [k for k in range(2, len(sec))
            if abs(sec[k][1] - sec[k - 1][1]) > 1000.0 >= abs(sec[k - 1][1] - sec[k - 2][1])
            or abs(sec[k][1] - sec[k - 1][1]) > 1000.0 and k == 2]


def _per_second(run: Run) -> list[tuple[float, float]]:
    """(mean grid W, house demand estimate W = grid - charger) per second, to the end."""
    out = []
    rec = [r for r in run.rec if r[T] <= run.end_s]
    for i in range(0, len(rec) - 3, 4):
        rows = rec[i:i + 4]
        g = sum(r[G1] + r[G2] + r[G3] for r in rows) / 4
        out.append((g, g - sum(r[P] for r in rows) / 4))
    return out


def _windows(run: Run, n: int) -> list[tuple[int, list[float]]]:
    """Per step: its index and the grid (W) for up to n s, ending before the next step."""
    sec = _per_second(run)
    steps = _steps(run)
    ends = [*steps[1:], len(sec)]
    return [(k, [g for g, _ in sec[k:min(k + n, e - 1)]]) for k, e in zip(steps, ends)]


def settle_s(run: Run) -> float:
    """After each load step: seconds until |grid| stays under 50 W (worst step)."""
    worst = 0.0
    for _, win in _windows(run, 30):
        s = next((i for i in range(len(win)) if all(abs(x) < 50.0 for x in win[i:])), 30)
        worst = max(worst, float(s))
    return worst


def overshoot_pct(run: Run) -> float:
    """After each load step: the largest excursion past zero, in % of the step."""
    sec = _per_second(run)
    worst = 0.0
    for k, win in _windows(run, 20):
        step = sec[min(k + 1, len(sec) - 1)][1] - sec[k - 1][1]  # a step may straddle seconds
        sign = 1.0 if step > 0 else -1.0
        worst = max(worst, max(0.0, max(-sign * g for g in win)) / abs(step) * 100.0)
    return worst


def charger_lost_not_reported(run: Run) -> float:
    """1 unless the controller's log shows it entered CHARGER_LOST."""
    return 0.0 if "state=CHARGER_LOST" in run.log else 1.0


def exit_not_clean(run: Run) -> float:
    """1 unless every controller exited 0 on SIGTERM and handed control back (81 = 0)."""
    ok = all(c == 0 for c in run.exit_codes) and run.control_after == 0
    ok = ok and run.rec and run.rec[-1][CMD] == 0.0
    return 0.0 if ok else 1.0


def kill_stop_s(run: Run) -> float:
    """After the controller is killed: seconds until the charger stands still by itself."""
    if run.kill_at is None:
        return 0.0
    return _first(run.rec, run.kill_at, lambda r: abs(r[P]) < STOPPED_W)


def restart_regulates_s(run: Run) -> float:
    """After the restart: seconds until |grid| is under 100 W again."""
    if run.restart_at is None:
        return 0.0
    sec = _per_second(run)
    k0 = int(run.restart_at)
    return next((float(k - k0) for k in range(k0, len(sec)) if abs(sec[k][0]) < 100.0),
                math.inf)


CHECKS: dict[str, Callable[[Run], float]] = {f.__name__: f for f in (
    grid_loss_stop_s, discharge_before_reconnect_s, meter_stop_s, resume_s, charger_stop_s,
    stop_not_first_after_loss, discharge_below_reserve_s, phase_over_fuse_a,
    phase_over_fuse_s, charge_below_fuse_room_w, settle_s,
    overshoot_pct, exit_not_clean, kill_stop_s, restart_regulates_s,
    charger_lost_not_reported)}
