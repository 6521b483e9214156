"""Make the shipped example household from the measured Sceaux year (CC BY 4.0; see
README.md here): the whole house less its electric water heater and air conditioner
(sub-meter 3: a Dutch home heats water otherwise), 2008 at 1 min, with a generated 4 kWp
PV year (the simulator's PV model: no measured PV could be shipped), written as a supplier's
15-minute export (import and export kWh) and a PV file of 15-minute energies.

    python controller/assess/example/make_example.py \
        ../shared/data/assessment/household_sceaux_1min_2008.csv.gz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from controller.assess._generate import household_seconds

HERE = Path(__file__).parent
# the generator's PV is 6 kWp at midsummer with light clouds (1,330 kWh/kWp): scaled to a
# 4 kWp array yielding about 900 kWh/kWp, a Dutch year
PV_PEAK_SCALE = 0.45


def main(src: str) -> None:
    df = pd.read_csv(src)
    house = df["active_power_w"] - df["water_heater_ac_wh"] * 60.0
    house = house.clip(lower=0.0)
    # the logger's clock is a fixed offset: local French winter time, UTC+1
    t = pd.to_datetime(df["time_logger"]).dt.tz_localize("Etc/GMT-1").dt.tz_convert("UTC")
    days = len(df) // 1440
    _, pv_s = household_seconds(days, seed=2008)
    pv_min = pv_s.reshape(-1, 60).mean(axis=1) * PV_PEAK_SCALE
    load = house.to_numpy()[:days * 1440]
    net_min = load - pv_min  # NaN where the logger missed a minute
    q = pd.DataFrame({"t": t[:days * 1440].to_numpy(), "net": net_min, "pv": pv_min})
    q["imp"] = np.where(q["net"] > 0, q["net"], 0.0) / 60.0 / 1000.0
    q["exp"] = np.where(q["net"] < 0, -q["net"], 0.0) / 60.0 / 1000.0
    q.loc[q["net"].isna(), ["imp", "exp"]] = np.nan
    g = q.groupby(q.index // 15)
    first = g["t"].first().dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    imp = g["imp"].sum(min_count=15).round(4)
    exp_ = g["exp"].sum(min_count=15).round(4)
    pd.DataFrame({"start_utc": first, "import_kwh": imp, "export_kwh": exp_}).to_csv(
        HERE / "grid_15min.csv.gz", index=False)
    pv = (g["pv"].sum() / 60.0 / 1000.0).round(4)
    pd.DataFrame({"start_utc": first, "energy_kwh": pv}).to_csv(HERE / "pv_15min.csv.gz",
                                                               index=False)
    print(f"{days} days; house {np.nansum(load) / 60000:.0f} kWh, PV "
          f"{pv_min.sum() / 60000:.0f} kWh")


if __name__ == "__main__":
    main(sys.argv[1])
