"""The control step (firmware_notes/design.md "The control step"): tracking, each clamp in
its order, and its reasons."""

from __future__ import annotations

import math

from tests.helpers import reading, regulating


class TestTracking:
    def test_step_feed_forward_cancels_export(self, core):
        """Exporting 2 kW with the car idle: the car is asked to charge 2 kW at once."""
        sp, _, why = core.step(reading(core, grid_w=-2000.0), regulating(core), core.Limits(),
                               core.Plan(), 100.0)
        assert sp == 2000.0
        assert why == ()

    def test_step_feed_forward_uses_charger_reading(self, core):
        """Importing 500 W while charging 3 kW: charge 2.5 kW."""
        sp, _, _ = core.step(reading(core, grid_w=500.0, ev_w=3000.0),
                             regulating(core, last_sp=3000.0, on=True), core.Limits(),
                             core.Plan(), 100.0)
        assert sp == 2500.0

    def test_step_learns_charger_meter_gain(self, core):
        """A charger that reads 2 % high, held at 3 kW with the integral holding the 60 W:
        the gain is learnt (1.02) and takes the integral's place without moving the output,
        and a 2 kW step is then met in one write, not 40 W beside it."""
        lim, plan = core.Limits(), core.Plan()
        st = regulating(core, last_sp=3000.0, on=True, prev_ev=3060.0, sp_age=5, integ=60.0)
        for t in range(100, 110):
            sp, st, _ = core.step(reading(core, t=float(t), ev_w=3060.0), st, lim, plan,
                                  float(t))
            assert sp == 3000.0  # the learning itself moves nothing
        assert math.isclose(st.gain, 1.02, rel_tol=1e-3) and abs(st.integ) < 0.5
        sp, st, _ = core.step(reading(core, t=110.0, grid_w=2000.0, ev_w=3060.0), st, lim,
                              plan, 110.0)
        assert math.isclose(sp, 1000.0, abs_tol=1.0), sp

    def test_step_gain_learnt_before_the_integral_took_it_up(self, core):
        """The same charger (it reads 2 % high) at a cold start's first settled cycles: the
        gain not yet learnt and the integral not yet holding the 60 W. In closed loop the
        gain is learnt and the grid comes to zero within 12 cycles; the integral is not
        left holding the error the other way (shed at ki's pace, some 10 s: the bench's
        first step, 20 s in, was met 40-50 W beside it; session 11), and a 2 kW step is
        met in one write."""
        lim, plan = core.Limits(), core.Plan()
        st = regulating(core, last_sp=3000.0, on=True, prev_ev=3060.0, sp_age=5)
        true = 3000.0  # the charger's power: the last setpoint; it reads 1.02 x that
        for t in range(100, 112):
            sp, st, _ = core.step(reading(core, t=float(t), ev_w=1.02 * true,
                                          grid_w=true - 3000.0), st, lim, plan, float(t))
            true = sp
        assert abs(true - 3000.0) < 5.0 and abs(st.integ) < 5.0, (true, st.integ)
        sp, st, _ = core.step(reading(core, t=112.0, grid_w=true - 1000.0, ev_w=1.02 * true),
                              st, lim, plan, 112.0)
        assert math.isclose(sp, 1000.0, abs_tol=3.0), sp

    def test_step_charger_short_of_its_command_teaches_no_gain(self, core):
        """A car that takes at most 3.6 kW whatever is asked (its own limit) under 4.7 kW of
        surplus reads 30 % short of its command: no gain (review R11: learnt as the 0.9 it
        was clipped to, a kettle that brought the surplus under the limit was met 580 W
        beside it, still 372 W 8 s later). The gain stays the 1.02 learnt before."""
        lim, plan = core.Limits(), core.Plan()
        st = regulating(core, last_sp=3600.0, on=True, prev_ev=3672.0, sp_age=5, gain=1.02)
        true, grid = 3600.0, []
        for t in range(100, 130):
            surplus = 4700.0 if t < 120 else 2700.0
            sp, st, _ = core.step(reading(core, t=float(t), ev_w=1.02 * true,
                                          grid_w=true - surplus), st, lim, plan, float(t))
            true = min(sp, 3600.0)
            grid.append(true - (4700.0 if t + 1 < 120 else 2700.0))
        assert math.isclose(st.gain, 1.02, rel_tol=1e-3), st.gain
        assert abs(grid[20]) < 150.0 and max(abs(g) for g in grid[23:]) < 50.0, grid[20:]

    def test_step_ev_at_meter_sample_follows_the_charger_model(self, core):
        """Mid-way to a new setpoint the charger's power at the meter's older sample comes
        from the model run forward from the last reading (first-order, tau 0.7 s, no dead
        time), with this reading's miss spread over the period: not a straight line."""
        lim = core.Limits(charger_tau_s=0.7, meter_delay_s=0.25, charger_dead_s=0.0)
        st = regulating(core, last_sp=5000.0, on=True, prev_ev=3000.0, prev_ev_t=99.0,
                        dec_t=99.0)
        sp, _, _ = core.step(reading(core, t=100.0, grid_w=0.0, ev_w=4500.0), st, lim,
                             core.Plan(), 100.0)
        fwd = 5000.0 - 2000.0 * math.exp(-1.0 / 0.7)  # where the model has it now
        at_sample = 5000.0 - 2000.0 * math.exp(-0.75 / 0.7) + 0.75 * (4500.0 - fwd)
        assert math.isclose(sp, at_sample, abs_tol=0.5), (sp, at_sample)

    def test_step_ev_at_meter_sample_waits_out_the_dead_time(self, core):
        """A charger with 0.5 s of dead time had not begun to move at a sample 0.6 s old:
        the step takes its power then as the last reading's."""
        lim = core.Limits(charger_tau_s=0.3, meter_delay_s=0.6, charger_dead_s=0.5)
        st = regulating(core, last_sp=4000.0, on=True, prev_ev=2000.0, prev_ev_t=99.0,
                        dec_t=99.0, c1_w=2000.0, c1_t=98.0)
        fwd = 4000.0 - 2000.0 * math.exp(-0.5 / 0.3)
        sp, _, _ = core.step(reading(core, t=100.0, grid_w=0.0, ev_w=fwd), st, lim,
                             core.Plan(), 100.0)
        assert math.isclose(sp, 2000.0, abs_tol=0.5), sp

    def _after_a_step_write(self, core, tau):
        """The cycle after a 2-kW write (2000 -> 4000 W at 99 s, dead time 0.5 s, a plain
        meter 0.25 s late), the charger read where the model has it: (setpoint, the model's
        power at the sample, the reading)."""
        lim = core.Limits(charger_tau_s=tau, meter_delay_s=0.25, charger_dead_s=0.5,
                          charger_jitter_s=0.3)
        st = regulating(core, last_sp=4000.0, on=True, prev_ev=2000.0, prev_ev_t=99.0,
                        dec_t=99.0, c1_w=2000.0, c1_t=98.0)
        ev = 4000.0 - 2000.0 * math.exp(-0.5 / tau)
        sp, _, _ = core.step(reading(core, t=100.0, grid_w=0.0, ev_w=ev), st, lim,
                             core.Plan(), 100.0)
        return sp, 4000.0 - 2000.0 * math.exp(-0.25 / tau), ev

    def test_step_after_a_step_write_holds_within_the_readings_on_a_quick_charger(self, core):
        """Session 10 (#12): a quick charger (tau 0.3 s, the jitter 0.3 s) mid-move at the
        sample is timed within its jitter, a few hundred W off: the cycle after a step's
        write takes the readings' bracket (the command in force, 4000 W, clipped to what
        the readings imply: the reading's 3622 W), not the model's 3131 W at the sample."""
        sp, model, ev = self._after_a_step_write(core, 0.3)
        assert math.isclose(sp, ev, abs_tol=0.5) and sp - model > 400.0, (sp, model, ev)

    def test_step_after_a_step_write_trusts_the_model_on_a_slower_charger(self, core):
        """The control of the test above: tau 0.7 s (the jitter under half of it) is timed
        well by the model: the setpoint is its power at the sample, not held (a hold
        there cost the default plant a cycle's residual on every step)."""
        sp, model, _ = self._after_a_step_write(core, 0.7)
        assert math.isclose(sp, model, abs_tol=0.5), (sp, model)

    def test_step_after_a_ramp_limited_write_is_not_held(self, core):
        """Review, session 10: the house's demand fell from +3012 to -4000 W and the write
        was cut short by the ramp (5 kW a period: -1988 W). That command lies in the
        readings' bracket, and the hold kept it a cycle with 3 kW at the meter (and called
        it the deadband). The model knows the demand here exactly: -4000 W is written."""
        lim = core.Limits(charger_tau_s=0.25, charger_dead_s=0.4, charger_jitter_s=0.3,
                          meter_delay_s=0.2)
        st = regulating(core, last_sp=-1988.0, on=True, dec_t=99.0, c1_w=3012.0, c1_t=98.0,
                        prev_ev=3012.0, prev_ev_t=99.0, prev2_ev=3012.0, prev2_t=98.0,
                        prev_net=3012.0, reasons=1 << core.REASONS.index("ramp"))
        ev_now = -1988.0 + 5000.0 * math.exp(-0.6 / 0.25)  # the model's charger at 100 s
        ev_sample = -1988.0 + 5000.0 * math.exp(-0.4 / 0.25)  # at the sample, 99.8 s
        sp, _, why = core.step(reading(core, t=100.0, grid_w=4000.0 + ev_sample, ev_w=ev_now),
                               st, lim, core.Plan(), 100.0)
        assert math.isclose(sp, -4000.0, abs_tol=1.0) and why == (), (sp, why)

    def test_step_discharges_to_cover_evening_load(self, core):
        """Importing 1.2 kW with the car idle: discharge 1.2 kW."""
        sp, _, _ = core.step(reading(core, grid_w=1200.0), regulating(core), core.Limits(),
                             core.Plan(), 100.0)
        assert sp == -1200.0

    def test_step_target_bias(self, core):
        """A 100 W import target leaves 100 W of the load to the grid."""
        sp, _, _ = core.step(reading(core, grid_w=1200.0), regulating(core), core.Limits(),
                             core.Plan(grid_target_w=100.0), 100.0)
        assert sp == -1100.0

    def test_step_is_pure(self, core):
        """The state passed in is not changed; the new one is returned."""
        st = regulating(core)
        _, new, _ = core.step(reading(core, grid_w=-2000.0), st, core.Limits(), core.Plan(),
                              100.0)
        assert st.last_sp == 0.0 and new.last_sp == 2000.0

    def test_step_integral_removes_bias(self, core):
        """A steady 40 W import that the feed-forward cannot see is integrated away."""
        lim, plan = core.Limits(ki=0.2), core.Plan()
        st = regulating(core, last_sp=2000.0, on=True)
        sps = []
        for k in range(30):
            sp, st, _ = core.step(reading(core, t=k, grid_w=40.0, ev_w=2000.0), st, lim, plan, k)
            sps.append(sp)
        assert sps[-1] < sps[0] - 20.0
        assert st.integ > 0.0

    def test_step_deadband_holds_small_corrections(self, core):
        """A 5 W correction is not worth a write while running (10 W deadband)."""
        st = regulating(core, last_sp=2000.0, on=True)
        sp, _, why = core.step(reading(core, grid_w=-5.0, ev_w=2000.0), st, core.Limits(),
                               core.Plan(), 100.0)
        assert sp == 2000.0 and "deadband" in why

    def test_step_forced_power(self, core):
        """A forced charge overrides tracking and is named."""
        sp, _, why = core.step(reading(core, grid_w=-2000.0), regulating(core), core.Limits(),
                               core.Plan(forced_w=3000.0), 100.0)
        assert sp == 3000.0 and "forced" in why


class TestClamps:
    def test_step_stale_meter_gives_zero(self, core):
        """A reading older than meter_stale_s: 0 W, never the last setpoint."""
        st = regulating(core, last_sp=3000.0, on=True)
        sp, new, why = core.step(reading(core, t=90.0, grid_w=-3000.0), st, core.Limits(),
                                 core.Plan(), 100.0)
        assert sp == 0.0 and why == ("stale",) and new.last_sp == 0.0

    def test_step_nan_or_absurd_reading_gives_zero(self, core):
        """NaN, infinite or absurd powers are missing data."""
        for bad in (math.nan, math.inf, -math.inf, 5e7):
            sp, _, why = core.step(reading(core, grid_w=bad), regulating(core), core.Limits(),
                                   core.Plan(), 100.0)
            assert sp == 0.0 and why == ("stale",), bad

    def test_step_lost_charger_reading_gives_zero(self, core):
        """A charger reading older than charger_lost_s: 0 W."""
        m = reading(core, grid_w=-2000.0)
        m.ev_t = 90.0
        sp, _, why = core.step(m, regulating(core), core.Limits(), core.Plan(), 100.0)
        assert sp == 0.0 and why == ("stale",)

    def test_step_supervisor_not_regulating_gives_zero(self, core):
        """Any mode but REGULATING: 0 W, named 'supervisor'."""
        for mode in core.MODES:
            if mode == "REGULATING":
                continue
            st = core.CtlState(mode=core.MODES.index(mode), grid_ok=True)
            sp, _, why = core.step(reading(core, grid_w=-2000.0), st, core.Limits(),
                                   core.Plan(), 100.0)
            assert sp == 0.0 and why == ("supervisor",), mode

    def test_step_no_discharge_without_confirmed_grid(self, core):
        """Grid not confirmed healthy: charging allowed, discharging not."""
        st = regulating(core, grid_ok=False, grid_dis_ok=False)
        sp, _, why = core.step(reading(core, grid_w=1500.0), st, core.Limits(), core.Plan(), 100.0)
        assert sp == 0.0 and "grid" in why
        sp, _, _ = core.step(reading(core, grid_w=-1500.0), st, core.Limits(), core.Plan(), 100.0)
        assert sp == 1500.0

    def test_step_no_car_gives_zero(self, core):
        """No car, or a charger that is not ready: 0 W."""
        for kw in ({"car_present": False}, {"charger_ready": False}):
            sp, _, why = core.step(reading(core, grid_w=-2000.0, **kw), regulating(core),
                                   core.Limits(), core.Plan(), 100.0)
            assert sp == 0.0 and why == ("car",)

    def test_step_reserve_stops_discharge_with_hysteresis(self, core):
        """At the reserve: no discharge; again only once SoC is reserve + soc_hyst."""
        lim = core.Limits(reserve_soc=30.0, soc_hyst=2.0)
        st = regulating(core)
        sp, st, why = core.step(reading(core, grid_w=1000.0, soc=30.0), st, lim, core.Plan(), 100)
        assert sp == 0.0 and "reserve" in why
        sp, st, _ = core.step(reading(core, grid_w=1000.0, soc=31.0), st, lim, core.Plan(), 101)
        assert sp == 0.0
        sp, st, _ = core.step(reading(core, grid_w=1000.0, soc=32.0), st, lim, core.Plan(), 102)
        assert sp == -1000.0

    def test_step_unknown_soc_never_discharges(self, core):
        """SoC unknown (NaN): no discharge, charging still allowed."""
        sp, _, _ = core.step(reading(core, grid_w=1000.0, soc=math.nan), regulating(core),
                             core.Limits(), core.Plan(), 100.0)
        assert sp == 0.0
        sp, _, _ = core.step(reading(core, grid_w=-1000.0, soc=math.nan), regulating(core),
                             core.Limits(), core.Plan(), 100.0)
        assert sp == 1000.0

    def test_step_max_soc_stops_charge(self, core):
        """At max_soc: no charge; discharge still allowed."""
        lim = core.Limits(max_soc=90.0)
        sp, _, why = core.step(reading(core, grid_w=-1000.0, soc=90.0), regulating(core), lim,
                               core.Plan(), 100.0)
        assert sp == 0.0 and "max_soc" in why

    def test_step_plan_forbids_discharge(self, core):
        """The plan may forbid discharge; it is named 'plan'."""
        sp, _, why = core.step(reading(core, grid_w=1000.0), regulating(core), core.Limits(),
                               core.Plan(allow_discharge=False), 100.0)
        assert sp == 0.0 and "plan" in why

    def test_step_fuse_limits_charge_on_loaded_phase(self, core):
        """L1 already carries 20 A: charging on L1 is held to (25 - 1 - 20) A more."""
        lim = core.Limits(fuse_a=25.0, fuse_margin_a=1.0)
        m = reading(core, grid_w=-6000.0, split=(0.0, 0.0, 1.0))
        m.p1 = 20.0 * 230.0
        m.p3 = -6000.0 - m.p1
        sp, _, why = core.step(m, regulating(core), lim, core.Plan(), 100.0)
        assert "fuse" in why
        assert abs(sp - 4.0 * 230.0) < 1e-6

    def test_step_fuse_over_the_line_gives_twice_the_excess_back(self, core):
        """The charger at 5 kW on L1, a kettle pushes L1 1 kW over the line (24 A): the
        window gives 2 kW back, not 1 kW, so a first-order charger crosses the line in ln 2
        of a time constant instead of approaching it from above (HIL `fuse-charge`: 3-4 s
        over the fuse -> 2-3 s); where the line leaves room for the charger's minimum, the
        extra never goes below it (a fuse transient is no reason for a stop)."""
        lim = core.Limits(fuse_a=25.0, fuse_margin_a=1.0, min_power_w=150.0, ramp_w_s=1e5,
                          share1=1.0, share2=0.0, share3=0.0)
        st = regulating(core)
        st.last_sp = 5000.0
        st.on = True
        m = reading(core, grid_w=-2000.0, split=(1.0, 0.0, 0.0), ev_w=5000.0)
        m.p1 = 24.0 * 230.0 + 1000.0
        sp, _, why = core.step(m, st, lim, core.Plan(), 100.0)
        assert "fuse" in why and abs(sp - 3000.0) < 1e-6, sp
        st = regulating(core)
        st.last_sp = 1000.0
        st.on = True
        m = reading(core, grid_w=-2000.0, split=(1.0, 0.0, 0.0), ev_w=1000.0)
        m.p1 = 24.0 * 230.0 + 700.0  # the line leaves 300 W: twice would be -400 W
        sp, _, why = core.step(m, st, lim, core.Plan(), 100.0)
        assert "fuse" in why and abs(sp - 150.0) < 1e-6, sp

    def test_step_fuse_limits_discharge_export_on_phase(self, core):
        """A single-phase charger covering a load on L2 would export through L1: held back."""
        lim = core.Limits(fuse_a=25.0, fuse_margin_a=1.0, ramp_w_s=20000.0)
        m = reading(core, grid_w=7000.0, split=(0.0, 1.0, 0.0))
        sp, _, why = core.step(m, regulating(core), lim, core.Plan(), 100.0)
        assert "fuse" in why
        assert abs(sp - (-24.0 * 230.0)) < 1e-6

    def test_step_charger_limits(self, core):
        """Beyond max_charge_w / max_discharge_w: clipped and named."""
        lim = core.Limits(max_charge_w=3000.0, max_discharge_w=2000.0, fuse_a=100.0)
        sp, _, why = core.step(reading(core, grid_w=-5000.0), regulating(core), lim, core.Plan(),
                               100.0)
        assert sp == 3000.0 and "max_charge" in why
        sp, _, why = core.step(reading(core, grid_w=5000.0), regulating(core), lim, core.Plan(),
                               100.0)
        assert sp == -2000.0 and "max_discharge" in why

    def test_step_min_power_with_hysteresis(self, core):
        """Off: starts only at min_power + hyst; on: holds min_power down to min - hyst."""
        lim = core.Limits(min_power_w=150.0, min_power_hyst_w=50.0)
        off = regulating(core)
        assert core.step(reading(core, grid_w=-180.0), off, lim, core.Plan(), 100)[0] == 0.0
        assert core.step(reading(core, grid_w=-210.0), off, lim, core.Plan(), 100)[0] == 210.0
        on = regulating(core, last_sp=150.0, on=True)
        sp, _, why = core.step(reading(core, grid_w=30.0, ev_w=150.0), on, lim, core.Plan(), 100)
        assert sp == 150.0 and "min_power" in why
        sp, _, _ = core.step(reading(core, grid_w=60.0, ev_w=150.0), on, lim, core.Plan(), 100)
        assert sp == 0.0

    def test_step_ramp_limit(self, core):
        """A 7 kW swing in one second is limited to ramp_w_s."""
        lim = core.Limits(ramp_w_s=2000.0, fuse_a=100.0)
        sp, _, why = core.step(reading(core, grid_w=-7000.0), regulating(core), lim, core.Plan(),
                               100.0)
        assert sp == 2000.0 and "ramp" in why

    def test_step_safety_clamps_override_ramp(self, core):
        """Stopping is never ramped: a stale meter drops 7 kW to 0 at once."""
        lim = core.Limits(ramp_w_s=1000.0)
        st = regulating(core, last_sp=-7000.0, on=True)
        sp, _, _ = core.step(reading(core, t=0.0, grid_w=0.0, ev_w=-7000.0), st, lim,
                             core.Plan(), 100.0)
        assert sp == 0.0

    def test_reason_names_in_priority_order(self, core):
        """Bits map to names in the order of firmware_notes/design.md "Reasons"."""
        assert core.reason_names(0) == ()
        assert core.reason_names(0b11) == ("stale", "supervisor")


def _drive(core, loads, lim=None):
    """The step against a house whose own load is loads[k] (W) at second k, the charger at
    what it was told the second before: the setpoints and the final state."""
    st = regulating(core)
    lim = lim or core.Limits()
    ev, out = 0.0, []
    for k, load in enumerate(loads):
        t = 100.0 + k
        sp, st, _ = core.step(reading(core, t=t, grid_w=load + ev, ev_w=ev), st, lim,
                              core.Plan(), t)
        out.append(sp)
        ev = sp
    return out, st


def _forced_then_regulated(core, st, lim, ev, t, house_w):
    """Ten minutes of a forced 3 kW charge under a steady house (W), then three regulated
    steps: the charger's power when the forced stretch ended (W), and the grid (W) of each
    regulated step."""
    for _ in range(600):
        ev, st, _ = core.step(reading(core, t=t, grid_w=house_w + ev, ev_w=ev), st, lim,
                              core.Plan(forced_w=3000.0), t)
        t += 1.0
    forced_ev, grid = ev, []
    for _ in range(3):
        ev, st, _ = core.step(reading(core, t=t, grid_w=house_w + ev, ev_w=ev), st, lim,
                              core.Plan(), t)
        grid.append(house_w + ev)
        t += 1.0
    return forced_ev, grid


class TestChase:
    def test_step_irregular_pulsing_load_is_not_chased(self, core):
        """A load switching 2 kW on and off at no steady pace (1-3 s each): after a few
        reversals the feed-forward holds the demand's mean instead of chasing the last
        sample (issue #12: a load faster than the loop), so the car's swing shrinks to a
        fraction of the pulse. (A steady pace is met in phase: the test below.)"""
        runs = [2, 1, 3, 1, 2, 3, 1, 1, 2, 3, 2, 1, 3, 1, 1, 2, 3, 2, 1, 2, 3, 1, 2, 1]
        loads = [1000.0 + (2000.0 if i % 2 else 0.0) for i, n in enumerate(runs)
                 for _ in range(n)]
        sps, st = _drive(core, loads)
        early = max(sps[2:8]) - min(sps[2:8])
        late = max(sps[30:]) - min(sps[30:])
        assert early > 1500.0 and late < 0.5 * early and st.chase < 0.3

    def test_step_periodic_load_is_met_in_phase(self, core):
        """A hob pulsing 2 kW at a steady pace (2 s on, 2 s off), the charger at its command
        one cycle later, as its model says (the command shows at the next reading). Chasing
        the last sample lands each correction half a period late, and the mean alone leaves
        the grid swinging by half the pulse. Once the period is found (20 cycles kept, the
        same period 3 cycles running) the feed-forward takes the demand one period before
        the reading the command will show in, and the grid stays near 0 (issue #12, point
        3: what the next second will most likely bring)."""
        loads = [1000.0 + (2000.0 if (k // 2) % 2 else 0.0) for k in range(60)]
        # _drive's charger: at its command at once, read when the meter samples
        lim = core.Limits(charger_tau_s=0.01, meter_delay_s=0.0, model_known=1.0)
        sps, st = _drive(core, loads, lim)
        grid = [loads[k] + (sps[k - 1] if k else 0.0) for k in range(len(loads))]
        early = max(abs(g) for g in grid[4:16])
        late = max(abs(g) for g in grid[30:])
        assert early > 900.0 and late < 100.0, (early, late)

    def test_step_periodic_history_is_not_met_after_a_forced_stretch(self, core):
        """A hob pulsing 1 <-> 3 kW at a steady pace, met in phase; then ten minutes of a
        forced charge (a charge-cheap slot, the owner's charge-now, a SoC probe) with the
        hob off and the house at a steady 2 kW. When regulation resumes, the demand of ten
        minutes before is no period to meet: the car covers the 2 kW, the grid stays near
        0. Before the fix the history kept from before the forced stretch still showed the
        period (confirmed, 3 cycles running), so the first two setpoints were the hob's
        old 1 kW and 3 kW (the grid at +1 kW, then exporting 1 kW of the car's energy)."""
        lim = core.Limits(charger_tau_s=0.01, meter_delay_s=0.0, model_known=1.0)
        st, ev, t = regulating(core), 0.0, 100.0
        for k in range(60):
            load = 1000.0 + (2000.0 if (k // 2) % 2 else 0.0)
            ev, st, _ = core.step(reading(core, t=t, grid_w=load + ev, ev_w=ev), st, lim,
                                  core.Plan(), t)
            t += 1.0
        ev, grid = _forced_then_regulated(core, st, lim, ev, t, 2000.0)
        assert ev == 3000.0
        assert max(abs(g) for g in grid) < 200.0, grid

    def test_step_chase_state_is_not_met_after_a_forced_stretch(self, core):
        """The same for the chase filter (found by the session-6 review, older than the
        periodic feed-forward): an irregular switching leaves the chase holding its running
        mean; ten minutes of a forced charge later, the house at a steady 300 W, regulation
        resumes. The demand's mean from before the forced stretch is no guide: the car
        covers the 300 W. Before the fix the first step took the stale mean (the grid at
        -1.4 kW, the car's energy exported)."""
        lim = core.Limits(charger_tau_s=0.01, meter_delay_s=0.0, model_known=1.0)
        st, ev, t = regulating(core), 0.0, 100.0
        runs = [2, 1, 3, 1, 2, 3, 1, 1, 2, 3, 2, 1, 3, 1, 1, 2, 3, 2, 1, 2, 3, 1, 2, 1]
        loads = [1000.0 + (2000.0 if i % 2 else 0.0) for i, n in enumerate(runs)
                 for _ in range(n)]
        for load in loads:
            ev, st, _ = core.step(reading(core, t=t, grid_w=load + ev, ev_w=ev), st, lim,
                                  core.Plan(), t)
            t += 1.0
        assert st.chase < 0.5
        _, grid = _forced_then_regulated(core, st, lim, ev, t, 300.0)
        assert max(abs(g) for g in grid) < 200.0, grid

    def test_step_steps_seconds_apart_are_chased(self, core):
        """A kettle on, and off 10 s later: two steps, not a pulse; the car follows each in
        full (chase stays at 1)."""
        loads = [1000.0] * 5 + [3000.0] * 10 + [1000.0] * 10
        sps, st = _drive(core, loads)
        assert st.chase == 1.0 and sps[5] < -2900.0 and sps[15] > -1100.0

    def test_step_p_gain_is_the_plain_proportional_loop(self, core):
        """lim.p_gain > 0: setpoint = measured charger power - p_gain x error, nothing else
        (the baseline `p-loop` of the sweep), under the same clamps."""
        st = regulating(core)
        lim = core.Limits(p_gain=0.6, deadband_w=0.0)
        sp, _, _ = core.step(reading(core, grid_w=1000.0, ev_w=-500.0), st, lim, core.Plan(),
                             100.0)
        assert sp == -500.0 - 0.6 * 1000.0
        sp, _, why = core.step(reading(core, grid_w=20000.0, ev_w=-7000.0), st, lim,
                               core.Plan(), 100.0)
        assert sp == -lim.max_discharge_w and "max_discharge" in why
