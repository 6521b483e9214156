"""Household files: every kind read to mean power per interval, each repair reported, and
bad input refused with file, line and problem (never a crash)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from controller import cli
from controller.assess import AssessError, read_series


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _minutes(start: str, n: int, tz: str = "Europe/Amsterdam") -> list[str]:
    import pandas as pd

    idx = pd.date_range(pd.Timestamp(start, tz=tz), periods=n, freq="1min")
    return [t.strftime("%Y-%m-%d %H:%M") for t in idx]


class TestKinds:
    def test_power_series_any_interval(self, tmp_path):
        """A 1-min power series in kW becomes W per minute on a UTC grid."""
        lines = ["time,power_kw"] + [f"2025-06-01T00:{m:02d}:00Z,{0.5 + m / 100:.2f}"
                                     for m in range(30)]
        s = read_series(_write(tmp_path / "p.csv", "\n".join(lines)))
        assert s.interval_s == 60 and s.kind == "power"
        assert s.watts[0] == pytest.approx(500.0) and s.watts[29] == pytest.approx(790.0)
        assert s.notes == []

    def test_interval_energies(self, tmp_path):
        """A supplier's 15-min import/export kWh become the net mean power (W)."""
        rows = ["start_utc,import_kwh,export_kwh", "2025-06-01T10:00:00Z,0.25,0",
                "2025-06-01T10:15:00Z,0,0.5", "2025-06-01T10:30:00Z,0.1,0.1"]
        s = read_series(_write(tmp_path / "e.csv", "\n".join(rows)))
        assert s.interval_s == 900
        assert list(s.watts) == pytest.approx([1000.0, -2000.0, 0.0])

    def test_p1_counters_with_a_reset(self, tmp_path):
        """Tariff 1 and 2 counters to energy per interval; a reset (a new meter) is bridged
        from zero and reported with its line."""
        rows = ["time,import_t1_kwh,import_t2_kwh,export_t1_kwh,export_t2_kwh"]
        vals = [(100.0, 50.0, 10.0, 5.0), (100.1, 50.0, 10.0, 5.0), (100.2, 50.0, 10.0, 5.1),
                (0.1, 50.0, 10.0, 5.1), (0.2, 50.0, 10.0, 5.1)]
        for i, v in enumerate(vals):
            rows.append(f"2025-06-01T{10 + i // 4}:{i % 4 * 15:02d}:00Z," + ",".join(map(str, v)))
        s = read_series(_write(tmp_path / "c.csv", "\n".join(rows)))
        assert s.interval_s == 900
        # 0.1 kWh in a quarter = 400 W; the third: 0.1 in, 0.1 out = 0; the reset: 0.1 kWh
        assert list(s.watts) == pytest.approx([400.0, 0.0, 400.0, 400.0])
        assert any("counter reset at line 5" in n for n in s.notes)

    def test_dst_duplicates_and_gaps_reported(self, tmp_path):
        """Naive local times over the spring clock change, a duplicate row and a few
        missing minutes: read, repaired and each said in the notes."""
        times = _minutes("2025-03-30 01:00", 180)
        rows = ["time,power_w"] + [f"{t},{300 + i}" for i, t in enumerate(times)]
        rows.insert(10, rows[9])  # a duplicate row
        del rows[50:53]  # three minutes missing
        s = read_series(_write(tmp_path / "d.csv", "\n".join(rows)), tz="Europe/Amsterdam")
        text = " | ".join(s.notes)
        assert "clock change" in text and "duplicate row" in text and "missing" in text
        assert s.interval_s == 60 and not np.isnan(s.watts).any()

    def test_gzip_file(self, tmp_path):
        """A .csv.gz reads as its CSV."""
        p = tmp_path / "g.csv.gz"
        with gzip.open(p, "wt") as fh:
            fh.write("time,power_w\n2025-01-01T00:00Z,1\n2025-01-01T00:01Z,2\n")
        assert list(read_series(p).watts) == [1.0, 2.0]


class TestBadInput:
    def test_unknown_columns(self, tmp_path):
        """A column it does not know is named, at line 1."""
        p = _write(tmp_path / "u.csv", "time,power_w,boiler\n2025-01-01T00:00Z,1,2\n")
        with pytest.raises(AssessError, match=r"u\.csv:1: unknown column\(s\) 'boiler'"):
            read_series(p)

    def test_thirty_percent_missing(self, tmp_path):
        """A series with 30 % of its intervals missing is refused, naming the line the
        first gap follows."""
        rows = ["time,power_w"] + [f"{t},400" for i, t in
                                   enumerate(_minutes("2025-01-01 00:00", 1000)) if i % 10 >= 3]
        # minutes 3..9 are lines 2..8; the first gap (minutes 10-12) follows line 8
        with pytest.raises(AssessError, match=r"m\.csv:8: 30% of the \d+ intervals are "
                           r"missing, the first at 2024-12-31T23:10:00\+00:00"):
            read_series(_write(tmp_path / "m.csv", "\n".join(rows)))

    def test_mixed_units(self, tmp_path):
        """A unit column that changes from W to kW is refused at the line it changes."""
        rows = ["time,power_w,unit", "2025-01-01T00:00Z,400,W", "2025-01-01T00:01Z,410,W",
                "2025-01-01T00:02Z,0.4,kW"]
        with pytest.raises(AssessError, match=r"x\.csv:4: mixed units: 'kW' here, 'W'"):
            read_series(_write(tmp_path / "x.csv", "\n".join(rows)))

    def test_unit_in_a_value(self, tmp_path):
        """A value with its unit written in is refused at its line."""
        rows = ["time,power_w", "2025-01-01T00:00Z,400", "2025-01-01T00:01Z,0.41 kW"]
        with pytest.raises(AssessError, match=r"v\.csv:3: power_w: '0.41 kW' is not a number"):
            read_series(_write(tmp_path / "v.csv", "\n".join(rows)))

    def test_counter_goes_backwards(self, tmp_path):
        """A counter that falls and is no reset is refused at its line."""
        rows = ["time,import_t1_kwh", "2025-01-01T00:00Z,100.0", "2025-01-01T00:15Z,100.2",
                "2025-01-01T00:30Z,99.9"]
        with pytest.raises(AssessError, match=r"b\.csv:4: import_t1_kwh: the counter goes "
                           r"backwards \(100.200 -> 99.900 kWh\)"):
            read_series(_write(tmp_path / "b.csv", "\n".join(rows)))

    def test_cli_exit_2_with_file_line(self, tmp_path, capsys):
        """`v2h assess` on bad input exits 2 with FILE:LINE: problem, no traceback."""
        (tmp_path / "household.toml").write_text('name = "x"\n[data]\nfile = "g.csv"\n')
        _write(tmp_path / "g.csv", "time,import_t1_kwh\n2025-01-01T00:00Z,5\n"
               "2025-01-01T00:15Z,4\n")
        rc = cli.main(["assess", str(tmp_path), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert rc == 2
        assert f"{tmp_path / 'g.csv'}:3: import_t1_kwh: the counter goes backwards" in err

    def test_household_toml_error_names_its_line(self, tmp_path, capsys):
        """A wrong value in household.toml is named with its line and key."""
        (tmp_path / "household.toml").write_text('name = "x"\n[data]\nfile = "g.csv"\n'
                                                 '[car]\nchemistry = "NiCd"\n')
        rc = cli.main(["assess", str(tmp_path), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert rc == 2 and "household.toml:5: car.chemistry" in err

    def test_unknown_clock_time_zone(self, tmp_path, capsys):
        """A data.timezone that does not exist is named with its line."""
        (tmp_path / "household.toml").write_text('name = "x"\n[data]\nfile = "g.csv"\n'
                                                 'timezone = "Mars/Olympus"\n')
        rc = cli.main(["assess", str(tmp_path), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert rc == 2 and "household.toml:4: data.timezone: unknown time zone" in err


def test_autumn_clock_change_repeated_hour(tmp_path):
    """Naive local times through the autumn clock change (02:00-03:00 twice): the repeated
    hour is placed by order, no minute lost or doubled, and the change is reported."""
    import pandas as pd

    idx = pd.date_range(pd.Timestamp("2025-10-26 01:00", tz="Europe/Amsterdam"), periods=240,
                        freq="1min")
    rows = ["time,power_w"] + [f"{t.strftime('%Y-%m-%d %H:%M')},{i}" for i, t in enumerate(idx)]
    s = read_series(_write(tmp_path / "a.csv", "\n".join(rows)), tz="Europe/Amsterdam")
    assert len(s.watts) == 240 and list(s.watts) == [float(i) for i in range(240)]
    assert any("clock change" in n for n in s.notes)
