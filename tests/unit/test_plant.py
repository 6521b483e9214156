"""The plant (firmware_notes/design.md "The plant"): charger dead time, lag and ramp, minimum
power, its watchdog, the car's energy, and the judge's safety counts."""

from __future__ import annotations

import math
from array import array

F_CAR, F_GRID_DOWN, F_SILENT, F_FROZEN, F_GARBAGE, F_LOST = 1, 2, 4, 8, 16, 32
F_STUCK = 128


def run(core, policy, n, load=300.0, pv=0.0, flags=F_CAR, plant=None, lim=None, plan=None,
        st=None, tot=None):
    """Run n seconds of constant load (on L1) and PV; returns (plant, totals, trace)."""
    pl = plant or core.Plant(seed=1, soc_pct=50.0)
    lim = lim or core.Limits()
    tr = array("d", bytes(8 * 6 * n))
    tot = tot or core.Totals()
    fl = flags if isinstance(flags, array) else array("B", [flags] * n)
    core.run_batch(core.POLICIES.index(policy), array("d", [load] * n), array("d", [0.0] * n),
                   array("d", [0.0] * n), array("d", [pv] * n), fl, pl, lim,
                   plan or core.Plan(), st or core.CtlState(), core.EvccState(), tot, 0.0, tr)
    return pl, tot, tr


class TestCharger:
    def test_plant_dead_time_and_lag(self, core):
        """A 3 kW command acts after 0.5 s and reaches 63 % about 0.7 s later."""
        pl = core.Plant(seed=1, ramp_w_s=1e9)
        # the oracle asks for the 3 kW surplus from the first second on
        lim = core.Limits(fuse_a=200.0, grid_startup_s=0.0)
        pl, tot, tr = run(core, "oracle", 8, load=0.0, pv=3000.0, plant=pl, lim=lim,
                          st=core.CtlState(mode=2, grid_ok=True))
        ev = tr[2::6]
        assert ev[0] > 0.0 and ev[0] < 3000.0 * (1 - math.exp(-0.5 / 0.7)) + 1.0
        assert abs(ev[1] - 3000.0 * (1 - math.exp(-1.5 / 0.7))) < 1.0
        assert abs(ev[7] - 3000.0) < 1.0

    def test_plant_ramp_limit(self, core):
        """With a slow ramp the charger climbs by ramp_w_s per second at most."""
        pl = core.Plant(seed=1, ramp_w_s=1000.0)
        lim = core.Limits(fuse_a=200.0, grid_startup_s=0.0)
        _, _, tr = run(core, "oracle", 4, load=0.0, pv=5000.0, plant=pl, lim=lim,
                       st=core.CtlState(mode=2, grid_ok=True))
        ev = tr[2::6]
        assert ev[0] <= 500.0 + 1e-6 and ev[1] <= 1500.0 + 1e-6 and ev[2] <= 2500.0 + 1e-6

    def test_plant_charger_minimum_power(self, core):
        """A command below 150 W does nothing."""
        pl = core.Plant(seed=1)
        core.run_batch(1, *(array("d", [0.0] * 1) for _ in range(4)), array("B", [F_CAR]), pl,
                       core.Limits(), core.Plan(), core.CtlState(), core.EvccState(),
                       core.Totals(), 0.0, array("d"))
        assert pl.p == 0.0

    def test_plant_watchdog_stops_silent_charger(self, core):
        """No traffic for watchdog_s: the charger stops by itself."""
        n = 30
        flags = array("B", [F_CAR] * 5 + [F_CAR | F_LOST] * (n - 5))
        pl = core.Plant(seed=1, watchdog_s=10.0)
        st = core.CtlState(mode=2, grid_ok=True)
        _, _, tr = run(core, "oracle", n, load=0.0, pv=3000.0, plant=pl, flags=flags,
                       lim=core.Limits(fuse_a=200.0, grid_startup_s=0.0), st=st)
        ev = tr[2::6]
        assert ev[10] > 2900.0  # still running on its last command
        assert ev[n - 1] == 0.0  # stopped by its own watchdog

    def test_plant_energy_into_car_with_losses(self, core):
        """One hour at 3.7 kW adds 3.7 kWh x efficiency to the car (less the first 1.2 s of
        dead time and lag)."""
        pl = core.Plant(seed=1, soc_pct=20.0, eff=0.9, cap_wh=50000.0)
        lim = core.Limits(fuse_a=200.0, grid_startup_s=0.0)
        pl, tot, _ = run(core, "oracle", 3600, load=0.0, pv=3700.0, plant=pl, lim=lim,
                         st=core.CtlState(mode=2, grid_ok=True))
        added = pl.soc_wh - 0.2 * 50000.0
        assert abs(added - tot.ev_charge_wh * 0.9) < 0.5
        assert abs(tot.ev_charge_wh - 3700.0 * (3600 - 0.5 - 0.7) / 3600) < 0.5


class TestJudge:
    def test_judge_counts_evcc_like_setpoint_held_on_dead_meter(self, core):
        """evcc keeps its setpoint when the meter dies; the judge counts those seconds."""
        n = 400
        flags = array("B", [F_CAR] * 200 + [F_CAR | F_SILENT] * 200)
        _, tot, _ = run(core, "evcc-like", n, load=300.0, pv=6000.0, flags=flags,
                        lim=core.Limits(fuse_a=200.0))
        assert tot.v_stale > 150

    def test_judge_v2h_stops_on_dead_meter(self, core):
        """v2h writes 0 W within meter_stale_s + 1 s: no stale-meter seconds."""
        n = 400
        for bad in (F_SILENT, F_FROZEN, F_GARBAGE):
            flags = array("B", [F_CAR] * 200 + [F_CAR | bad] * 100 + [F_CAR] * 100)
            _, tot, tr = run(core, "v2h", n, load=300.0, pv=6000.0, flags=flags,
                             lim=core.Limits(fuse_a=200.0))
            assert tot.v_stale == 0, bad
            sp = tr[1::6]
            assert sp[199] > 1000.0 and sp[204] == 0.0 and sp[299] == 0.0, bad
            assert sp[n - 1] > 1000.0, bad  # regulation resumes by itself

    def test_judge_v2h_grid_loss_stops_within_budget(self, core):
        """Grid lost while discharging 3 kW: 0 W written inside 0.5 s; no discharge until the
        grid has been back for 60 s."""
        n = 300
        flags = array("B", [F_CAR] * 100 + [F_CAR | F_GRID_DOWN] * 20 + [F_CAR] * 180)
        _, tot, tr = run(core, "v2h", n, load=3000.0, pv=0.0, flags=flags)
        sp = tr[1::6]
        assert sp[99] < -2500.0
        assert tot.v_grid == 0
        assert all(x >= 0.0 for x in sp[100:180])
        assert sp[n - 1] < -2500.0

    def test_judge_v2h_grid_loss_with_dark_meter_stops_on_the_sample_age(self, core):
        """The meter dies with the grid (silent from the loss on): the watch sees no fresh
        sample and stops the discharge within grid_loss_stop_s + the meter's interval (1 s);
        no discharge until 60 s after the meter reads healthy again."""
        n = 300
        flags = array("B", [F_CAR] * 100 + [F_CAR | F_GRID_DOWN | F_SILENT] * 20
                      + [F_CAR] * 180)
        lim = core.Limits(meter_interval_s=1.0)
        pl, tot, tr = run(core, "v2h", n, load=3000.0, pv=0.0, flags=flags, lim=lim)
        sp = tr[1::6]
        assert sp[99] < -2500.0
        assert tot.v_grid == 0
        assert sp[101] == 0.0  # the stop was written inside second 101 (by 1.5 s)
        assert all(x >= 0.0 for x in sp[101:180])
        assert sp[n - 1] < -2500.0

    def test_judge_dark_meter_without_the_watch_would_count(self, core):
        """The same loss with the watch unable to act (the plant keeps its command): the
        judge counts it, so the test above measures the watch."""
        n = 5
        pl = core.Plant(seed=1)
        tot = core.Totals()
        pl.cmd_act = -3000.0
        pl.last_comm_t = 0.0
        run(core, "v2h", n, load=3000.0, flags=array("B", [F_CAR | F_GRID_DOWN | F_SILENT
                                                         | F_LOST] * n), plant=pl, tot=tot)
        assert tot.v_grid >= 2

    def test_v2h_stuck_charger_discharging_against_a_stop_is_a_fault(self, core):
        """Stuck at -3 kW while the load goes away: FAULT within 3 s + a cycle; 0 W."""
        n = 160
        pl = core.Plant(seed=1, soc_pct=60.0)
        lim = core.Limits()
        st = core.CtlState()
        tot = core.Totals()
        tr = array("d", bytes(8 * 6 * n))
        load = array("d", [3000.0] * 100 + [0.0] * 60)
        fl = array("B", [F_CAR] * 90 + [F_CAR | F_STUCK] * 70)
        core.run_batch(core.POLICIES.index("v2h"), load, array("d", [0.0] * n),
                       array("d", [0.0] * n), array("d", [0.0] * n), fl, pl, lim,
                       core.Plan(), st, core.EvccState(), tot, 0.0, tr)
        sp, modes = tr[1::6], tr[4::6]
        names = [core.MODES[int(x)] for x in modes]
        assert sp[89] < -2500.0 and "FAULT" not in names[:100]
        first = names.index("FAULT")
        assert 100 < first <= 105
        assert all(x == 0.0 for x in sp[first:])

    def test_v2h_soc_zero_while_idle_still_discharges_in_the_evening(self, core):
        """A charger that shows SoC 0 while idle: the SoC read while charging stands, and the
        evening's discharge starts (without it, an unknown SoC would block it)."""
        n = 200
        pv = array("d", [4000.0] * 60 + [0.0] * 140)
        load = array("d", [500.0] * 60 + [2500.0] * 140)
        for zero in (True, False):
            pl = core.Plant(seed=1, soc_pct=60.0, soc_zero_idle=zero)
            tr = array("d", bytes(8 * 6 * n))
            core.run_batch(core.POLICIES.index("v2h"), load, array("d", [0.0] * n),
                           array("d", [0.0] * n), pv, array("B", [F_CAR] * n), pl,
                           core.Limits(), core.Plan(), core.CtlState(), core.EvccState(),
                           core.Totals(), 0.0, tr)
            sp = tr[1::6]
            assert sp[30] > 3000.0 and sp[150] < -2000.0, zero

    def test_judge_counts_discharge_through_grid_loss(self, core):
        """The oracle is told nothing faster than once a second: with a charger that does not
        trip by itself the judge would count it, and the charger's own protection prevents
        it. Here: the uncontrolled plant keeps discharging a written -3 kW."""
        n = 5
        pl = core.Plant(seed=1)
        tot = core.Totals()
        flags = array("B", [F_CAR | F_GRID_DOWN | F_LOST] * n)
        pl.cmd_act = -3000.0
        pl.last_comm_t = 0.0
        run(core, "v2h", n, load=3000.0, flags=flags, plant=pl, tot=tot)
        assert tot.v_grid >= 4


class TestPlantIssue12:
    def test_plant_long_dead_time_acts_each_command_in_order(self, core):
        """A dead time of 1.5 s, a write a second: every command acts, in order, 1.5 s
        after its write (none is lost behind the next one in flight)."""
        pl = core.Plant(seed=1, dead_s=1.5, ramp_w_s=1e9, tau_s=0.01)
        seen: list[tuple[float, int]] = []
        for i in range(0, 40):
            t = i * 0.25
            if i % 4 == 0 and i < 12:
                pl.write(1000.0 * (i // 4 + 1), t)
            pl.tick(t, 1, 0.0, 0.0, 0.0, 0.0)
            if round(pl.p) and (not seen or seen[-1][1] != round(pl.p)):
                seen.append((t, round(pl.p)))
        assert seen == [(1.5, 1000), (2.5, 2000), (3.5, 3000)]

    def test_plant_dead_time_jitter_is_seeded_and_bounded(self, core):
        """Jitter draws from the plant's own seeded stream: the same seed, the same dead
        times; each within [dead_s, dead_s + jitter)."""
        for seed in (1, 2):
            a = core.Plant(seed=seed, dead_s=0.2, dead_jitter_s=0.5)
            b = core.Plant(seed=seed, dead_s=0.2, dead_jitter_s=0.5)
            dead = []
            for k in range(20):
                a.write(100.0 * k, float(k))
                b.write(100.0 * k, float(k))
                assert a.pend_t == b.pend_t
                dead.append(a.pend_t - k)
                a.tick(k + 0.9, 1, 0.0, 0.0, 0.0, 0.0)
                b.tick(k + 0.9, 1, 0.0, 0.0, 0.0, 0.0)
            assert all(0.2 <= d < 0.7 for d in dead) and len(set(dead)) > 10

    def test_plant_dead_time_jitter_has_its_own_stream(self, core):
        """Noise drawn between writes (the HIL bench's meter reads, another fault's
        samples) moves no dead time: the jitter has a stream of its own."""
        a = core.Plant(seed=3, dead_s=0.2, dead_jitter_s=0.5)
        b = core.Plant(seed=3, dead_s=0.2, dead_jitter_s=0.5)
        for k in range(20):
            for _ in range(k % 4):
                b.noise(10.0)
            a.write(100.0 * k, float(k))
            b.write(100.0 * k, float(k))
            assert a.pend_t == b.pend_t
            a.tick(k + 0.9, 1, 0.0, 0.0, 0.0, 0.0)
            b.tick(k + 0.9, 1, 0.0, 0.0, 0.0, 0.0)
        assert a.noise(1.0) != b.noise(1.0)  # the noise streams did part

    def test_batch_averaging_meter_reports_the_mean_of_its_second(self, core):
        """While the charger ramps up through a second, an averaging meter reports the mean
        of that second, an instantaneous one the value at its sample: less import shown as
        gone by the averaging one (and the same once all is steady)."""
        seen = {}
        for avg in (True, False):
            pl = core.Plant(seed=1, meter_avg=avg, meter_noise_w=0.0, ramp_w_s=2000.0)
            st = core.CtlState()
            samples = []
            for k in range(12):
                # an uncontrolled car: full power from plug-in (the "none" policy)
                core.run_batch(core.POLICIES.index("none"), array("d", [500.0]),
                               array("d", [0.0]), array("d", [0.0]), array("d", [0.0]),
                               array("B", [F_CAR]), pl, core.Limits(fuse_a=200.0),
                               core.Plan(), st, core.EvccState(), core.Totals(), float(k),
                               array("d"))
                samples.append(pl.s_p1)
            seen[avg] = samples
        ramping = [k for k in range(12) if seen[False][k] != seen[False][k - 1]]
        assert any(seen[True][k] < seen[False][k] - 100.0 for k in ramping)
        assert abs(seen[True][-1] - seen[False][-1]) < 1e-6


class TestOracleMeter:
    """The oracle-meter (issue #12's settle line, session 8): the oracle knowing the house
    only as the meter's last sample showed it, exactly; the limit of any controller fed by
    that meter, beside the oracle (this second known)."""

    @staticmethod
    def _setpoints(core, meter_avg: bool) -> list[float]:
        n = 10
        load = array("d", [0.0] * 5 + [2000.0] * (n - 5))  # a 2-kW step at second 5
        pl = core.Plant(seed=1, n_sub=10, meter_lat_n=3, meter_avg=meter_avg, ramp_w_s=1e9)
        tr = array("d", bytes(8 * 6 * n))
        core.run_batch(core.POLICIES.index("oracle-meter"), load, array("d", [0.0] * n),
                       array("d", [0.0] * n), array("d", [3000.0] * n),
                       array("B", [F_CAR] * n), pl, core.Limits(fuse_a=200.0, grid_startup_s=0.0),
                       core.Plan(), core.CtlState(mode=2, grid_ok=True), core.EvccState(),
                       core.Totals(), 0.0, tr)
        return list(tr[1::6])

    def test_it_learns_a_step_a_second_late_from_a_sample_of_the_instant(self, core):
        """The plant's meter samples late in each second (0.3 s before its end here): the
        cycle at second 6 is the first to see the step of second 5, whole."""
        sp = self._setpoints(core, False)
        assert sp[:6] == [3000.0] * 6, sp
        assert sp[6:] == [1000.0] * 4, sp

    def test_behind_an_averaging_meter_it_sees_a_step_split_over_two_samples(self, core):
        """An averaging meter's window at second 6 holds 0.7 s of the step (the 0.3 s after
        the last sample belong to the second before): 70 % of it, then the rest."""
        sp = self._setpoints(core, True)
        assert sp[:6] == [3000.0] * 6, sp
        assert abs(sp[6] - 1600.0) < 1e-9 and sp[7:] == [1000.0] * 3, sp
