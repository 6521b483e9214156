"""From the config Structs to the compiled core's parameter objects."""

from __future__ import annotations

from typing import Any

import fast

from ._schema import Config


def core_limits(cfg: Config, core: Any = None) -> Any:
    """The step's and supervisor's Limits (W, %, A, V, Hz, s) from a config, built by the
    given implementation of the core (the active one by default)."""
    lim, ctl, ch = cfg.limits, cfg.control, cfg.charger
    shares: tuple[float, ...]
    if ch.phases == 3:
        shares = (1 / 3, 1 / 3, 1 / 3)
    else:
        shares = tuple(1.0 if ch.phase == i else 0.0 for i in (1, 2, 3))
    return (core or fast.core).Limits(
        max_charge_w=lim.max_charge_w, max_discharge_w=lim.max_discharge_w,
        min_power_w=lim.min_power_w, min_power_hyst_w=lim.min_power_hyst_w,
        reserve_soc=lim.reserve_soc, max_soc=lim.max_soc, soc_hyst=lim.soc_hyst,
        fuse_a=lim.fuse_a, fuse_margin_a=lim.fuse_margin_a,
        share1=shares[0], share2=shares[1], share3=shares[2], nominal_v=cfg.site.nominal_v,
        ramp_w_s=lim.ramp_w_s, deadband_w=ctl.deadband_w, kp=ctl.kp, ki=ctl.ki, kd=ctl.kd,
        charger_dead_s=ctl.charger_dead_s, charger_jitter_s=ctl.charger_jitter_s,
        charger_tau_s=ctl.charger_tau_s,
        meter_delay_s=ctl.meter_lag_s,
        model_known=1.0 if ctl.model_measured or not ctl.identify else 0.0,
        integ_band_w=ctl.integ_band_w, integ_max_w=ctl.integ_max_w, period_s=ctl.period_s,
        meter_stale_s=ctl.meter_stale_s, meter_frozen_s=ctl.meter_frozen_s,
        charger_lost_s=ctl.charger_lost_s, grid_undervoltage_v=ctl.grid_undervoltage_v,
        grid_overvoltage_v=ctl.grid_overvoltage_v, grid_freq_min_hz=ctl.grid_freq_min_hz,
        grid_freq_max_hz=ctl.grid_freq_max_hz, grid_reconnect_s=ctl.grid_reconnect_s,
        grid_startup_s=ctl.grid_startup_s, grid_loss_stop_s=ctl.grid_loss_stop_s,
        phases=cfg.site.phases, charger_disobey_s=ctl.charger_disobey_s,
        charger_ignore_s=ctl.charger_ignore_s, charger_fault_hold_s=ctl.charger_fault_hold_s,
        capacity_wh=cfg.car.capacity_kwh * 1000.0,
        soc_hold_wh=cfg.car.capacity_kwh * 1000.0 * ctl.soc_hold_pct / 100.0,
    )


def core_plan(cfg: Config, core: Any = None) -> Any:
    """The standing plan from the config's [plan] section."""
    return (core or fast.core).Plan(grid_target_w=cfg.plan.grid_target_w,
                     allow_discharge=cfg.plan.allow_discharge)
