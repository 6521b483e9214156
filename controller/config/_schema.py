"""The config file's sections: one Struct each, units in the field names, bounds as Meta."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ._base import Base

Port = Annotated[int, Meta(ge=1, le=65535)]
UnitId = Annotated[int, Meta(ge=0, le=255)]
Watts = Annotated[float, Meta(ge=0.0, le=100_000.0)]
Pct = Annotated[float, Meta(ge=0.0, le=100.0)]
Seconds = Annotated[float, Meta(gt=0.0, le=86_400.0)]
Amps = Annotated[float, Meta(gt=0.0, le=1_000.0)]


class Site(Base, frozen=True):
    """The home: an id for MQTT topics and logs, its phases and nominal voltage (V)."""

    id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "home"
    phases: Literal[1, 3] = 3
    nominal_v: Annotated[float, Meta(ge=100.0, le=300.0)] = 230.0
    timezone: str = "Europe/Amsterdam"  # IANA name: departures, the ledger's days


class Meter(Base, frozen=True):
    """The grid meter: which driver, and where it answers."""

    driver: Literal["sdm630", "em24", "p1"] = "sdm630"
    host: str = "127.0.0.1"
    port: Port = 502
    unit_id: UnitId = 1
    serial_port: str | None = None  # Modbus RTU (SDM630) or the P1 port, instead of TCP
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    timeout_s: Annotated[float, Meta(gt=0.0, le=5.0)] = 0.3


class Charger(Base, frozen=True):
    """The bidirectional charger: driver, address, the phases it is on, its watchdog (s).
    `plug` (EVtec) and `connector` (Ambibox) pick the outlet of a charger with several;
    each is refused for a driver that has none (the driver's default is 1).

    OCPP 2.1 (`ocpp21`): v2h is the station's CSMS and listens on host:port; `watchdog_s`
    is how long each charging profile is valid (the dead-man the station enforces). The
    station's identity `station_id` (any one station when unset) and EVSE `evse_id`; the
    security profile: 2 TLS (`cert_file`, `key_file`: v2h's) with the station's `password`,
    3 TLS with client certificates signed by `ca_file`, 0 plain (loopback only; the
    default there). These keys are refused for the other drivers."""

    driver: Literal["quasar", "evtec", "ambibox", "sigenergy", "sunspec",
                    "ocpp21"] = "quasar"
    host: str = "127.0.0.1"
    port: Port = 502
    unit_id: UnitId = 1
    plug: Annotated[int, Meta(ge=1, le=8)] | None = None
    connector: Annotated[int, Meta(ge=1, le=10)] | None = None
    phases: Literal[1, 3] = 1
    phase: Literal[1, 2, 3] = 1
    watchdog_s: Annotated[int, Meta(ge=2, le=600)] = 10
    timeout_s: Annotated[float, Meta(gt=0.0, le=5.0)] = 0.3
    station_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9._:-]{1,48}$")] | None = None
    evse_id: Annotated[int, Meta(ge=1, le=99)] | None = None
    security_profile: Literal[0, 2, 3] | None = None
    password: Annotated[str, Meta(min_length=16, max_length=40)] | None = None
    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None


class Car(Base, frozen=True):
    """The car: usable battery (kWh) and charge/discharge efficiency of the path (0..1)."""

    capacity_kwh: Annotated[float, Meta(gt=0.0, le=300.0)] = 60.0
    efficiency: Annotated[float, Meta(gt=0.5, le=1.0)] = 0.93


class Limits(Base, frozen=True):
    """Safety and hardware limits; the fixed key paths (firmware_notes/design.md "Command
    line") live here."""

    fuse_a: Amps = 25.0
    fuse_margin_a: Annotated[float, Meta(ge=0.0, le=20.0)] = 1.0
    reserve_soc: Pct = 30.0
    max_soc: Pct = 90.0
    soc_hyst: Annotated[float, Meta(ge=0.0, le=20.0)] = 2.0
    max_charge_w: Watts = 7400.0
    max_discharge_w: Watts = 7400.0
    min_power_w: Watts = 150.0
    min_power_hyst_w: Watts = 50.0
    ramp_w_s: Annotated[float, Meta(gt=0.0, le=100_000.0)] = 5000.0


class Control(Base, frozen=True):
    """Loop timing, tracking gains and the supervisor's thresholds."""

    period_s: Annotated[float, Meta(ge=0.2, le=10.0)] = 1.0
    kp: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.0
    kd: Annotated[float, Meta(ge=0.0, le=1.5)] = 1.0
    # the model the step traces the charger back to the meter's sample with: starting
    # values, replaced by what the loop identifies (`identify`) once it has seen enough
    meter_lag_s: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.25
    charger_tau_s: Annotated[float, Meta(gt=0.05, le=10.0)] = 0.7  # its first-order response
    charger_dead_s: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.0
    # how far one write's dead time may stray from the model's either side (s): a charger
    # moving on a write is traced back with the dead time its reading says, within this
    charger_jitter_s: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.3
    identify: bool = True
    # true: the model above was measured (`v2h probe` prints this line with its figures) and
    # the step traces back with it from the first cycle; false: a starting guess, and until
    # the first fit the step only trusts what the charger's readings bracket
    model_measured: bool = False
    ki: Annotated[float, Meta(ge=0.0, le=5.0)] = 0.1
    deadband_w: Annotated[float, Meta(ge=0.0, le=500.0)] = 10.0
    integ_band_w: Annotated[float, Meta(ge=0.0, le=5_000.0)] = 150.0
    integ_max_w: Annotated[float, Meta(ge=0.0, le=5_000.0)] = 500.0
    meter_stale_s: Seconds = 2.5
    meter_frozen_s: Seconds = 1.5
    charger_lost_s: Seconds = 5.0
    grid_undervoltage_v: Annotated[float, Meta(ge=0.0, le=300.0)] = 195.5
    grid_overvoltage_v: Annotated[float, Meta(ge=0.0, le=400.0)] = 253.0
    grid_freq_min_hz: Annotated[float, Meta(ge=40.0, le=70.0)] = 47.5
    grid_freq_max_hz: Annotated[float, Meta(ge=40.0, le=70.0)] = 51.5
    grid_loss_stop_s: Annotated[float, Meta(gt=0.0, le=5.0)] = 0.5
    grid_reconnect_s: Annotated[float, Meta(ge=0.0, le=3_600.0)] = 60.0
    grid_startup_s: Annotated[float, Meta(ge=0.0, le=3_600.0)] = 5.0
    # the charger's word checked (firmware_notes/live-controller.md): beyond its command on
    # the unsafe side this long, or ignoring a >= 1 kW command this long -> FAULT, held for
    # charger_fault_hold_s after the last sign of it
    charger_disobey_s: Annotated[float, Meta(ge=1.0, le=60.0)] = 3.0
    charger_ignore_s: Annotated[float, Meta(ge=5.0, le=3_600.0)] = 60.0
    charger_fault_hold_s: Annotated[float, Meta(ge=0.0, le=3_600.0)] = 60.0
    # an unreadable SoC (0 while idle) is carried from the last reading until this share of
    # the battery (%) has moved since; then it is unknown and nothing is discharged
    soc_hold_pct: Annotated[float, Meta(ge=0.0, le=20.0)] = 2.0


class Mqtt(Base, frozen=True):
    """The broker for telemetry and owner commands (never in the safety path)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 1883
    topic_prefix: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_/-]{1,64}$")] = "v2h"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    discovery: bool = True
    # owner commands only over a session the broker authenticated (username and password, or
    # a client certificate); true takes them anonymously too (warned at start)
    allow_anonymous_commands: bool = False


class Ledger(Base, frozen=True):
    """The energy ledger (SQLite, one row a minute; firmware_notes/ledger.md). An empty path
    means $STATE_DIRECTORY/ledger.db (systemd), else ~/.local/state/v2h/ledger.db. The
    report's days and months are local days in `site.timezone`."""

    enabled: bool = True
    path: str = ""


TimeOfDay = Annotated[str, Meta(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]


class Plan(Base, frozen=True):
    """What the controller aims for: a standing grid target, and the price plan (when
    `by_price` and prices are at hand) with the car's daily departure and the battery's wear.
    Times of day are local (`site.timezone`); energies in kWh, prices in EUR/kWh."""

    grid_target_w: Annotated[float, Meta(ge=-10_000.0, le=10_000.0)] = 0.0
    allow_discharge: bool = True
    by_price: bool = False
    horizon_h: Annotated[int, Meta(ge=1, le=48)] = 48
    replan_s: Annotated[float, Meta(ge=60.0, le=3_600.0)] = 900.0
    wear_eur_kwh: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.04
    departure: TimeOfDay | None = None
    departure_soc: Pct = 80.0
    return_at: TimeOfDay | None = None
    trip_kwh: Annotated[float, Meta(ge=0.0, le=300.0)] = 0.0
    weekdays: list[Annotated[int, Meta(ge=0, le=6)]] = msgspec.field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])  # Monday = 0
    default_demand_w: Annotated[float, Meta(ge=-100_000.0, le=100_000.0)] = 400.0
    # the residual the loop cannot remove placed where it costs least (regulation.md)
    place_residual: bool = False


Rate = Annotated[float, Meta(ge=0.0, le=5.0)]  # EUR/kWh: a rate on a contract is never < 0
# Dutch meters count T2 (normal) on working days 07-23 and T1 (low) at night and weekends
NORMAL_HOURS = ["mon-fri 07-23"]
LOW_HOURS = ["mon-fri 00-07,23-24", "sat-sun 00-24"]


class Tariff(Base, frozen=True):
    """The energy contract: what one kWh costs and earns, EUR per kWh excl. VAT unless named.
    `contract` picks how the supply price is set (firmware_notes/ledger.md, "Contracts"):
    "dynamic" the day-ahead market ([prices]) + supplier_margin; "fixed" rate_eur_kwh;
    "double" normal_eur_kwh / low_eur_kwh by local weekday and hour; "variable" a rate per
    month from monthly_file. Then, for every contract:
    import = (supply + energy_tax) * (1 + vat_pct / 100);
    export = (market, dynamic only) + feed_in_fee - feed_in_cost, or the import price while
    net metering is in force (net_metering, until net_metering_until, local date).
    The feed-in fee and cost are entered as the supplier pays and bills them to a household
    (a household is no VAT payer for what it feeds in; see firmware_notes/prices.md)."""

    contract: Literal["dynamic", "fixed", "double", "variable"] = "dynamic"
    rate_eur_kwh: Rate | None = None      # fixed: the supply rate
    normal_eur_kwh: Rate | None = None    # double: T2, the normal rate
    low_eur_kwh: Rate | None = None       # double: T1, the low rate
    # double: "DAYS HH-HH[,HH-HH]" in local time, days mon..sun ("mon-fri", "sat,sun"),
    # hours 00..24 within the day; every hour of the week in exactly one of the two lists
    normal_hours: list[str] = msgspec.field(default_factory=lambda: list(NORMAL_HOURS))
    low_hours: list[str] = msgspec.field(default_factory=lambda: list(LOW_HOURS))
    monthly_file: str | None = None       # variable: CSV `month,rate_eur_kwh` (YYYY-MM)
    energy_tax_eur_kwh: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.10154
    vat_pct: Annotated[float, Meta(ge=0.0, le=50.0)] = 21.0
    supplier_margin_eur_kwh: Annotated[float, Meta(ge=-1.0, le=1.0)] = 0.028  # dynamic only
    feed_in_fee_eur_kwh: Annotated[float, Meta(ge=-1.0, le=1.0)] = 0.0
    feed_in_cost_eur_kwh: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    net_metering: bool = False  # the Dutch rule: export earns the import price...
    net_metering_until: date | None = date(2027, 1, 1)  # ...until this local date (None: on)


class PriceConfig(Base, frozen=True):
    """Where day-ahead market prices come from, how often (s), and when they are too old."""

    source: Literal["none", "energyzero", "easyenergy", "entsoe", "mqtt", "file"] = "none"
    entsoe_token: str | None = None
    entsoe_area: Annotated[str, Meta(pattern=r"^[0-9A-Z-]{16}$")] = "10YNL----------L"
    mqtt_topic: Annotated[str, Meta(pattern=r"^[^#+]{1,128}$")] | None = None
    file: str | None = None
    cache_dir: str = "/var/lib/v2h"
    refresh_s: Annotated[float, Meta(ge=10.0, le=86_400.0)] = 3600.0
    timeout_s: Annotated[float, Meta(gt=0.0, le=300.0)] = 30.0
    stale_after_s: Annotated[float, Meta(ge=60.0, le=7 * 86_400.0)] = 129_600.0


class Lease(Base, frozen=True):
    """A lease car's settlement with the employer (firmware_notes/ledger.md, "Settlement"):
    how charging at home is reimbursed ("fixed" rate_eur_kwh, "contract" the import price of
    each minute, "average" the month's mean import price) and how energy given back by the car
    is settled ("none", "fixed" given_back_eur_kwh, "contract" what it was worth to the
    household each minute, "average"); the car and the parties for the statement."""

    car: Annotated[str, Meta(max_length=80)] = ""
    plate: Annotated[str, Meta(max_length=20)] = ""
    driver: Annotated[str, Meta(max_length=80)] = ""
    employer: Annotated[str, Meta(max_length=80)] = ""
    reimburse: Literal["fixed", "contract", "average"] = "contract"
    rate_eur_kwh: Rate | None = None
    given_back: Literal["none", "fixed", "contract", "average"] = "contract"
    given_back_eur_kwh: Rate | None = None


class Config(Base, frozen=True):
    """The whole file: every section optional, defaults filled in; [lease] only when set."""

    site: Site = msgspec.field(default_factory=Site)
    meter: Meter = msgspec.field(default_factory=Meter)
    charger: Charger = msgspec.field(default_factory=Charger)
    car: Car = msgspec.field(default_factory=Car)
    limits: Limits = msgspec.field(default_factory=Limits)
    control: Control = msgspec.field(default_factory=Control)
    mqtt: Mqtt = msgspec.field(default_factory=Mqtt)
    ledger: Ledger = msgspec.field(default_factory=Ledger)
    plan: Plan = msgspec.field(default_factory=Plan)
    tariff: Tariff = msgspec.field(default_factory=Tariff)
    prices: PriceConfig = msgspec.field(default_factory=PriceConfig)
    lease: Lease | None = None


SECTIONS: dict[str, type[Base]] = {
    "site": Site, "meter": Meter, "charger": Charger, "car": Car, "limits": Limits,
    "control": Control, "mqtt": Mqtt, "ledger": Ledger, "plan": Plan,
    "tariff": Tariff, "prices": PriceConfig, "lease": Lease,
}
