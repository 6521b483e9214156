"""The checks a HIL scenario may ask for, scored on the bench's timeline (one row a plant
sub-step, `Run.n_sub` a second: time, phase powers, charger power, commanded power, SoC,
flags), the charger's write log and its control registers' history. Every check is
'value <= limit'."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.config import Config

from ._codec import from_i16

T, G1, G2, G3, P, CMD, SOC, FL = range(8)
METER_FAULTS = ("meter_silent", "meter_frozen", "meter_garbage", "meter_exception",
                "meter_dark", "meter_refused")
DARK_FAULTS = ("meter_dark", "meter_refused")  # a meter dead with the grid
# the write log's vocabulary: the Quasar's registers; the other chargers' emulators log
# their commands in these terms (hil/_charger.py, command_log)
POWER_SP, ACTION = 260, 257


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
    # the unit's ExecStopPost= as the bench ran it after the kill (hil/_run.py), or None
    post_stop: dict[str, Any] | None = None
    # the charger's (bench time, 81 control, 83 setpoint type, 88 watchdog) at each change
    control_hist: list[tuple[float, int, int, int]] = field(default_factory=list)
    # control_hist's row as v2h configures the charger (None: the Quasar's 81, 83, 88 =
    # remote, power setpoints, charger.watchdog_s); each emulator says its own
    control_want: tuple[int, int, int] | None = None
    n_sub: int = 4  # the plant's sub-steps a second: rows a second

    @property
    def h(self) -> float:
        """One row's length (s)."""
        return 1.0 / self.n_sub


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
    """Seconds of discharge commanded after the grid returns and before it has been seen
    healthy for grid_reconnect_s: from the meter's return when the meter went dark with it
    (a meter that boots 3 s after the grid shows the grid 3 s late)."""
    out = 0.0
    for e in _events(run, ("grid_loss",)):
        end = e.at_s + e.duration_s
        seen = max([end] + [d.at_s + d.duration_s for d in _events(run, DARK_FAULTS)
                            if d.at_s <= end and d.at_s + d.duration_s >= end])
        out += sum(run.h for r in run.rec
                   if end <= r[T] < seen + run.cfg.control.grid_reconnect_s and r[CMD] < 0.0)
    return out


def _stop_write(run: Run, w: tuple[float, int, int]) -> bool:
    """Whether write w is the charger's stop as its driver writes it first: a 0 W setpoint
    (260 = 0 in the log's words) for a charger that stops by its setpoint (the Quasar and
    the EVtec write it before their stop command; the Ambibox and the SunSpec have no other),
    the stop command (257 = 2) for one that stops by command alone (the Sigenergy's 41000 = 1:
    a 0 W limit is never written to it; an OCPP station's Idle profile)."""
    from controller.devices import CHARGER_CAPS

    if CHARGER_CAPS[run.cfg.charger.driver].stop == "command":
        return w[1] == ACTION and w[2] == 2
    return w[1] == POWER_SP and w[2] == 0


def grid_loss_zero_write_s(run: Run) -> float:
    """After the grid goes: seconds until the controller writes the charger's stop (a 0 W
    setpoint, 260 = 0; for a charger that stops by command alone its stop, 257 = 2), whatever
    its meter or the charger's replies do meanwhile."""
    return max((next((w[0] - e.at_s for w in run.writes
                      if w[0] >= e.at_s and _stop_write(run, w)), math.inf)
                for e in _events(run, ("grid_loss",))), default=0.0)


def meter_stop_s(run: Run) -> float:
    """After the meter goes bad: how long until 0 W is commanded (s)."""
    return max((_first(run.rec, e.at_s, lambda r: r[CMD] == 0.0)
                for e in _events(run, METER_FAULTS)), default=0.0)


def resume_s(run: Run) -> float:
    """After a meter or charger fault ends: how long until power is commanded again (s)."""
    return max((_first(run.rec, _back_at(e), lambda r: r[CMD] != 0.0)
                for e in _events(run, METER_FAULTS + CHARGER_BACK + ("charger_error",
                                                                      "car_unplug"))),
               default=0.0)


# charger faults after which it answers again: at the end, or (taken to app control) at once
CHARGER_BACK = ("charger_lost", "charger_reboot", "charger_user_mode")


def _back_at(e) -> float:
    """When the device answers again after fault e (s, bench time)."""
    return e.at_s if e.kind == "charger_user_mode" else e.at_s + e.duration_s


def _control_at(run: Run, t0: float) -> float:
    """The first bench time from t0 on at which 81, 83 and 88 read as v2h configures them
    (remote control, power setpoints, charger.watchdog_s); inf if never."""
    want = run.control_want or (1, 1, run.cfg.charger.watchdog_s)
    state = next((row for row in reversed(run.control_hist) if row[0] <= t0), None)
    if state is not None and state[1:] == want:
        return t0
    return next((row[0] for row in run.control_hist if row[0] > t0 and row[1:] == want),
                math.inf)


def control_taken_s(run: Run) -> float:
    """After the charger answers again (it was lost, rebooted with factory registers, or
    taken to app control): seconds until 81 = 1, 83 = 1 and 88 = charger.watchdog_s."""
    return max((_control_at(run, _back_at(e)) - _back_at(e)
                for e in _events(run, CHARGER_BACK)), default=0.0)


def power_before_control(run: Run) -> float:
    """Writes of a non-zero power (260) from the charger answering again until control is
    taken (count): a setpoint must not reach a charger that is not under v2h's control."""
    n = 0
    for e in _events(run, CHARGER_BACK):
        t0 = _back_at(e)
        t1 = _control_at(run, t0)
        n += sum(1 for w in run.writes if t0 <= w[0] < t1 and w[1] == POWER_SP and w[2] != 0)
    return float(n)


def fault_not_reported(run: Run) -> float:
    """1 unless the controller's log has a line with FAULT (a fault it cannot clear)."""
    return 0.0 if "FAULT" in run.log else 1.0


STUCK_DETECT_S = 5.0  # a stuck charger is known by its power not following: a few cycles


def stuck_stop_gap_s(run: Run) -> float:
    """While a stuck charger still discharges (from STUCK_DETECT_S into the fault until its
    power is back above -100 W): the longest stretch (s) without a stop (257 = 2) written."""
    worst = 0.0
    for e in _events(run, ("charger_stuck",)):
        t0 = e.at_s + STUCK_DETECT_S
        t1 = t0 + _first(run.rec, t0, lambda r: r[P] > -STOPPED_W)
        t1 = min(t1, run.end_s)
        if t1 <= t0:
            continue
        stops = [w[0] for w in run.writes if t0 <= w[0] < t1 and w[1] == ACTION and w[2] == 2]
        marks = [t0, *stops, t1]
        worst = max(worst, max(b - a for a, b in zip(marks, marks[1:])))
    return worst


def discharge_writes_after_stuck(run: Run) -> float:
    """Discharge commands (260 < 0, or a start 257 = 1) written later than STUCK_DETECT_S
    after a charger got stuck (count): once seen, it is not driven again."""
    n = 0
    for e in _events(run, ("charger_stuck",)):
        t0 = e.at_s + STUCK_DETECT_S
        n += sum(1 for w in run.writes if w[0] >= t0 and (
            (w[1] == POWER_SP and from_i16(w[2]) < 0) or (w[1] == ACTION and w[2] == 1)))
    return float(n)


def sign_flips_per_min(run: Run) -> float:
    """The most changes of the written setpoint's sign (260: -, 0, +) in any 60 s."""
    sp = [(w[0], (from_i16(w[2]) > 0) - (from_i16(w[2]) < 0)) for w in run.writes
          if w[1] == POWER_SP]
    flips = [t for (t, s), (_, s0) in zip(sp[1:], sp) if s != s0]
    return float(max((sum(1 for u in flips if t <= u < t + 60.0) for t in flips), default=0))


IDLE_FROM_S = 10.0  # v2h's start: take control, first cycles, the charger's ramp


def idle_above_reserve_s(run: Run) -> float:
    """Seconds the car stood idle (not discharging) while the house imported over 500 W and
    its true SoC was above the reserve plus hysteresis: an unread SoC taken for none."""
    floor = run.cfg.limits.reserve_soc + run.cfg.limits.soc_hyst
    return sum(run.h for r in run.rec if IDLE_FROM_S < r[T] <= run.end_s and r[FL] & 1
               and r[SOC] > floor and r[G1] + r[G2] + r[G3] > 500.0 and r[P] > -STOPPED_W)


def grid_mean_abs_w(run: Run) -> float:
    """Mean |grid| (W) over the run's second half, of 1-s means: regulation in steady state."""
    sec = _per_second(run)[len(_per_second(run)) // 2:]
    return sum(abs(g) for g, _ in sec) / len(sec) if sec else math.inf


STOPPED_W = 100.0  # the charger's own ramp-down (tau 0.7 s) takes the rest


def charger_stop_s(run: Run) -> float:
    """After the charger stops answering: how long until it is below 100 W by itself (s)."""
    return max((_first(run.rec, e.at_s, lambda r: abs(r[P]) < STOPPED_W)
                for e in _events(run, ("charger_lost",))), default=0.0)


def unconfirmed_stop_s(run: Run) -> float:
    """After a short charger silence that leaves v2h unable to confirm its control (replies
    to writes lost): how long until the charger, still running v2h's last setpoint, is below
    100 W by v2h's stop (s). n/a when control was confirmed (DYNAMIC_NA)."""
    return max((_first(run.rec, e.at_s, lambda r: abs(r[P]) < STOPPED_W)
                for e in _events(run, ("charger_lost",))), default=0.0)


def control_confirmed(run: Run) -> str:
    """Why unconfirmed_stop_s does not apply to a run ("" when it does): v2h confirmed its
    control when the charger answered again (no charger_control fault in its log), so it
    rightly drove on, and no stop was owed. A charger whose take_control has nothing for a
    lost reply to hide (Ambibox: a read; EVtec: one write, whose reply may come back) gets
    there; the Quasar (four writes) and the Sigenergy (three) do not."""
    if "fault start charger_control" in run.log:
        return ""
    return ("v2h confirmed its control of the charger when it answered again (no "
            "charger_control fault): it rightly went on regulating, so no stop was owed")


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
    return sum(run.h for r in run.rec if r[P] < -1.0 and r[SOC] < res)


def phase_over_fuse_a(run: Run) -> float:
    """Largest phase current above the fuse (A) over a 1-s mean, 0 when within it."""
    v = run.cfg.site.nominal_v
    worst = 0.0
    n = run.n_sub
    for i in range(0, len(run.rec) - n + 1, n):
        rows = run.rec[i:i + n]
        for ph in (G1, G2, G3):
            a = abs(sum(r[ph] for r in rows) / n / v)
            worst = max(worst, a - run.cfg.limits.fuse_a)
    return worst


def phase_over_fuse_s(run: Run) -> float:
    """Longest stretch (s) of 1-s means with a phase above the fuse while the charger adds
    to that phase's current (a fuse is thermal: a brief step of the house's own is not the
    controller's overload; the judge allows 3 s for the loop and the charger:
    FUSE_GRACE_S, firmware_notes/design.md "Result object")."""
    v = run.cfg.site.nominal_v
    shares = _shares(run.cfg)
    longest = run_s = 0.0
    n = run.n_sub
    for i in range(0, len(run.rec) - n + 1, n):
        rows = run.rec[i:i + n]
        pm = sum(r[P] for r in rows) / n
        over = False
        for ph, share in zip((G1, G2, G3), shares):
            a = sum(r[ph] for r in rows) / n / v
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
    ph = cfg.charger.phase
    return (float(ph == 1), float(ph == 2), float(ph == 3))


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
    n = run.n_sub
    for i in range(0, len(rec) - n + 1, n):
        rows = rec[i:i + n]
        g = sum(r[G1] + r[G2] + r[G3] for r in rows) / n
        out.append((g, g - sum(r[P] for r in rows) / n))
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


# identification (issue #12): the steps judged on a model identified from the run's first
# IDENTIFIED_FROM_S, and only steps that last (a load that switches back within
# STEP_HOLDS_S is a pulse, not a step to settle on)
IDENTIFIED_FROM_S = 90
STEP_HOLDS_S = 10


def _identified_windows(run: Run, n: int) -> list[tuple[int, list[float]]]:
    sec = _per_second(run)
    steps = _steps(run)
    ends = [*steps[1:], len(sec)]
    return [(k, [g for g, _ in sec[k:min(k + n, e - 1)]]) for k, e in zip(steps, ends)
            if k >= IDENTIFIED_FROM_S and e - k >= STEP_HOLDS_S]


def settle_s_identified(run: Run) -> float:
    """settle_s over the lasting steps after the identification's first IDENTIFIED_FROM_S
    (nan without one: a scenario that means to judge steps must have them)."""
    wins = _identified_windows(run, 30)
    worst = math.nan if not wins else 0.0
    for _, win in wins:
        s = next((i for i in range(len(win)) if all(abs(x) < 50.0 for x in win[i:])), 30)
        worst = max(worst, float(s))
    return worst


def overshoot_pct_identified(run: Run) -> float:
    """overshoot_pct over the lasting steps after IDENTIFIED_FROM_S (nan without one)."""
    sec = _per_second(run)
    wins = _identified_windows(run, 20)
    worst = math.nan if not wins else 0.0
    for k, win in wins:
        step = sec[min(k + 1, len(sec) - 1)][1] - sec[k - 1][1]
        sign = 1.0 if step > 0 else -1.0
        worst = max(worst, max(0.0, max(-sign * g for g in win)) / abs(step) * 100.0)
    return worst


def _below_smallest_power(run: Run, judged: list[int]) -> str:
    """Why step checks do not apply to a run ("" when they do): after a judged step (its
    index in seconds) the house's own demand is below the charger's smallest power (its
    Capabilities' min_power_w, plus the hysteresis), where it cannot regulate the grid to
    0 W at all (the Sigenergy's 1000 W against a 700 W evening load): settling there is not
    the charger's to do. A charger with no minimum of its own (the Quasar) is always
    judged."""
    from controller.devices import CHARGER_CAPS

    least = CHARGER_CAPS[run.cfg.charger.driver].min_power_w
    if least <= 0.0:
        return ""
    floor = least + run.cfg.limits.min_power_hyst_w
    sec = _per_second(run)
    steps = _steps(run)
    ends = dict(zip(steps, [*steps[1:], len(sec)]))
    for k in judged:
        after = [abs(d) for _, d in sec[k + 1:ends[k]]]
        if after and sum(after) / len(after) < floor:
            return (f"after the step at {k} s the house draws {sum(after) / len(after):.0f} W, "
                    f"below the {run.cfg.charger.driver} charger's smallest power "
                    f"({least:.0f} W + {run.cfg.limits.min_power_hyst_w:.0f} W hysteresis): "
                    "it cannot regulate the grid to 0 W there")
    return ""


def steps_below_smallest_power(run: Run) -> str:
    """_below_smallest_power over settle_s's and overshoot_pct's steps (all of them)."""
    return _below_smallest_power(run, _steps(run))


def identified_below_smallest_power(run: Run) -> str:
    """_below_smallest_power over the *_identified checks' steps."""
    return _below_smallest_power(run, [k for k, _ in _identified_windows(run, 30)])


def charger_lost_not_reported(run: Run) -> float:
    """1 unless the controller's log shows it entered CHARGER_LOST."""
    return 0.0 if "state=CHARGER_LOST" in run.log else 1.0


def exit_not_clean(run: Run) -> float:
    """1 unless every controller exited 0 on SIGTERM and handed control back (81 = 0)."""
    ok = all(c == 0 for c in run.exit_codes) and run.control_after == 0
    ok = ok and bool(run.rec) and run.rec[-1][CMD] == 0.0
    return 0.0 if ok else 1.0


def kill_stop_s(run: Run) -> float:
    """After the controller is killed: seconds until the charger stands still, by its own
    watchdog or by the unit's ExecStopPost= (`v2h stop-charger`, run.post_stop)."""
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


# the checks that measure the charger stopping by its own watchdog while nothing can reach it
# (the link is gone): n/a (scored, not judged) for a charger whose driver declares none
# (hil/_run.py, not_applicable). kill_stop_s is not one: after a SIGKILL the systemd unit's
# ExecStopPost= (`v2h stop-charger`) reaches the charger, and the bench runs it as systemd
# would for a charger without a watchdog (hil/_run.py, _post_stop)
NEEDS_WATCHDOG = ("charger_stop_s",)
# checks whose premise a run may not meet (e.g. control that could not be confirmed): the
# reason it does not apply to this run, "" when it does (hil/_run.py)
DYNAMIC_NA: dict[str, Callable[[Run], str]] = {
    "unconfirmed_stop_s": control_confirmed, "settle_s": steps_below_smallest_power,
    "overshoot_pct": steps_below_smallest_power,
    "settle_s_identified": identified_below_smallest_power,
    "overshoot_pct_identified": identified_below_smallest_power}

CHECKS: dict[str, Callable[[Run], float]] = {f.__name__: f for f in (
    grid_loss_stop_s, discharge_before_reconnect_s, meter_stop_s, resume_s, charger_stop_s,
    stop_not_first_after_loss, discharge_below_reserve_s, phase_over_fuse_a,
    phase_over_fuse_s, charge_below_fuse_room_w, settle_s,
    overshoot_pct, exit_not_clean, kill_stop_s, restart_regulates_s,
    charger_lost_not_reported, grid_loss_zero_write_s, control_taken_s, power_before_control,
    fault_not_reported, stuck_stop_gap_s, discharge_writes_after_stuck, sign_flips_per_min,
    idle_above_reserve_s, grid_mean_abs_w, settle_s_identified, overshoot_pct_identified,
    unconfirmed_stop_s)}
