"""The assessment for people: one self-contained HTML page (no script, no external file;
charts as inline SVG; prints to PDF from a browser), and the same figures as JSON and CSV."""

from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path
from typing import Any

COLORS = {"none": "#7f7f7f", "v2h": "#1f77b4", "v2h-plan": "#9467bd", "battery-5": "#ffbf00",
          "battery-10": "#ff7f0e", "battery-15": "#d62728"}
W, H = 640, 260
PAD_L, PAD_R, PAD_T, PAD_B = 56, 12, 14, 34
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


ROUTE_COLORS = {"1s": "#1f77b4", "15min": "#2ca02c", "60min": "#8c564b"}


def _color(name: str) -> str:
    return COLORS.get(name) or ROUTE_COLORS.get(name, "#17becf")


def _e(x: Any) -> str:
    return html.escape(str(x))


def _fmt(x: Any, spec: str = ",.0f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, spec)


def _scale(lo: float, hi: float) -> tuple[float, float, list[float]]:
    if hi - lo < 1e-9:
        hi = lo + 1.0
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / 4))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= 6:
            step *= m
            break
    lo2 = math.floor(lo / step) * step
    hi2 = math.ceil(hi / step) * step
    ticks = []
    t = lo2
    while t <= hi2 + step / 2:
        ticks.append(round(t, 10))
        t += step
    return lo2, hi2, ticks


def _frame(name: str, title: str, lo: float, hi: float, ticks: list[float], unit: str,
           xlabels: list[tuple[float, str]]) -> list[str]:
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    def y(v: float) -> float:
        return PAD_T + ih * (1 - (v - lo) / (hi - lo))

    out = [f'<svg class="chart" data-chart="{_e(name)}" viewBox="0 0 {W} {H}" width="{W}" '
           f'height="{H}" role="img" aria-label="{_e(title)}" '
           'xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="{PAD_L}" y="{PAD_T}" width="{iw}" height="{ih}" fill="#fff" '
           'stroke="#bbb"/>']
    for t in ticks:
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                   f'stroke="{"#888" if t == 0 else "#eee"}"/>')
        out.append(f'<text x="{PAD_L - 4}" y="{y(t) + 4:.1f}" text-anchor="end" '
                   f'font-size="10">{_fmt(t, ",.4g")}</text>')
    for xf, lab in xlabels:
        out.append(f'<text x="{PAD_L + iw * xf:.1f}" y="{H - PAD_B + 14}" '
                   f'text-anchor="middle" font-size="10">{_e(lab)}</text>')
    out.append(f'<text x="12" y="{PAD_T + ih / 2:.0f}" font-size="10" '
               f'transform="rotate(-90 12 {PAD_T + ih / 2:.0f})" text-anchor="middle">'
               f'{_e(unit)}</text>')
    return out


def line_chart(name: str, title: str, series: dict[str, list[float]], labels: dict[str, str],
               unit: str, xlabels: list[tuple[float, str]]) -> str:
    """Lines over a common x (index), one per series, with a legend."""
    vals = [v for s in series.values() for v in s if math.isfinite(v)]
    lo, hi, ticks = _scale(min(vals + [0.0]), max(vals + [0.0]))
    out = _frame(name, title, lo, hi, ticks, unit, xlabels)
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    for key, s in series.items():
        n = max(1, len(s) - 1)
        pts = " ".join(f"{PAD_L + iw * i / n:.1f},{PAD_T + ih * (1 - (v - lo) / (hi - lo)):.1f}"
                       for i, v in enumerate(s))
        out.append(f'<polyline class="series" data-series="{_e(key)}" fill="none" '
                   f'stroke="{_color(key)}" stroke-width="2" points="{pts}"/>')
    out.append("</svg>")
    return _legend(series, labels) + "".join(out)


def bar_chart(name: str, title: str, groups: list[str], series: dict[str, list[float]],
              labels: dict[str, str], unit: str) -> str:
    """Grouped bars: one group per x label, one bar per series."""
    vals = [v for s in series.values() for v in s if math.isfinite(v)]
    lo, hi, ticks = _scale(min(vals + [0.0]), max(vals + [0.0]))
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    gw = iw / max(1, len(groups))
    xl = [((i + 0.5) / len(groups), g) for i, g in enumerate(groups)]
    out = _frame(name, title, lo, hi, ticks, unit, xl)
    bw = gw * 0.8 / max(1, len(series))
    def y(v: float) -> float:
        return PAD_T + ih * (1 - (v - lo) / (hi - lo))

    for j, (key, s) in enumerate(series.items()):
        for i, v in enumerate(s):
            if not math.isfinite(v):
                continue  # no figure for this group (a route that has no such option)
            x = PAD_L + gw * i + gw * 0.1 + bw * j
            top, bot = sorted((y(v), y(0.0)))
            out.append(f'<rect class="series" data-series="{_e(key)}" x="{x:.1f}" '
                       f'y="{top:.1f}" width="{bw:.1f}" height="{max(0.5, bot - top):.1f}" '
                       f'fill="{_color(key)}"/>')
    out.append("</svg>")
    return _legend(series, labels) + "".join(out)


def _legend(series: dict[str, Any], labels: dict[str, str]) -> str:
    return '<p class="legend">' + " ".join(
        f'<span><i style="background:{_color(k)}"></i>{_e(labels.get(k, k))}</span>'
        for k in series) + "</p>"


def _hours(n: int) -> list[tuple[float, str]]:
    return [(h / 24, f"{h:02d}:00") for h in range(0, 25, 3)]


def _options_table(r: dict[str, Any]) -> str:
    rows = []
    for o in r["options"]:
        a = o.get("ageing", {})
        rows.append(
            "<tr>"
            f"<th>{_e(o['label'])}</th><td>{_fmt(o['import_kwh'])}</td>"
            f"<td>{_fmt(o['export_kwh'])}</td>"
            f"<td>{_fmt(o['self_consumption_pct'], '.0f')} %</td>"
            f"<td>{_fmt(o['cost_eur'])}</td><td>{_fmt(o['savings_eur'])}</td>"
            f"<td>{_fmt(a.get('q_loss_pct'), '.2f')} % / {_fmt(a.get('extra_q_loss_pct'), '+.2f')}"
            f" %</td><td>{_fmt(a.get('extra_cost_eur'))}</td>"
            f"<td>{_fmt(o.get('purchase_eur'))}</td><td>{_fmt(o['payback_years'], '.1f')}</td>"
            "</tr>")
    return ("<table><thead><tr><th>option</th><th>import kWh</th><th>export kWh</th>"
            "<th>self-consumption</th><th>cost EUR/yr</th><th>saves EUR/yr</th>"
            "<th>capacity lost / extra</th><th>extra wear EUR/yr</th><th>purchase EUR</th>"
            "<th>payback yr</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _resolution(r: dict[str, Any]) -> tuple[str, str]:
    res = r["resolution"]
    names = list(res["1s"])
    routes = [k for k in ("1s", "15min", "60min") if k in res]
    series = {k: [res[k].get(n, {}).get("savings_eur", math.nan) for n in names]
              for k in routes}
    labels = {"1s": "1 s (this assessment)", "15min": "15-min route", "60min": "60-min route"}
    chart = bar_chart("resolution", "Savings by resolution",
                      [r["charts"]["labels"].get(n, n) for n in names], series, labels,
                      "EUR saved over the data")
    rows = "".join(
        f"<tr><th>{_e(r['charts']['labels'].get(n, n))}</th>" + "".join(
            f"<td>{_fmt(res[k].get(n, {}).get('savings_eur'))}"
            + (f" ({_fmt(res[k][n].get('overstates_pct'), '+.0f')} %)" if k != "1s"
               and res[k].get(n, {}).get("overstates_pct") is not None else "") + "</td>"
            for k in routes) + "</tr>" for n in names)
    head = "".join(f"<th>{_e(labels[k])}</th>" for k in routes)
    return chart, (f"<table><thead><tr><th>option</th>{head}</tr></thead><tbody>{rows}"
                   "</tbody></table>")


CSS = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{font-size:1.15em;background:#f3f7fb;padding:.8em;border-left:4px solid #1f77b4}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0;width:100%}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{text-align:left}
.legend span{margin-right:1em;font-size:.85em}.legend i{display:inline-block;width:.9em;
height:.9em;margin-right:.3em;vertical-align:middle}
svg.chart{max-width:100%;height:auto;display:block}
.note{font-size:.85em;color:#555}
@page{size:A4;margin:14mm}@media print{h2{break-after:avoid}svg{break-inside:avoid}}
"""


def render(r: dict[str, Any]) -> str:
    """The report page of one assessment result."""
    ch = r["charts"]
    labels = ch["labels"]
    days = ch["days"]
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>v2h assess: {_e(r['household'])}</title><style>{CSS}</style></head><body>",
             f"<h1>Does V2H suit this home? {_e(r['household'])}</h1>",
             f'<p class="verdict" id="verdict">{_e(r["verdict"])}</p>',
             f'<p class="note">{r["days"]} days of data, simulated at 1 s per option '
             f'({r["seconds_simulated"]:,} seconds), figures per year. Prices: '
             f'{_e(r["prices"]["source"])}, {_e(r["prices"]["contract"])} contract, '
             f'{"with" if r["prices"]["net_metering_2027"] else "without"} net metering '
             "(the 2027 rules).</p>",
             "<h2>The options</h2>", _options_table(r)]
    for key, title in (("summer", "A typical summer day"), ("winter", "A typical winter day")):
        d = days[key]
        parts.append(f"<h2>{title} ({_e(d['date'])}): grid power</h2>")
        parts.append(line_chart(f"{key}-day", title, d["grid_w"], labels,
                                "W (+ import)", _hours(96)))
    mon = ch["monthly"]
    parts.append("<h2>Import per month</h2>")
    parts.append(bar_chart("monthly", "Import per month", MONTHS,
                           {k: v["import_kwh"] for k, v in mon.items()}, labels, "kWh"))
    parts.append("<h2>The car's state of charge over a week</h2>")
    n = len(next(iter(ch["car_week_soc"].values()), []))
    parts.append(line_chart("car-week", "Car SoC", ch["car_week_soc"], labels, "%",
                            [(i / 7, f"day {i + 1}") for i in range(7)] if n else []))
    chart, table = _resolution(r)
    parts += ["<h2>Resolution honesty: the same year from 15- and 60-minute data</h2>",
              '<p class="note">The coarse routes settle each interval\'s energy at once, as '
              "calculators do; in brackets how much more (or less) each says the option saves "
              "than the 1-s route.</p>", chart, table]
    pc = r["precheck"]
    parts += ["<h2>Technical pre-check</h2><ul>",
              f"<li>{_e(pc['fuse_text'])}; {_e(pc['phases_text'])}.</li>",
              f"<li>The car is home during {_fmt(pc['car_home_when_pv_pct'], '.0f')} % of the "
              f"{_fmt(pc['pv_hours'])} hours PV produces.</li>",
              *(f"<li>Needs {_e(x)}.</li>" for x in pc["needs"]),
              f"<li>Meter: {_e(pc['meter'])}.</li></ul>"]
    parts.append("<h2>Battery ageing</h2><table><thead><tr><th>option</th><th>model</th>"
                 "<th>capacity lost %</th><th>full cycles</th><th>rainflow cycles "
                 "(depth %: count)</th></tr></thead><tbody>")
    for o in r["options"]:
        a = o.get("ageing")
        if not a:
            continue
        cyc = ", ".join(f"{d:.0f}: {c:.0f}" for d, c in a["cycles"][:5])
        parts.append(f"<tr><th>{_e(o['label'])}</th><td>{_e(a['model'])} ({_e(a['chemistry'])})"
                     f"</td><td>{_fmt(a['q_loss_pct'], '.2f')}</td><td>{_fmt(a['efc'], '.0f')}"
                     f"</td><td>{_e(cyc)}</td></tr>")
    parts.append("</tbody></table>")
    v2h = next((o for o in r["options"] if o["option"] == "v2h" and o.get("ageing")), None)
    if v2h is not None:
        a = v2h["ageing"]
        parts.append(
            f'<p id="wear">The car\'s extra wear with V2H: {_fmt(a["extra_cost_eur"])} EUR a '
            f'year over {_fmt(v2h.get("throughput_kwh"))} kWh discharged, so the plan\'s '
            f'<code>plan.wear_eur_kwh</code> = {_fmt(a.get("wear_eur_kwh"), ".3f")} (0 when '
            "V2H ages the car less than charging it full on arrival does).</p>")
    notes = [n for f in r["inputs"]["files"] for n in f["notes"]] + r["inputs"]["notes"]
    parts += ["<h2>The data and what was repaired</h2><ul>",
              *(f"<li>{_e(f['file'])}: {_e(f['kind'])} every {f['interval_s']} s, "
                f"{f['days']:.0f} days</li>" for f in r["inputs"]["files"]),
              *(f"<li>{_e(n)}</li>" for n in notes), "</ul>",
              '<p class="note">Method, defaults and their sources: firmware_notes/assessment.md '
              "in v2h.</p></body></html>"]
    return "\n".join(parts)


def _flat(prefix: str, x: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(x, dict):
        for k, v in x.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(x, list | tuple) and x and isinstance(x[0], dict):
        for i, v in enumerate(x):
            key = v.get("option", str(i)) if isinstance(v, dict) else str(i)
            _flat(f"{prefix}[{key}]", v, out)
    elif isinstance(x, list | tuple):
        for i, v in enumerate(x):
            _flat(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, x))


def write(r: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """report.html, assessment.json and assessment.csv (figure,value) into out_dir."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = {"html": d / "report.html", "json": d / "assessment.json",
             "csv": d / "assessment.csv"}
    paths["html"].write_text(render(r), encoding="utf-8")
    paths["json"].write_text(json.dumps(r, indent=1, default=float), encoding="utf-8")
    rows: list[tuple[str, Any]] = []
    _flat("", r, rows)
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["figure", "value"])
        w.writerows(rows)
    return paths
