"""A variable contract's rates: one supply rate per month from a small CSV the household keeps
(the supplier announces the next month's rate ahead). Header `month,rate_eur_kwh`, one row a
month `YYYY-MM,0.1234` (EUR/kWh excl. VAT and energy tax, as [tariff] rate_eur_kwh); months
in any order, each at most once; lines starting with `#` are comments."""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from ._model import PriceError

MAX_RATE = 5.0  # EUR/kWh: as the config's Rate
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_monthly(text: str, source: str) -> dict[str, float]:
    """{"YYYY-MM": rate} from the CSV text; PriceError naming the line of the first problem."""
    kept = [(i, ln) for i, ln in enumerate(text.splitlines(), 1)
            if not ln.lstrip().startswith("#")]  # comments out, each line keeps its number
    reader = csv.reader(io.StringIO("\n".join(ln for _, ln in kept)))
    rates: dict[str, float] = {}
    header: list[str] | None = None
    for k, row in enumerate(reader):
        line = kept[k][0] if k < len(kept) else k + 1
        if not row or not "".join(row).strip():
            continue
        cells = [c.strip() for c in row]
        if header is None:
            if cells[:2] != ["month", "rate_eur_kwh"]:
                raise PriceError(source, f"line {line}: expected the header month,rate_eur_kwh")
            header = cells
            continue
        if len(cells) < 2 or not _MONTH.match(cells[0]):
            raise PriceError(source, f"line {line}: expected YYYY-MM,rate, got {row!r}")
        try:
            rate = float(cells[1])
        except ValueError:
            raise PriceError(source, f"line {line}: rate {cells[1]!r} is not a number") from None
        if not math.isfinite(rate) or not 0.0 <= rate <= MAX_RATE:
            raise PriceError(source, f"line {line}: rate {cells[1]} must be within 0..{MAX_RATE:g}"
                                     " EUR/kWh (a negative rate is no contract's)")
        if cells[0] in rates:
            raise PriceError(source, f"line {line}: month {cells[0]} is given twice")
        rates[cells[0]] = rate
    if header is None:
        raise PriceError(source, "no header month,rate_eur_kwh")
    return rates


def read_monthly(path: str | Path) -> dict[str, float]:
    """The rates in the file at `path`; PriceError (bad content) or OSError."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PriceError(str(p), f"not UTF-8 text: {exc}") from None
    return parse_monthly(text, str(p))
