"""The month's printable statement (HTML, one self-contained page: no script, no outside
resource) that a driver hands the employer: the contract, the settlement, the charger's
counters, every day, and the minutes without data (firmware_notes/ledger.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape

from ._report import Report
from ._settle import Rule, settle
from ._text import NOTES, counters_text

_CSS = """
body { font: 10.5pt/1.35 "DejaVu Sans", Arial, sans-serif; color: #111; margin: 2em; }
h1 { font-size: 15pt; margin: 0 0 .2em; } h2 { font-size: 11.5pt; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #bbb; padding: 2px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.total, tr.total td { font-weight: bold; border-top: 2px solid #111; }
.meta td { border: none; text-align: left; padding: 0 1em 0 0; vertical-align: top; }
#missing td:last-child { text-align: left; }
.warn { color: #8a1c00; } .small { font-size: 8.5pt; color: #444; white-space: pre-wrap; }
.sign { margin-top: 2.5em; display: flex; gap: 4em; }
.sign div { border-top: 1px solid #111; width: 16em; padding-top: 2px; }
@page { size: A4; margin: 15mm; }
@media print { body { margin: 0; } tr { break-inside: avoid; } }
"""


def _eur(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"&euro;&nbsp;{x:,.2f}"


def _kwh(x: float) -> str:
    return f"{x:,.3f}"


def _settlement(rep: Report, rule: Rule | None) -> list[str]:
    if rule is None:
        return ["<h2>Settlement</h2>",
                "<p class=warn>No [lease] section in the config: no settlement.</p>"]
    s = settle(rep.total, rule, rep.mean_import_price)
    how_r, how_g = rule.describe(rep.mean_import_price)
    net = s.net_eur
    side = "The employer owes the driver" if net >= 0 else "The driver owes the employer"
    given = ("<td>not settled</td><td></td>" if rule.given_back == "none" else
             f"<td>{_kwh(s.settled_given_kwh)}</td><td>{_eur(s.given_worth_eur)}</td>")
    rows = [
        "<h2>Settlement</h2>",
        f"<p>Charging reimbursed at {escape(how_r)}; energy given back settled at "
        f"{escape(how_g)}.</p>",
        "<table id=settlement><tr><th></th><th>measured kWh</th><th>settled kWh</th>"
        "<th>amount</th></tr>",
        f"<tr><td>Charged at home (reimbursement)</td><td>{_kwh(s.charged_kwh)}</td>"
        f"<td>{_kwh(s.reimbursed_kwh)}</td><td>{_eur(s.reimbursement_eur)}</td></tr>",
        f"<tr><td>Given back to the house (owed to the employer)</td>"
        f"<td>{_kwh(s.given_kwh)}</td>{given}</tr>",
        f"<tr class=total><td>{side}</td><td></td><td></td><td id=net>{_eur(abs(net))}</td></tr>",
        "</table>",
    ]
    if s.charged_open_kwh > 1e-9 or (rule.given_back != "none" and s.given_open_kwh > 1e-9):
        rows.append(f"<p class=warn>Not settled for want of a price: "
                    f"{_kwh(s.charged_open_kwh)} kWh charged, {_kwh(s.given_open_kwh)} kWh "
                    "given back (see Missing data).</p>")
    return rows


def _missing(rep: Report) -> list[str]:
    t = rep.total
    cells = [
        ("Minutes in the month so far", f"{rep.month_minutes:,}", ""),
        ("Minutes recorded", f"{t.minutes:,}", ""),
        ("Minutes without a record", f"{rep.missing_minutes:,}",
         "energy unknown: nothing recorded, nothing settled"),
        ("Minutes partly recorded", f"{t.partial_minutes:,}",
         f"{t.uncovered_s:,.0f} s of them without data"),
        ("Minutes without a price", f"{t.unpriced_minutes:,}",
         f"{_kwh(t.unpriced_charged_wh / 1000)} kWh charged, "
         f"{_kwh(t.unpriced_given_wh / 1000)} kWh given back: not priced"),
        ("Minutes priced from the contract afterwards", f"{t.filled_minutes:,}",
         "the ledger had no price; the contract's price of that minute"),
    ]
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{escape(c)}</td></tr>"
                   for a, b, c in cells)
    return ["<h2>Missing data</h2>", f"<table id=missing>{body}</table>"]


def _days(rep: Report, rule: Rule | None) -> list[str]:
    head = ("<tr><th>day</th><th>charged kWh</th><th>given back kWh</th><th>reimbursement"
            "</th><th>given back worth</th><th>net</th><th>minutes</th><th>no record</th>"
            "<th>no price</th></tr>")
    rows = []
    for day in sorted(rep.days):
        s = rep.days[day]
        st = settle(s, rule, rep.mean_import_price) if rule is not None else None
        money = (f"<td>{_eur(st.reimbursement_eur)}</td><td>{_eur(st.given_worth_eur)}</td>"
                 f"<td>{_eur(st.net_eur)}</td>" if st else "<td></td><td></td><td></td>")
        missing = max(0, rep.day_minutes(day) - s.minutes)
        rows.append(f"<tr><td>{day.isoformat()} {day.strftime('%a')}</td>"
                    f"<td>{_kwh(s.charged_wh / 1000)}</td><td>{_kwh(s.given_wh / 1000)}</td>"
                    f"{money}<td>{s.minutes:,}</td><td>{missing:,}</td>"
                    f"<td>{s.unpriced_minutes:,}</td></tr>")
    if not rows:
        rows.append("<tr><td colspan=9>no ledger rows in this month</td></tr>")
    return ["<h2>Per day</h2>", f"<table id=days>{head}{''.join(rows)}</table>"]


def statement(rep: Report, rule: Rule | None, contract: list[str],
              now_utc: float | None = None) -> str:
    """The month's statement as one HTML page; `contract` describes the tariff in lines."""
    made = datetime.fromtimestamp(now_utc, UTC) if now_utc is not None else datetime.now(UTC)
    r = rule or Rule()
    who = [("Car", r.car), ("Plate", r.plate), ("Driver", r.driver), ("Employer", r.employer)]
    meta = "".join(f"<tr><td>{k}</td><td>{escape(v) or '&ndash;'}</td></tr>" for k, v in who)
    meta += (f"<tr><td>Period</td><td>{escape(rep.month)} (local time, "
             f"{escape(rep.tz.key)})</td></tr>"
             f"<tr><td>Contract</td><td>{'<br>'.join(escape(c) for c in contract)}</td></tr>"
             f"<tr><td>Charger counters</td><td>{escape(counters_text(rep))}</td></tr>"
             f"<tr><td>Made</td><td>{made:%Y-%m-%d %H:%M} UTC by v2h report, ledger "
             f"{escape(str(rep.path))}</td></tr>")
    notes = NOTES.format(tz=rep.tz.key, eff=rep.efficiency, cap=rep.capacity_kwh)
    parts = [
        "<!DOCTYPE html>", "<html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width, initial-scale=1">',
        '<link rel=icon href="data:,">',
        f"<title>Home charging statement {escape(rep.month)}"
        f"{' ' + escape(r.plate) if r.plate else ''}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Home charging statement &mdash; {escape(rep.month)}</h1>",
        f"<table class=meta>{meta}</table>",
        *_settlement(rep, rule), *_missing(rep), *_days(rep, rule),
        f"<h2>Definitions</h2><p class=small>{escape(notes)}</p>",
        "<div class=sign><div>Driver, date</div><div>Employer, date</div></div>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
