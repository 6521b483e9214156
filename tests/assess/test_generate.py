"""The generated price year (the measured NL prices may not be shipped): its statistics
against the figures of the data README (../shared/data/assessment/README.md, NL 2025)."""

from __future__ import annotations

import numpy as np
import pytest

from controller.assess._generate import MONTHLY_EUR_MWH, price_year

START = 1_735_689_600.0  # 2025-01-01 00:00 UTC


@pytest.fixture(scope="module")
def year() -> np.ndarray:
    return np.array(price_year(START, 35_040)) * 1000.0  # EUR/MWh


def test_monthly_means_are_2025s(year):
    """Each (UTC) month's mean is the README's 2025 figure (116.7 EUR/MWh in January ..
    87.7 in December), and so is the year's within 2 EUR/MWh (86.61)."""
    t = (np.datetime64("2025-01-01") + np.arange(35_040) * np.timedelta64(15, "m"))
    month = t.astype("datetime64[M]").astype(int) % 12
    for m in range(12):
        assert year[month == m].mean() == pytest.approx(MONTHLY_EUR_MWH[m], abs=0.01)
    assert year.mean() == pytest.approx(86.61, abs=2.0)


def test_negative_hours_like_2025(year):
    """About as many negative hours as 2025's 573 (within 450..700)."""
    hourly = year.reshape(-1, 4).mean(axis=1)
    assert 450 <= int((hourly < 0).sum()) <= 700


def test_daily_shape(year):
    """Low at midday, high in the evening: 2025's hours 12-14 average about half the day's
    mean and hours 18-20 about 1.45 times it (measured: 0.54, 0.49, 0.52 and 1.38, 1.51,
    1.48)."""
    by_hour = year.reshape(365, 96).reshape(365, 24, 4).mean(axis=(0, 2))
    shape = np.roll(by_hour, 1) / by_hour.mean()  # UTC to CET
    assert shape[12:15].mean() < 0.6 and shape[18:21].mean() > 1.3
