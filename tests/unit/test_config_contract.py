"""[tariff] contracts and [lease] in the config: check-config's exit 2 and its exact
FILE:LINE: key.path: message for each rule (controller/config/_contract.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import cli, config

DOUBLE = '[tariff]\ncontract = "double"\nnormal_eur_kwh = 0.13\nlow_eur_kwh = 0.10\n'


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, list[str]]:
    p = tmp_path / "v2h.toml"
    p.write_text(text, encoding="utf-8")
    rc = cli.main(["check-config", str(p)])
    return rc, capsys.readouterr().err.replace(str(tmp_path) + "/", "").splitlines()


class TestRejected:
    @pytest.mark.parametrize(("text", "expected"), [
        # a double tariff with overlapping hours: Monday 07-08 is in both lists
        (DOUBLE + 'normal_hours = ["mon-fri 07-23"]\n'
                  'low_hours = ["mon-fri 00-08,23-24", "sat-sun 00-24"]\n',
         "v2h.toml:6: tariff.low_hours: overlaps tariff.normal_hours: 5 hour(s) in both, the "
         "first mon 07-08"),
        # ...and one that leaves Sunday afternoon out
        (DOUBLE + 'low_hours = ["mon-fri 00-07,23-24", "sat 00-24", "sun 00-12"]\n',
         "v2h.toml:5: tariff.low_hours: leaves 12 hour(s) of the week in neither list, the "
         "first sun 12-13"),
        (DOUBLE + 'normal_hours = ["mon-fri 07-23", "wed 10-11"]\n',
         "v2h.toml:5: tariff.normal_hours: 'wed 10-11' repeats wed 10-11 (1 hour(s) listed "
         "twice)"),
        (DOUBLE + 'normal_hours = ["weekdays 7-23"]\n',
         "v2h.toml:5: tariff.normal_hours: 'weekdays' is not a day or a range of days"),
        (DOUBLE + 'normal_hours = ["mon-fri 23-07"]\n',
         "v2h.toml:5: tariff.normal_hours: '23-07' is not an hour range HH-HH within a day"),
        # negative rates
        ('[tariff]\ncontract = "fixed"\nrate_eur_kwh = -0.12\n',
         "v2h.toml:3: tariff.rate_eur_kwh: Expected `float` >= 0.0"),
        ('[tariff]\ncontract = "double"\nnormal_eur_kwh = 0.13\nlow_eur_kwh = -0.01\n',
         "v2h.toml:4: tariff.low_eur_kwh: Expected `float` >= 0.0"),
        ('[tariff]\ncontract = "fixed"\nrate_eur_kwh = 0.1\n[lease]\nreimburse = "fixed"\n'
         'rate_eur_kwh = -0.25\n', "v2h.toml:6: lease.rate_eur_kwh: Expected `float` >= 0.0"),
        # what a contract needs
        ('[tariff]\ncontract = "fixed"\n', "v2h.toml:2: tariff.contract: 'fixed' needs "
                                           "tariff.rate_eur_kwh"),
        ('[tariff]\ncontract = "variable"\n', "v2h.toml:2: tariff.contract: 'variable' needs "
                                              "tariff.monthly_file"),
        ('[tariff]\ncontract = "fixed"\nrate_eur_kwh = 0.1\n[prices]\nsource = "energyzero"\n',
         "v2h.toml:5: prices.source: a 'fixed' contract has no market prices: set "
         "prices.source = \"none\", or tariff.contract = \"dynamic\""),
        # a reimbursement rule that needs prices the contract does not give
        ('[lease]\ncar = "Kia EV6"\nreimburse = "contract"\ngiven_back = "none"\n',
         "v2h.toml:3: lease.reimburse: 'contract' needs the contract's prices, and a 'dynamic' "
         "contract has none with prices.source = \"none\": set a price source, a fixed, double "
         "or variable tariff.contract, or a 'fixed' rule"),
        ('[lease]\nreimburse = "fixed"\nrate_eur_kwh = 0.3\ngiven_back = "average"\n',
         "v2h.toml:4: lease.given_back: 'average' needs the contract's prices"),
        ('[lease]\nreimburse = "fixed"\ngiven_back = "none"\n',
         "v2h.toml:2: lease.reimburse: 'fixed' needs lease.rate_eur_kwh"),
    ])
    def test_check_config_rejects_with_file_line_key(self, tmp_path, capsys, text, expected):
        """Exit 2, and the problem on the line of the key that breaks the rule."""
        rc, err = check(tmp_path, capsys, text)
        assert rc == 2
        assert any(line.startswith(expected) for line in err), err

    def test_check_config_default_rule_points_at_its_section(self, tmp_path, capsys):
        """A rule left at its default ("contract") has no line of its own: [lease]'s."""
        rc, err = check(tmp_path, capsys, '\n[lease]\nreimburse = "fixed"\nrate_eur_kwh = 0.2\n')
        assert rc == 2
        assert err == ["v2h.toml:2: lease.given_back: 'contract' needs the contract's prices, "
                       "and a 'dynamic' contract has none with prices.source = \"none\": set a "
                       "price source, a fixed, double or variable tariff.contract, or a "
                       "'fixed' rule"]

    @pytest.mark.parametrize(("rows", "expected"), [
        ("month,rate_eur_kwh\n2026-11,0.12\n2026-12,-0.01\n",
         "rate -0.01 must be within 0..5 EUR/kWh (a negative rate is no contract's)"),
        ("month,rate_eur_kwh\n2026-13,0.12\n", "line 2: expected YYYY-MM,rate"),
        ("# from the supplier's letter\nmonth,rate_eur_kwh\n2026-11,x\n",
         "line 3: rate 'x' is not a number"),  # a comment keeps the lines' numbers
        ("month,price\n2026-11,0.12\n", "line 1: expected the header month,rate_eur_kwh"),
        ("month,rate_eur_kwh\n2026-11,0.12\n2026-11,0.13\n", "line 3: month 2026-11 is given "
                                                             "twice"),
    ])
    def test_check_config_reads_the_monthly_file(self, tmp_path, capsys, rows, expected):
        """A variable contract's file is read by check-config: its problem named with its
        line, at the monthly_file key's line."""
        f = tmp_path / "monthly.csv"
        f.write_text(rows, encoding="utf-8")
        rc, err = check(tmp_path, capsys, f'[tariff]\ncontract = "variable"\n'
                                          f'monthly_file = "{f}"\n')
        assert rc == 2
        assert err[0].startswith("v2h.toml:3: tariff.monthly_file: monthly.csv: "), err
        assert expected in err[0]


class TestAccepted:
    def test_dutch_double_tariff_is_the_default_week(self):
        """The default hours: T2 working days 07-23, T1 nights and weekends; 5 x 16 normal."""
        cfg = config.loads(DOUBLE)
        low, problems = config.low_hours(cfg.tariff.normal_hours, cfg.tariff.low_hours)
        assert problems == [] and low is not None
        assert len(low) == 7 * 24 - 5 * 16
        assert (0, 6) in low and (0, 7) not in low and (4, 23) in low and (5, 12) in low

    def test_lease_on_a_fixed_contract_loads(self, tmp_path, capsys):
        """A fixed contract gives prices: the contract rules are fine; --set too."""
        cfg = config.defaults(("tariff.contract=fixed", "tariff.rate_eur_kwh=0.12",
                               "lease.reimburse=average", "lease.plate=AB-123-C",
                               "tariff.net_metering_until=2027-01-01"))
        assert cfg.lease is not None and cfg.lease.reimburse == "average"
        assert cfg.tariff.net_metering_until is not None
        assert cfg.tariff.net_metering_until.isoformat() == "2027-01-01"

    def test_no_lease_section_means_no_lease(self):
        """The defaults have no [lease]: a household without a lease car."""
        assert config.defaults().lease is None

    def test_variable_contract_with_a_good_file(self, tmp_path, capsys):
        """check-config reads the file and says ok."""
        f = tmp_path / "m.csv"
        f.write_text("# announced by the supplier\nmonth,rate_eur_kwh\n2026-12,0.121\n")
        rc, err = check(tmp_path, capsys, f'[tariff]\ncontract = "variable"\n'
                                          f'monthly_file = "{f}"\n')
        assert rc == 0 and err == []

    def test_keys_only_leaves_the_monthly_file_alone(self, tmp_path, capsys):
        """The service's start check (--keys-only) passes a broken monthly file: bookkeeping
        never keeps the controller from starting; the full check still refuses it."""
        f = tmp_path / "m.csv"
        f.write_text("month,rate_eur_kwh\n2026-12,-1\n")
        p = tmp_path / "v2h.toml"
        p.write_text(f'[tariff]\ncontract = "variable"\nmonthly_file = "{f}"\n')
        assert cli.main(["check-config", "--keys-only", str(p)]) == 0
        assert cli.main(["check-config", str(p)]) == 2
