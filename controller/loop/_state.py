"""The controller's state as published on MQTT (a msgspec Struct; NaN becomes null)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import fast

if TYPE_CHECKING:
    from ._controller import Controller


def _num(x: float) -> float | None:
    return round(x, 1) if math.isfinite(x) else None


def state_message(ctl: Controller, reasons: tuple[str, ...] = ()) -> Any:
    """One state message from the controller as it stands."""
    from controller.mqtt import State, reason_text, state_text

    m, v, acc, o = ctl.m, ctl.cfg.site.nominal_v, ctl.accounts, ctl.owner
    return State(
        ts=datetime.now(UTC).isoformat(timespec="seconds"), state=fast.MODES[ctl.st.mode],
        reason=",".join(reasons) or "-",
        state_text=state_text(ctl.st.mode, ctl.setpoint, reasons),
        reason_text=reason_text(reasons, ctl.lim), mode=o.mode, grid_w=_num(m.grid_w),
        l1_a=_num(m.p1 / v), l2_a=_num(m.p2 / v), l3_a=_num(m.p3 / v), ev_w=_num(m.ev_w),
        setpoint_w=round(ctl.setpoint, 1), soc=_num(m.soc), reserve_soc=o.reserve_soc,
        max_discharge_w=o.max_discharge_w, import_wh=_num(acc.meter_energy[0]),
        export_wh=_num(acc.meter_energy[1]), charged_wh=round(acc.charged_wh, 3),
        discharged_wh=round(acc.discharged_wh, 3), departure=o.departure or "",
        departure_soc=o.departure_soc,
        plan=getattr(ctl._slot, "why", "-") if o.mode == "auto" else "-")  # noqa: SLF001 - the loop's
