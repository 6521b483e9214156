"""The lease settlement of a month (or a day): what the employer owes the driver for charging
the employer's car at home, less what the household owes the employer for the energy it took
back out of the car. The rules are [lease]'s (firmware_notes/ledger.md, "Settlement")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._report import Sums

KWH = 1000.0  # Wh per kWh


@dataclass(frozen=True)
class Rule:
    """[lease] as the report reads it: the two rules, their rates (EUR/kWh), and the names
    on the statement."""

    reimburse: str = "contract"       # fixed | contract | average
    rate_eur_kwh: float | None = None
    given_back: str = "contract"      # none | fixed | contract | average
    given_back_eur_kwh: float | None = None
    car: str = ""
    plate: str = ""
    driver: str = ""
    employer: str = ""

    @classmethod
    def of(cls, lease: Any) -> Rule:
        """The rule of a config's [lease] section (controller.config.Lease)."""
        return cls(**{k: getattr(lease, k) for k in cls.__dataclass_fields__})

    def describe(self, mean: float) -> tuple[str, str]:
        """The two rules in words, for the report and the statement."""
        def rule(kind: str, rate: float | None) -> str:
            if kind == "fixed":
                return f"a fixed EUR {rate or 0.0:.4f}/kWh"
            if kind == "average":
                avg = f"EUR {mean:.4f}/kWh" if math.isfinite(mean) else "none known"
                return f"the contract's average import price of the month ({avg})"
            if kind == "contract":
                return "the contract's price of each minute"
            return "not settled"
        given = rule(self.given_back, self.given_back_eur_kwh)
        if self.given_back == "contract":
            given = ("what it was worth to the household each minute (to the house: the "
                     "import price; to the grid: the export price)")
        return rule(self.reimburse, self.rate_eur_kwh), given


@dataclass(frozen=True)
class Settlement:
    """kWh and EUR of one settlement; `*_open_kwh` is energy the rule could not price (a
    minute without a price under a per-minute rule): shown, never paid by guess."""

    charged_kwh: float
    reimbursed_kwh: float
    reimbursement_eur: float
    given_kwh: float
    settled_given_kwh: float
    given_worth_eur: float

    @property
    def net_eur(self) -> float:
        """What the employer owes the driver (negative: the driver owes the employer)."""
        return self.reimbursement_eur - self.given_worth_eur

    @property
    def charged_open_kwh(self) -> float:
        return self.charged_kwh - self.reimbursed_kwh

    @property
    def given_open_kwh(self) -> float:
        return self.given_kwh - self.settled_given_kwh


def _by_rule(kind: str, rate: float | None, kwh: float, priced_kwh: float,
             per_minute_eur: float, mean: float) -> tuple[float, float]:
    """(kWh settled, EUR) for one side: `kwh` measured, `priced_kwh` and `per_minute_eur` in
    the minutes with a price, `mean` the month's average import price."""
    if kind == "fixed" and rate is not None:
        return kwh, kwh * rate
    if kind == "contract":
        return priced_kwh, per_minute_eur
    if kind == "average" and math.isfinite(mean):
        return kwh, kwh * mean
    return 0.0, 0.0  # "none", or no price known at all


def settle(s: Sums, rule: Rule, mean: float) -> Settlement:
    """The settlement of these minutes under `rule`; `mean` is the month's average import
    price (Report.mean_import_price), used by the "average" rules."""
    charged = s.charged_wh / KWH
    given = s.given_wh / KWH
    r_kwh, r_eur = _by_rule(rule.reimburse, rule.rate_eur_kwh, charged,
                            s.priced_charged_wh / KWH, s.charge_cost, mean)
    if rule.given_back == "none":
        g_kwh, g_eur = 0.0, 0.0
    else:
        g_kwh, g_eur = _by_rule(rule.given_back, rule.given_back_eur_kwh, given,
                                s.priced_given_wh / KWH, s.given_value, mean)
    return Settlement(charged, r_kwh, r_eur, given, g_kwh, g_eur)
