"""Human output of a simulation: a comparison table and a PNG chart of the day."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._run import Run

_ROWS = (
    ("import from grid", "import_wh", "kWh", 1e-3),
    ("export to grid", "export_wh", "kWh", 1e-3),
    ("car charged", "ev_charge_wh", "kWh", 1e-3),
    ("car discharged", "ev_discharge_wh", "kWh", 1e-3),
    ("car SoC at end", "soc_end_pct", "%", 1.0),
    ("peak export", "max_export_w", "kW", 1e-3),
    ("tracking efficiency", "tracking_efficiency", "", 1.0),
    ("safety violations (s)", "safety_violations", "", 1.0),
)


_MONEY = (
    ("bill (EUR)", "bill_eur", "{:.2f}"),
    ("energy left in car (EUR)", "stored_value_eur", "{:.2f}"),
    ("cost (EUR)", "cost_eur", "{:.2f}"),
    ("departures missed", "departures_missed", "{}"),
)


def table(results: list[dict[str, Any]]) -> str:
    """Policies side by side, with the oracle (the hardware's physical limit) last."""
    first = results[0]
    head = (f"{first['scenario']}: {first['duration_s'] / 3600:.1f} h, "
            f"PV {first['pv_wh'] / 1e3:.1f} kWh, house load {first['load_wh'] / 1e3:.1f} kWh "
            f"({first['implementation']} core)")
    cols = [r["policy"] for r in results] + ["oracle"]
    w = max(12, *(len(c) + 2 for c in cols))
    lines = [head, "", f"{'':26s}" + "".join(f"{c:>{w}s}" for c in cols)]
    for label, key, unit, scale in _ROWS:
        cells = []
        for r in results:
            v = r[key]
            cells.append("-" if v is None else (f"{v * scale:.3f}" if key == "tracking_efficiency"
                                                 else f"{v * scale:.2f}" if unit else f"{v}"))
        okey = f"oracle_{key}"
        o = first.get(okey)
        cells.append(f"{o * scale:.2f}" if o is not None else "")
        name = f"{label} ({unit})" if unit else label
        lines.append(f"{name:26s}" + "".join(f"{c:>{w}s}" for c in cells))
    if "cost_eur" in first:
        for label, key, fmt in _MONEY:
            cells = [fmt.format(r[key]) if r.get(key) is not None else "-" for r in results]
            lines.append(f"{label:26s}" + "".join(f"{c:>{w}s}" for c in cells))
    return "\n".join(lines)


def chart(path: str | Path, runs: dict[str, Run], inputs: Any, title: str) -> Path:
    """A PNG of the day: grid, PV, load and car power per policy, and the car's SoC."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(inputs)
    hours = [k / 3600 for k in range(n)]
    load = [inputs.l1[k] + inputs.l2[k] + inputs.l3[k] for k in range(n)]
    pols = [p for p in runs if p != "oracle"]
    fig, axes = plt.subplots(len(pols) + 1, 1, figsize=(12, 3 * (len(pols) + 1)), sharex=True)
    for ax, pol in zip(axes, pols):
        tr = runs[pol].trace
        assert tr is not None
        ax.plot(hours, inputs.pv, lw=0.6, color="#e6a700", label="PV")
        ax.plot(hours, load, lw=0.6, color="#888888", label="house load")
        ax.plot(hours, tr[2::6], lw=0.6, color="#1f77b4", label="car (+ charge)")
        ax.plot(hours, tr[0::6], lw=0.6, color="#d62728", label="grid (+ import)")
        ax.set_ylabel("W")
        ax.set_title(pol)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=7, ncol=4)
    ax = axes[-1]
    for pol in pols:
        tr = runs[pol].trace
        assert tr is not None
        ax.plot(hours, tr[3::6], lw=1.0, label=pol)
    ax.set_ylabel("car SoC (%)")
    ax.set_xlabel("hours from start")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
