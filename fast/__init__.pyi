# The types of what Python code takes from `fast` (fast/__init__.py). The core's classes are
# Cython cclasses in fast/_types.py, _plant.py, _policies.py and _ident.py: their attributes
# are C fields (declared in the .pxd beside each; Ident's in its class body), listed here as
# Python sees them (only the public ones). Units as in firmware_notes/design.md: W, Wh, %, s,
# A, V, Hz. Keep in step with those modules when a field or a signature changes.

from array import array
from types import ModuleType
from typing import Any

_Doubles = memoryview | array[float]  # per-second float64 arrays (the batch runner's inputs)
_Bytes = memoryview | array[int]  # per-second uint8 flags

NO_EXTENSIONS: bool
COMPILED: bool
core: ModuleType
profile: ModuleType
battery: ModuleType  # fast/_battery.py: run(), OUT_FIELDS, OUT_N

MODES: tuple[str, ...]
REASONS: tuple[str, ...]
FLAGS: tuple[str, ...]
POLICIES: tuple[str, ...]
LIMIT_FIELDS: tuple[str, ...]

def implementations() -> dict[str, ModuleType]: ...
def profile_implementations() -> dict[str, ModuleType]: ...
def battery_implementations() -> dict[str, ModuleType]: ...

class Limits:
    max_charge_w: float
    max_discharge_w: float
    min_power_w: float
    min_power_hyst_w: float
    reserve_soc: float
    max_soc: float
    soc_hyst: float
    fuse_a: float
    fuse_margin_a: float
    share1: float
    share2: float
    share3: float
    nominal_v: float
    ramp_w_s: float
    deadband_w: float
    charger_dead_s: float
    charger_jitter_s: float
    charger_tau_s: float
    charger_ramp_w_s: float
    meter_delay_s: float
    meter_window_s: float
    model_known: float
    kd: float
    kp: float
    ki: float
    integ_band_w: float
    integ_max_w: float
    period_s: float
    meter_stale_s: float
    meter_frozen_s: float
    charger_lost_s: float
    grid_undervoltage_v: float
    grid_overvoltage_v: float
    grid_freq_min_hz: float
    grid_freq_max_hz: float
    grid_reconnect_s: float
    grid_startup_s: float
    grid_loss_stop_s: float
    meter_interval_s: float
    phases: float
    charger_disobey_s: float
    charger_ignore_s: float
    charger_fault_hold_s: float
    capacity_wh: float
    soc_hold_wh: float
    p_gain: float
    def __init__(self, **kw: float) -> None: ...
    def as_dict(self) -> dict[str, float]: ...

class Plan:
    grid_target_w: float
    forced_w: float
    allow_charge: bool
    allow_discharge: bool
    hold: bool
    def __init__(self, grid_target_w: float = 0.0, forced_w: float = ...,
                 allow_charge: bool = True, allow_discharge: bool = True,
                 hold: bool = False) -> None: ...

class Measurement:
    t: float
    grid_w: float
    p1: float
    p2: float
    p3: float
    v1: float
    v2: float
    v3: float
    freq: float
    ev_t: float
    ev_w: float
    soc: float
    car_present: bool
    charger_ready: bool
    def __init__(self, t: float = 0.0, grid_w: float = 0.0, p1: float = 0.0, p2: float = 0.0,
                 p3: float = 0.0, v1: float = 230.0, v2: float = 230.0, v3: float = 230.0,
                 freq: float = 50.0, ev_t: float = 0.0, ev_w: float = 0.0, soc: float = 50.0,
                 car_present: bool = True, charger_ready: bool = True) -> None: ...

class CtlState:
    mode: int
    grid_ok: bool
    healthy_since: float
    had_loss: bool
    integ: float
    prev_ev: float
    prev_net: float
    prev_dn: float
    last_sp: float
    sp_age: int
    gain: float
    on: bool
    dis_block: bool
    chg_block: bool
    reasons: int
    fz_grid: float
    fz_p1: float
    fz_v1: float
    fz_freq: float
    fz_since: float
    unknown_since: float
    disobey_since: float
    ignore_since: float
    fault_until: float
    chk_ev: float
    soc_held: float
    soc_moved_wh: float
    soc_t: float
    meter_good: bool
    blind: bool
    grid_dis_ok: bool
    probe_t: float
    net_avg: float
    chase: float
    big_dn: float
    big_t: float
    up_t: float
    prev2_dn: float
    prev_ev_t: float
    prev2_ev: float
    prev2_t: float
    dec_t: float
    c1_w: float
    c1_t: float
    c2_w: float
    c2_t: float
    c3_w: float
    c3_t: float
    c4_w: float
    c4_t: float
    hist_n: int
    hist_k: int
    per_p: int
    per_n: int
    pulse_dn: float
    alt_e: float
    alt_d: float
    alt_n: int
    alt_pe: float
    alt_pick: int
    def __init__(self, mode: int = 0, grid_ok: bool = False) -> None: ...
    def copy(self) -> CtlState: ...

class Plant:
    n_sub: int
    meter_lat_n: int
    meter_noise_w: float
    dead_s: float
    tau_s: float
    ramp_w_s: float
    min_w: float
    max_chg_w: float
    max_dis_w: float
    eff: float
    meas_gain: float
    anti_islanding: bool
    watchdog_s: float
    cap_wh: float
    car_min_soc: float
    soc_zero_idle: bool
    dead_jitter_s: float
    meter_avg: bool
    pv_share1: float
    pv_share2: float
    pv_share3: float
    ev_share1: float
    ev_share2: float
    ev_share3: float
    soc_wh: float
    p: float
    cmd_act: float
    cmd_pend: float
    pend_t: float
    pend_wt: float
    cmd_pend2: float
    pend_t2: float
    pend_wt2: float
    acc1: float
    acc2: float
    acc3: float
    tail1: float
    tail2: float
    tail3: float
    last_comm_t: float
    seen1: float
    seen2: float
    seen3: float
    seen_pv: float
    seen1_b: float
    seen2_b: float
    seen3_b: float
    seen_pv_b: float
    s_t: float
    s_p1: float
    s_p2: float
    s_p3: float
    s_v: float
    s_f: float
    ev_noise: float
    g1: float
    g2: float
    g3: float
    imp_wh: float
    exp_wh: float
    chg_wh: float
    dis_wh: float
    def __init__(self, seed: int = 1, soc_pct: float = 50.0, **kw: Any) -> None: ...
    @property
    def soc_pct(self) -> float: ...
    def tick(self, t: float, flags: int, l1: float, l2: float, l3: float, pv: float) -> None: ...
    def write(self, sp: float, t: float) -> None: ...
    def heard(self, t: float) -> None: ...
    def noise(self, a: float) -> float: ...

class Totals:
    pv_wh: float
    load_wh: float
    import_wh: float
    export_wh: float
    ev_charge_wh: float
    ev_discharge_wh: float
    max_export_w: float
    max_phase_a: float
    v_grid: int
    v_reserve: int
    v_fuse: int
    v_limits: int
    v_stale: int
    seconds: int
    down_since: float
    bad_meter_since: float
    over1: float
    over2: float
    over3: float
    reserve_soc: float
    fuse_a: float
    fuse_grace_s: float
    stop_budget_s: float
    stale_budget_s: float
    nominal_v: float
    def __init__(self, reserve_soc: float = 30.0, fuse_a: float = 25.0,
                 fuse_grace_s: float = 3.0, stop_budget_s: float = 0.5,
                 stale_budget_s: float = 3.5, nominal_v: float = 230.0) -> None: ...
    @property
    def safety_violations(self) -> int: ...

class EvccState:
    enabled: bool
    timer: float
    sp: float
    interval_s: float
    next_t: float
    def __init__(self, interval_s: float = 30.0) -> None: ...

def reason_names(bits: int) -> tuple[str, ...]: ...
def step(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: float
         ) -> tuple[float, CtlState, tuple[str, ...]]: ...
def grid_state(m: Measurement, lim: Limits, meter_ok: bool) -> int: ...
def meter_ok(st: CtlState, m: Measurement, now: float, lim: Limits) -> tuple[bool, CtlState]: ...
def supervise(st: CtlState, lim: Limits, meter_ok: bool, grid: int, charger_ok: bool,
              car_present: bool, hold: bool, fault: bool, now: float) -> CtlState: ...
def decide(m: Measurement, st: CtlState, lim: Limits, plan: Plan, now: float, cmd_w: float,
           charger_ctl: bool) -> tuple[float, CtlState, tuple[str, ...]]: ...
def fast_path(st: CtlState, m: Measurement, lim: Limits, now: float, cmd_w: float
              ) -> tuple[bool, CtlState]: ...
def run_batch(policy: int, l1: _Doubles, l2: _Doubles, l3: _Doubles, pv: _Doubles,
              flags: _Bytes, pl: Plant, lim: Limits, plan: Plan, st: CtlState, ev: EvccState,
              tot: Totals, t0: float, trace: _Doubles, facts: _Doubles | None = None
              ) -> None: ...

class Ident:
    """The charger's response and the meter's lag, identified from each cycle's facts."""

    n: int
    ok: bool
    dead_s: float
    tau_s: float
    ramp_w_s: float
    gain: float
    meter_delay_s: float
    meter_window_s: float
    cost_w: float
    meter_cost_w: float
    intervals: int
    fresh: int
    fit_t: float
    start_delay_s: float
    start_window_s: float
    def __init__(self, start_delay_s: float = 0.25, start_window_s: float = 0.0) -> None: ...
    def record(self, t_read: float, ev_w: float, t_write: float, sp_w: float,
               regulating: bool, t_meter: float, grid_w: float) -> None: ...
    def due(self, now: float) -> bool: ...
    def fit(self) -> bool: ...
    def apply(self, lim: Limits) -> None: ...
