"""Many homes: every household folder under a root (an installer's or a housing
cooperative's portfolio), on `workers` processes of this machine or on a Dask cluster
(`scheduler`: a dask.distributed address); a report per home and one summary table."""

from __future__ import annotations

import csv
import html
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ._errors import AssessError

SUMMARY_FIELDS = ("household", "folder", "verdict", "best", "best_net_savings_eur",
                  "best_payback_years", "v2h_net_savings_eur", "battery_10_savings_eur",
                  "wear_eur_kwh", "seconds", "report", "error")


def households(root: str | Path) -> list[Path]:
    """The household folders: root itself when it holds household.toml, else each folder
    below it that does (sorted)."""
    r = Path(root)
    if (r / "household.toml").exists():
        return [r]
    return sorted(p.parent for p in r.glob("*/household.toml"))


def assess_one(folder: str, out_dir: str, days: int | None = None, workers: int = 1
               ) -> dict[str, Any]:
    """One home's assessment written under out_dir/<folder name>; its summary row. Bad
    input gives a row with `error` (FILE:LINE: problem), never an exception. `workers` 2
    runs the price plan's pass in a second process (one home on two cores)."""
    import msgspec

    from ._assess import assess_home
    from ._household import load
    from ._inputs import home_of
    from ._report import write

    t0 = time.perf_counter()
    row: dict[str, Any] = dict.fromkeys(SUMMARY_FIELDS)
    row["folder"] = folder
    row["internal"] = False
    try:
        h, cfg = load(folder)
        if days is not None:
            h = msgspec.structs.replace(h, data=msgspec.structs.replace(h.data, days=days))
        r = assess_home(home_of(h, cfg.site.timezone), cfg, workers=workers)
    except AssessError as exc:
        row["error"] = str(exc)
        row["household"] = Path(folder).name
        return row
    except Exception as exc:  # noqa: BLE001 - one home's failure must not end a portfolio
        row["error"] = f"{folder}:0: internal error: {type(exc).__name__}: {exc}"
        row["household"] = Path(folder).name
        row["internal"] = True
        return row
    paths = write(r, Path(out_dir) / Path(folder).name)
    opts = {o["option"]: o for o in r["options"]}
    cands = [o for o in r["options"] if o["option"] != "none"]
    best = max(cands, key=lambda o: o["net_savings_eur"])
    row.update(household=r["household"], verdict=r["verdict"], best=best["label"],
               best_net_savings_eur=round(best["net_savings_eur"], 2),
               best_payback_years=best["payback_years"],
               v2h_net_savings_eur=round(opts["v2h"]["net_savings_eur"], 2),
               wear_eur_kwh=opts["v2h"].get("ageing", {}).get("wear_eur_kwh"),
               battery_10_savings_eur=(round(opts["battery-10"]["savings_eur"], 2)
                                       if "battery-10" in opts else None),
               seconds=round(time.perf_counter() - t0, 2), report=str(paths["html"]))
    return row


def portfolio(root: str | Path, out_dir: str | Path, workers: int = 1,
              scheduler: str | None = None, days: int | None = None,
              progress: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Every household under root: rows of the summary (summary.csv and summary.html are
    written to out_dir too)."""
    homes = [str(p) for p in households(root)]
    if not homes:
        raise AssessError(str(root), 0, "no household.toml here or in a folder below")
    out = str(out_dir)
    rows: list[dict[str, Any]]
    if scheduler:
        from distributed import Client

        with Client(scheduler) as client:
            futs = client.map(assess_one, homes, out_dir=out, days=days, pure=False)
            rows = client.gather(futs)
    elif workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(assess_one, homes, [out] * len(homes),
                                 [days] * len(homes)))
    else:
        rows = [assess_one(h, out, days) for h in homes]
    for r in rows:
        if progress is not None:
            progress(r)
    write_summary(rows, out_dir)
    return rows


def write_summary(rows: list[dict[str, Any]], out_dir: str | Path) -> Path:
    """summary.csv and summary.html (one line per home) in out_dir."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    with (d / "summary.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(SUMMARY_FIELDS), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    head = "".join(f"<th>{html.escape(f)}</th>" for f in SUMMARY_FIELDS)
    def cell(v: Any) -> str:
        return html.escape("-" if v is None else str(v))

    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(f))}</td>" for f in SUMMARY_FIELDS)
                   + "</tr>" for r in rows)
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>v2h assess: "
            f"portfolio</title></head><body><h1>Portfolio: {len(rows)} homes</h1><table "
            f"border=\"1\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            "</body></html>")
    p = d / "summary.html"
    p.write_text(page, encoding="utf-8")
    return p
