"""Many homes: a folder of households on a Dask cluster (a LocalCluster here) and on this
machine's processes; one summary table, a report per home, a bad home reported and the
others assessed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from controller import cli
from controller.assess import portfolio

EXAMPLE = Path(__file__).resolve().parents[2] / "controller" / "assess" / "example"


@pytest.fixture
def homes(tmp_path):
    root = tmp_path / "homes"
    for i in range(2):
        d = root / f"home-{i}"
        d.mkdir(parents=True)
        for f in ("v2h.toml", "grid_15min.csv.gz", "pv_15min.csv.gz"):
            shutil.copy(EXAMPLE / f, d / f)
        text = (EXAMPLE / "household.toml").read_text()
        (d / "household.toml").write_text(text.replace("seed = 1", f"seed = {i + 1}")
                                          .replace('name = "Example', f'name = "Home {i}'))
    bad = root / "home-bad"
    bad.mkdir()
    (bad / "household.toml").write_text('name = "bad"\n[data]\nfile = "none.csv"\n')
    return root


def test_portfolio_on_a_local_dask_cluster(homes, tmp_path):
    """Three homes through dask.distributed: two assessed with their reports, the bad one
    named with its file and problem; the summary holds all three."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        rows = portfolio(homes, tmp_path / "out", scheduler=cluster.scheduler_address, days=2)
    by = {Path(r["folder"]).name: r for r in rows}
    assert set(by) == {"home-0", "home-1", "home-bad"}
    assert "none.csv:0: no such file" in by["home-bad"]["error"]
    for k in ("home-0", "home-1"):
        assert by[k]["error"] is None and Path(by[k]["report"]).exists()
    with (tmp_path / "out" / "summary.csv").open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 3


def test_portfolio_on_two_workers_from_the_command_line(homes, tmp_path, capsys):
    """`v2h assess FOLDER --workers 2`: the same rows, exit 2 because one home is bad."""
    rc = cli.main(["assess", str(homes), "--workers", "2", "--days", "1", "--out",
                   str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 2
    assert "Home 0" in out and "Home 1" in out and "no such file" in out
    assert (tmp_path / "out" / "summary.html").exists()


def test_an_internal_failure_is_a_row_not_a_crash(homes, tmp_path, monkeypatch):
    """A home whose assessment fails unexpectedly gets its error in its row (exit 1 from
    the command line); the other homes are still assessed."""
    from controller.assess import _assess

    real = _assess.assess_home

    def flaky(home, cfg, ageing=True, workers=1):
        if home.h.seed == 2:
            raise ZeroDivisionError("a bug")
        return real(home, cfg, ageing, workers)

    monkeypatch.setattr(_assess, "assess_home", flaky)
    rows = portfolio(homes, tmp_path / "out", days=1)
    by = {Path(r["folder"]).name: r for r in rows}
    assert "internal error: ZeroDivisionError: a bug" in by["home-1"]["error"]
    assert by["home-0"]["error"] is None
