"""Read the TOML config into Structs; every problem names file, line and key path."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from ._contract import contract_checks, lease_checks
from ._schema import SECTIONS, Charger, Config

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_TOML_LINE = re.compile(r"\(at line (?P<line>\d+), column \d+\)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: where (file, line, key path) and what."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class ConfigError(ValueError):
    """The config did not validate; `problems` lists each error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _parse_value(text: str) -> Any:
    """A --set value is read as a TOML value (number, bool, string, array); bare words are
    strings, so `--set site.id=garage` works without quotes."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _get(raw: dict[str, Any], path: list[str]) -> bool:
    node: Any = raw
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def find_line(text: str, path: str) -> int:
    """The line of `text` where key `path` (dotted) is defined, found by letting tomllib read
    ever longer prefixes of the file (TOML's own parser, no second one); 0 when absent."""
    parts = [p for p in re.split(r"\.|\[\d+\]", path) if p]
    lines = text.splitlines(keepends=True)
    for n in range(1, len(lines) + 1):
        try:
            if _get(tomllib.loads("".join(lines[:n])), parts):
                return n
        except tomllib.TOMLDecodeError:
            continue
    return 0


def _set(raw: dict[str, Any], path: str, value: Any) -> str | None:
    node = raw
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            return f"{part} is not a table"
        node = nxt
    node[parts[-1]] = value
    return None


def _convert_section(name: str, data: Any) -> tuple[Any, list[tuple[str, str]]]:
    """Convert one section, collecting every error: a bad key is reported and dropped, then
    the rest is tried again, so one run names all problems of the section."""
    errors: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        return None, [(name, f"expected a table, got {type(data).__name__}")]
    data = dict(data)
    for _ in range(len(data) + 2):
        try:
            return msgspec.convert(data, SECTIONS[name]), errors
        except msgspec.ValidationError as exc:
            m = _AT.match(str(exc))
            msg = m.group("msg") if m else str(exc)
            rel = (m.group("path") or "") if m else ""
            unknown = _UNKNOWN.match(msg)
            if unknown:
                key = unknown.group("field")
                errors.append((f"{name}{rel}.{key}", "unknown key"))
            else:
                key = rel.lstrip(".").split(".")[0].split("[")[0]
                errors.append((f"{name}{rel}", msg))
            if key not in data:
                break
            del data[key]
    return None, errors


CHARGER_LOST_MAX_S = 60.0  # the charger runs on its last setpoint while we wait: not longer
UNDERVOLTAGE_MIN_V = 100.0  # below this no grid is healthy; 0 switches the check off


def _cross_checks(cfg: Config) -> list[tuple[str, str]]:
    """Checks between keys, as (key path, message): limits, the grid's bands, timing, the
    rest."""
    return [*_limit_checks(cfg), *_grid_checks(cfg), *_timing_checks(cfg), *_other_checks(cfg),
            *contract_checks(cfg), *lease_checks(cfg),
            *_charger_checks(cfg)]


# the outlet keys and the one driver each belongs to
OUTLET_KEYS = {"plug": "evtec", "connector": "ambibox"}
# OCPP's keys: the ocpp21 driver's alone
OCPP_KEYS = ("station_id", "evse_id", "security_profile", "password", "cert_file", "key_file",
             "ca_file")
# what each OCPP security profile needs (OCPP 2.1 part 2, block A): 0 plain, on loopback only
OCPP_NEEDS = {2: ("password", "cert_file", "key_file"), 3: ("cert_file", "key_file", "ca_file")}
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _ocpp_checks(ch: Charger) -> list[tuple[str, str]]:
    """The ocpp21 driver's keys: the security profile's needs, its files there."""
    if ch.driver != "ocpp21":
        return [(f"charger.{k}", f"only the ocpp21 driver has {k}")
                for k in OCPP_KEYS if getattr(ch, k) is not None]
    prof = ch.security_profile or 0
    if prof == 0 and ch.host not in LOOPBACK:
        return [("charger.host", f"{ch.host} is no loopback address: a plain websocket "
                 "(security_profile 0) only there; else 2 (TLS + password) or 3 (client "
                 "certificates)")]
    out = [("charger.security_profile", f"{prof} needs charger.{k}")
           for k in OCPP_NEEDS.get(prof, ()) if getattr(ch, k) is None]
    if ch.password is not None and prof != 2:
        out.append(("charger.password", f"a password is security profile 2's, not {prof}'s"))
    out += [(f"charger.{k}", f"no such file: {getattr(ch, k)}")
            for k in ("cert_file", "key_file", "ca_file")
            if getattr(ch, k) is not None and not Path(getattr(ch, k)).is_file()]
    return out


def _charger_checks(cfg: Config) -> list[tuple[str, str]]:
    """The charger section against what its driver declares (its Capabilities): the
    watchdog it takes, the phases it comes in, its smallest power; and the outlet keys."""
    from controller.devices import CHARGER_CAPS  # devices import config: not at load time

    ch, lim = cfg.charger, cfg.limits
    out = []
    for key, driver in OUTLET_KEYS.items():
        if getattr(ch, key) is not None and ch.driver != driver:
            out.append((f"charger.{key}", f"the {ch.driver} driver has no {key} (only "
                        f"{driver} has)"))
    out += _ocpp_checks(ch)
    caps = CHARGER_CAPS.get(ch.driver)
    if caps is None:
        return out
    if caps.has_watchdog and ch.watchdog_s > caps.watchdog_max_s:
        out.append(("charger.watchdog_s", f"the {ch.driver} charger takes at most "
                    f"{caps.watchdog_max_s} s ({ch.watchdog_s:g})"))
    if ch.phases not in caps.phases:
        out.append(("charger.phases", f"the {ch.driver} charger comes in "
                    f"{' or '.join(map(str, caps.phases))} phase(s), not {ch.phases}"))
    need = caps.min_power_w + lim.min_power_hyst_w
    if caps.min_power_w > 0.0 and need > min(lim.max_charge_w, lim.max_discharge_w) > 0.0:
        out.append(("limits.min_power_w", f"the {ch.driver} charger regulates no less than "
                    f"{caps.min_power_w:g} W: with min_power_hyst_w the smallest power is "
                    f"{need:g} W, above max_charge_w or max_discharge_w"))
    return out


def _below(key: str, value: float, above_key: str, above: float, why: str = ""
           ) -> list[tuple[str, str]]:
    """The check that one key's value lies below another's: [] when it does, else the
    finding on `key` (with `why`, what would go wrong, after the figures)."""
    if value >= above:
        return [(key, f"must be below {above_key} ({value:g} >= {above:g}){why}")]
    return []


def _limit_checks(cfg: Config) -> list[tuple[str, str]]:
    lim = cfg.limits
    out = []
    if soc := _below("limits.reserve_soc", lim.reserve_soc, "limits.max_soc", lim.max_soc):
        out += soc
    elif lim.reserve_soc + lim.soc_hyst >= lim.max_soc:
        out.append(("limits.soc_hyst",
                    f"reserve_soc + soc_hyst must be below max_soc ({lim.reserve_soc:g} + "
                    f"{lim.soc_hyst:g} >= {lim.max_soc:g})"))
    out += _below("limits.fuse_margin_a", lim.fuse_margin_a, "limits.fuse_a", lim.fuse_a,
                  ": nothing would be left for the charger")
    if lim.min_power_w > min(lim.max_charge_w, lim.max_discharge_w) and \
            min(lim.max_charge_w, lim.max_discharge_w) > 0:
        out.append(("limits.min_power_w", "must not exceed max_charge_w or max_discharge_w"))
    return out


def _grid_checks(cfg: Config) -> list[tuple[str, str]]:
    ctl = cfg.control
    out = _below("control.grid_freq_min_hz", ctl.grid_freq_min_hz,
                 "control.grid_freq_max_hz", ctl.grid_freq_max_hz)
    under, over, nominal = ctl.grid_undervoltage_v, ctl.grid_overvoltage_v, cfg.site.nominal_v
    if 0.0 < under < UNDERVOLTAGE_MIN_V:
        out.append(("control.grid_undervoltage_v",
                    f"must be at least {UNDERVOLTAGE_MIN_V:g} V, or 0 to switch the check off "
                    f"({under:g})"))
    elif bad := (_below("control.grid_undervoltage_v", under, "control.grid_overvoltage_v", over)
                 or _below("control.grid_undervoltage_v", under, "site.nominal_v", nominal)):
        out += bad
    elif nominal >= over:
        out.append(("control.grid_overvoltage_v",
                    f"must be above site.nominal_v ({over:g} <= {nominal:g})"))
    return out


def _timing_checks(cfg: Config) -> list[tuple[str, str]]:
    ctl, ch = cfg.control, cfg.charger
    out = []
    if ctl.meter_stale_s < ctl.period_s:
        out.append(("control.meter_stale_s",
                    f"must be at least control.period_s ({ctl.meter_stale_s:g} < "
                    f"{ctl.period_s:g}): every reading would be stale"))
    if ctl.charger_lost_s > CHARGER_LOST_MAX_S:
        out.append(("control.charger_lost_s",
                    f"must be at most {CHARGER_LOST_MAX_S:g} s ({ctl.charger_lost_s:g}): the "
                    "charger runs on its last setpoint until then"))
    # the charger's own watchdog is the second layer: it must not fire before v2h has seen
    # the loss (charger_lost_s, checked once a period), and one late cycle must not trip it
    need = max(2.0 * ctl.period_s, ctl.charger_lost_s + ctl.period_s)
    if ch.watchdog_s < need:
        out.append(("charger.watchdog_s",
                    f"must be at least max(2 x control.period_s, control.charger_lost_s + "
                    f"control.period_s) = {need:g} s ({ch.watchdog_s:g}): else the charger "
                    "stops itself before v2h notices the loss"))
    return out


def _other_checks(cfg: Config) -> list[tuple[str, str]]:
    out = []
    if cfg.site.phases == 1 and (cfg.charger.phases == 3 or cfg.charger.phase != 1):
        out.append(("charger.phases", "a single-phase site has only phase 1"))
    needs = {"entsoe": "entsoe_token", "mqtt": "mqtt_topic", "file": "file"}.get(cfg.prices.source)
    if needs and not getattr(cfg.prices, needs):
        out.append(("prices.source", f"{cfg.prices.source!r} needs prices.{needs}"))
    try:
        ZoneInfo(cfg.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        out.append(("site.timezone", f"unknown time zone {cfg.site.timezone!r}"))
    if cfg.plan.departure_soc > cfg.limits.max_soc:
        out.append(("plan.departure_soc",
                    f"must not pass limits.max_soc ({cfg.plan.departure_soc:g} > "
                    f"{cfg.limits.max_soc:g})"))
    return out


def loads(text: str, name: str = "<config>", overrides: tuple[str, ...] = ()) -> Config:
    """Decode config text (TOML) with `key.path=value` overrides; raises ConfigError."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        raise ConfigError([Problem(name, int(m.group("line")) if m else 0, "(toml)",
                                   _TOML_LINE.sub("", str(exc)).strip())]) from None
    problems: list[Problem] = []
    origin: dict[str, tuple[str, int]] = {}
    for i, item in enumerate(overrides, start=1):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            problems.append(Problem("--set", i, key or item, "expected key.path=value"))
            continue
        err = _set(raw, key, _parse_value(value.strip()))
        if err:
            problems.append(Problem("--set", i, key, err))
        origin[key] = ("--set", i)

    def where(path: str) -> tuple[str, int]:
        for key, place in origin.items():
            if path == key or path.startswith(key + "."):
                return place
        # a key left at its default has no line: its section's (or its table's) instead
        parts = path.split(".")
        lines = (find_line(text, ".".join(parts[:n])) for n in range(len(parts), 0, -1))
        return name, next((n for n in lines if n), 0)

    sections: dict[str, Any] = {}
    for sec, data in raw.items():
        if sec not in SECTIONS:
            problems.append(Problem(*where(sec), sec, "unknown section"))
            continue
        value, errors = _convert_section(sec, data)
        for path, msg in errors:
            problems.append(Problem(*where(path), path, msg))
        if value is not None:
            sections[sec] = value
    cfg = Config(**sections)
    bad = {p.path for p in problems}
    for path, msg in _cross_checks(cfg):
        if path not in bad:
            problems.append(Problem(*where(path), path, msg))
    if problems:
        raise ConfigError(problems)
    return cfg


def load(path: str | Path, overrides: tuple[str, ...] = ()) -> Config:
    """Decode a config file; raises ConfigError (and OSError when it cannot be read)."""
    p = Path(path)
    return loads(p.read_text(encoding="utf-8"), str(p), overrides)


def defaults(overrides: tuple[str, ...] = ()) -> Config:
    """The built-in defaults, with overrides checked as a file would be."""
    return loads("", "<defaults>", overrides)
