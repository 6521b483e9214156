"""The coarse route, as today's calculators work: the same options on interval energies (15
or 60 minutes) with the battery settling each interval's net energy at once. Beside the 1-s
route it shows how much coarse data flatters a battery (the resolution honesty figure): an
interval's mean hides the kettle the battery cannot follow and the PV it exports meanwhile.

Per interval: the house's net (load - PV) and the car's presence (the share of the interval
it is home). "nothing": the car charges at full power when home until full. "v2h": the
car covers the net within its power, reserve and max SoC, charging from surplus only, and
topped up to its reserve as the 1-s route does. "battery": the home battery alike, its
inverter losses evaluated at the interval's mean power."""

from __future__ import annotations

import numpy as np

from ._options import HB_DEFAULTS, top_up
from ._types import Arr


def aggregate(a: Arr, f: int) -> Arr:
    """Means over groups of f values (a last partial group dropped)."""
    m = len(a) // f
    out: Arr = np.asarray(a[:m * f]).reshape(m, f).mean(axis=1)
    return out


def run(load_w: Arr, pv_w: Arr, home: Arr, trips: Arr,
        interval_s: int, kind: str, cap_kwh: float, max_w: float, reserve_pct: float,
        max_pct: float, eff: float, soc_pct: float, hours: Arr | None = None,
        need_pct: float = 0.0) -> tuple[Arr, Arr, Arr]:
    """Import, export (Wh) and the battery's AC power (W, + charging) per interval of one
    option. `home`: share of each interval the car is home (0..1); `trips`: Wh the car
    brings back used, per interval (their sum over an interval)."""
    h = interval_s / 3600.0
    cap = cap_kwh * 1000.0
    soc = soc_pct / 100.0 * cap
    n = len(load_w)
    imp = [0.0] * n
    exp_ = [0.0] * n
    power = [0.0] * n
    d = HB_DEFAULTS
    topping = False
    # Python floats: numpy scalars cost several times more per operation in this loop
    net = (load_w - pv_w).tolist()
    home = np.asarray(home, dtype=float).tolist()
    trips = np.asarray(trips, dtype=float).tolist()
    hrs = hours.tolist() if hours is not None else None
    for k in range(len(net)):
        soc = max(soc - trips[k], 0.0)
        pres = home[k] if kind != "battery" else 1.0
        room = max(0.0, max_pct / 100.0 * cap - soc)
        p = 0.0  # W into the battery (AC)
        if kind == "nothing":
            p = min(max_w * pres, room / eff / h)
        elif kind == "battery":
            want = -net[k]
            p = max(-max_w, min(max_w, want))
            x = abs(p) / max_w if max_w else 0.0
            loss = max_w * (d["l0"] + d["l1"] * x + d["l2"] * x * x)
            half = d["cell_eff"] ** 0.5
            if p > 0:
                dc = min((p - loss) * h, room / half)
                dc = max(dc, 0.0)
                soc += dc * half
                p = dc / h + loss if dc > 0 else 0.0
            elif p < 0:
                avail = max(0.0, soc - reserve_pct / 100.0 * cap) * half
                out = min((-p + loss) * h, avail)
                soc -= out / half
                p = -(out / h - loss) if out / h > loss else 0.0
            net_k = net[k] + d["standby_w"] if p == 0.0 else net[k]
            g = net_k + p
            imp[k] = max(g, 0.0) * h
            exp_[k] = max(-g, 0.0) * h
            power[k] = p
            continue
        else:  # v2h
            hour = int(hrs[k]) if hrs is not None else 12
            topping = pres > 0 and top_up(soc / cap * 100.0, topping, hour, reserve_pct,
                                          need_pct)
            if topping:
                p = min(max_w * pres, room / eff / h)
            else:
                want = -net[k]
                lim = max_w * pres
                if want > 0:
                    p = min(want, lim, room / eff / h)
                else:
                    avail = max(0.0, soc - reserve_pct / 100.0 * cap) * eff
                    p = -min(-want, lim, avail / h)
        soc += (p * eff if p > 0 else p / eff) * h
        g = net[k] + p
        imp[k] = max(g, 0.0) * h
        exp_[k] = max(-g, 0.0) * h
        power[k] = p
    return np.array(imp), np.array(exp_), np.array(power)
