"""What the planner works on: 15-minute slots of prices, expected net demand and car
presence, and the car's limits. Powers in W, energies in Wh, prices in EUR/kWh, time in UTC s."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SLOT_S = 900


@dataclass(frozen=True)
class Car:
    """The car and charger as the planner sees them (Wh, W, 0..1)."""

    capacity_wh: float
    soc0_wh: float                 # now
    reserve_wh: float              # no discharge below
    max_wh: float                  # no charge above
    efficiency: float = 0.93       # one way, AC <-> battery
    max_charge_w: float = 7400.0
    max_discharge_w: float = 7400.0
    min_power_w: float = 150.0


@dataclass(frozen=True)
class Target:
    """A departure: at the end of slot `slot`, at least `soc_wh` in the battery."""

    slot: int
    soc_wh: float


@dataclass
class Problem:
    """One planning problem over len(import_eur_kwh) slots of slot_s seconds.

    `net_w` is the expected house demand without the car (load - PV, W; negative = surplus),
    `present` whether the car is home, `trip_wh` the energy the car uses on a trip and brings
    home missing, charged to the slot it comes back in. `charge_cap_w` is what the fuse leaves
    for charging in each slot (W). `wear_eur_kwh` is the cost of one kWh through the battery."""

    start_utc: float
    import_eur_kwh: list[float]
    export_eur_kwh: list[float]
    net_w: list[float]
    present: list[bool]
    car: Car
    trip_wh: list[float] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    charge_cap_w: list[float] = field(default_factory=list)
    wear_eur_kwh: float = 0.0
    terminal_eur_kwh: float | None = None   # value of a battery kWh left at the end
    slot_s: int = SLOT_S
    shortfall_eur_kwh: float = 10.0         # a departure target missed (only when unreachable)

    def __post_init__(self) -> None:
        n = len(self.import_eur_kwh)
        for name in ("export_eur_kwh", "net_w", "present"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"plan: {name} has {len(getattr(self, name))} slots, not {n}")
        if not self.trip_wh:
            self.trip_wh = [0.0] * n
        if not self.charge_cap_w:
            self.charge_cap_w = [self.car.max_charge_w] * n
        for name in ("import_eur_kwh", "export_eur_kwh", "net_w", "trip_wh", "charge_cap_w"):
            if not all(math.isfinite(x) for x in getattr(self, name)):
                raise ValueError(f"plan: {name} holds a non-finite value")
        for tg in self.targets:
            if not 0 <= tg.slot < n:
                raise ValueError(f"plan: departure slot {tg.slot} outside 0..{n - 1}")

    @property
    def n(self) -> int:
        return len(self.import_eur_kwh)

    @property
    def dt_h(self) -> float:
        return self.slot_s / 3600.0

    def terminal(self) -> float:
        """EUR per battery kWh left at the horizon's end: what it would displace later, taken
        as the median import price through the discharge losses, less the wear to use it."""
        if self.terminal_eur_kwh is not None:
            return self.terminal_eur_kwh
        p = sorted(self.import_eur_kwh)
        med = p[len(p) // 2] if p else 0.0
        return max(0.0, self.car.efficiency * med - self.wear_eur_kwh)

    def floor_wh(self) -> list[float]:
        """Lowest battery energy allowed at the end of each slot: the reserve, or less where
        trips alone take the car below it (charging is never forced to undo a trip)."""
        out, s = [], self.car.soc0_wh
        for t in range(self.n):
            s -= self.trip_wh[t]
            out.append(min(self.car.reserve_wh, max(s, 0.0)))
        return out

    def discharge_cap_w(self, t: int) -> float:
        """V2H: the car covers the house, never exports (W)."""
        if not self.present[t]:
            return 0.0
        return min(self.car.max_discharge_w, max(0.0, self.net_w[t]))

    def charge_limit_w(self, t: int) -> float:
        return min(self.car.max_charge_w, max(0.0, self.charge_cap_w[t])) \
            if self.present[t] else 0.0


@dataclass
class Flows:
    """Per-slot powers (W, slot means) and the battery energy at each slot's end (Wh)."""

    charge_w: list[float]
    discharge_w: list[float]
    import_w: list[float]
    export_w: list[float]
    soc_wh: list[float]
    shortfall_wh: list[float] = field(default_factory=list)


def cost_eur(p: Problem, f: Flows, with_terminal: bool = True) -> float:
    """The objective: grid cost - export revenue + wear (+ missed targets - value left)."""
    dt, eta = p.dt_h, p.car.efficiency
    tot = 0.0
    for t in range(p.n):
        tot += dt / 1000.0 * (p.import_eur_kwh[t] * f.import_w[t]
                              - p.export_eur_kwh[t] * f.export_w[t]
                              + p.wear_eur_kwh * (eta * f.charge_w[t] + f.discharge_w[t] / eta))
    tot += p.shortfall_eur_kwh * sum(f.shortfall_wh) / 1000.0
    if with_terminal and p.n:
        tot -= p.terminal() * f.soc_wh[-1] / 1000.0
    return tot


def bill_eur(p: Problem, f: Flows) -> float:
    """What the household pays the supplier over the horizon (EUR)."""
    return sum(p.dt_h / 1000.0 * (p.import_eur_kwh[t] * f.import_w[t]
                                  - p.export_eur_kwh[t] * f.export_w[t]) for t in range(p.n))
