"""The report opens in headless Chromium (Debian's, installed by `make test`) without a
console error, and a screenshot shows every chart drawn: each chart's box holds the colours
of its series. JSON and CSV hold the same figures."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from controller import config
from controller.assess import Household, assess_home, home_from_seconds, write
from controller.assess._generate import household_seconds
from controller.assess._household import Data, PriceFile
from controller.assess._report import COLORS, ROUTE_COLORS
from tests.ledger.chromium import open_page

START = 1_751_839_200.0  # 2025-07-07 00:00 local, a Monday


@pytest.fixture(scope="module")
def result():
    load, pv = household_seconds(7, seed=9, start_day=187)
    h = Household(data=Data(file="-"), name="generated <test> & co",
                  prices=PriceFile(file="generated"))
    cfg = config.defaults(("tariff.contract=dynamic",))
    return assess_home(home_from_seconds(h, "Europe/Amsterdam", START, load, pv), cfg)


def _rgb(hexcolor: str) -> np.ndarray:
    return np.array([int(hexcolor[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0


async def test_report_opens_without_console_errors_and_charts_render(result, tmp_path):
    """No console error or failed load; five charts, each with its series' colours in the
    screenshot inside its own box; the verdict on the page."""
    paths = write(result, tmp_path)
    boxes = ("JSON.stringify([...document.querySelectorAll('svg.chart')].map(e => {"
             "const b = e.getBoundingClientRect(); return [e.dataset.chart, b.x, "
             "b.y + window.scrollY, b.width, b.height, "
             "[...new Set([...e.querySelectorAll('.series')].map(s => s.dataset.series))]]}))")
    page = await open_page(paths["html"].as_uri(),
                           {"boxes": boxes, "verdict": "document.getElementById('verdict')"
                            ".textContent", "dpr": "window.devicePixelRatio"},
                           screenshot=True)
    assert page.problems == []
    assert page.values["verdict"] == result["verdict"]
    assert page.pdf.startswith(b"%PDF")  # it prints
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(page.png), format="png")[..., :3]
    dpr = page.values["dpr"]
    charts = json.loads(page.values["boxes"])
    assert [c[0] for c in charts] == ["summer-day", "winter-day", "monthly", "car-week",
                                      "resolution"]
    for name, x, y, w, h, series in charts:
        crop = img[int(y * dpr):int((y + h) * dpr), int(x * dpr):int((x + w) * dpr)]
        assert crop.size, name
        for s in series:
            want = _rgb(COLORS.get(s) or ROUTE_COLORS[s])
            hits = (np.abs(crop - want).max(axis=2) < 0.06).sum()
            assert hits > 20, f"{name}: series {s} not drawn ({hits} pixels)"


def test_json_and_csv_hold_every_option(result, tmp_path):
    """assessment.json is the result; assessment.csv has a row per figure, every option's
    cost among them."""
    paths = write(result, tmp_path)
    assert json.loads(paths["json"].read_text())["verdict"] == result["verdict"]
    with paths["csv"].open(encoding="utf-8") as fh:
        rows = dict(csv.reader(fh))
    for o in result["options"]:
        assert float(rows[f"options[{o['option']}].cost_eur"]) == pytest.approx(o["cost_eur"])
    assert "<test>" not in paths["html"].read_text()  # the name is escaped
