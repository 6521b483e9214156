"""Every charger driver declares its Capabilities and meets the Charger Protocol; the loop
narrows the core's limits by them, and nothing else changes for a charger that asks for
nothing narrower (the Quasar)."""

from __future__ import annotations

import math

import pytest

from controller import config
from controller.config import core_limits
from controller.devices import CHARGER_CAPS, CHARGERS, Capabilities, Charger
from controller.loop._charger import narrow_limits


class TestDeclared:
    @pytest.mark.parametrize("name", sorted(CHARGERS))
    async def test_driver_meets_the_protocol(self, name):
        """Each registered driver, built from its config section, is a Charger with caps."""
        cfg = config.defaults((f"charger.driver={name}",))
        drv = CHARGERS[name](cfg.charger)
        try:
            assert isinstance(drv, Charger)
            assert isinstance(drv.caps, Capabilities)
            assert CHARGER_CAPS[name] is drv.caps
        finally:
            await drv.close()

    @pytest.mark.parametrize("name", sorted(CHARGERS))
    def test_caps_are_physical(self, name):
        """Power range, smallest power, stop, watchdog and phases are sane for every driver."""
        c = CHARGER_CAPS[name]
        assert 0 < c.max_charge_w <= 100_000 and 0 < c.max_discharge_w <= 100_000
        assert 0 <= c.min_power_w < min(c.max_charge_w, c.max_discharge_w)
        assert c.stop in ("zero", "command", "both")
        assert set(c.phases) <= {1, 3} and c.phases
        # a watchdog is a register or each profile's expiry (OCPP), with its longest value
        assert (c.watchdog_register is None and not c.watchdog_profile) == (
            c.watchdog_max_s == 0)
        assert c.soc.register is None or c.soc.scale > 0
        if c.stop == "zero":  # a 0 W write is how it stops: it must not be forbidden
            assert not any(v == 0 for _, v in c.never_write)


class TestNarrow:
    def test_quasar_limits_unchanged(self):
        """The Quasar's caps leave the default limits exactly as the config makes them."""
        cfg = config.defaults()
        lim, ref = core_limits(cfg), core_limits(cfg)
        narrow_limits(lim, CHARGER_CAPS["quasar"], cfg.limits.min_power_hyst_w)
        for k in ("max_charge_w", "max_discharge_w", "min_power_w", "min_power_hyst_w"):
            assert getattr(lim, k) == getattr(ref, k)

    def test_smallest_power_raised_above_hysteresis(self):
        """A 1000 W minimum: the step's minimum goes to 1000 W + hysteresis, the range to the
        charger's."""
        cfg = config.defaults(("limits.max_charge_w=20000",))
        caps = Capabilities(max_charge_w=12_000, max_discharge_w=9_000, min_power_w=1_000,
                            stop="command", soc=CHARGER_CAPS["quasar"].soc,
                            watchdog_register=None, watchdog_max_s=0)
        lim = core_limits(cfg)
        narrow_limits(lim, caps, cfg.limits.min_power_hyst_w)
        assert lim.max_charge_w == 12_000 and lim.max_discharge_w == 7_400
        assert lim.min_power_w == 1_000 + cfg.limits.min_power_hyst_w
        assert lim.min_power_w - lim.min_power_hyst_w >= caps.min_power_w
        assert not math.isnan(lim.min_power_w)
