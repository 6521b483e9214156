"""The owner's settings: mode, reserve, discharge power and departure, as set over MQTT. They
narrow the config's limits, never widen them; they survive a restart in `owner.json` in
v2h's state directory, and every stored value is judged again against the config in force
when it is read back (a config made stricter since wins)."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from controller.config import Config
from controller.ledger import state_dir

log = logging.getLogger("v2h.owner")

MODES = ("auto", "self-consumption", "charge-now", "hold", "discharge-allowed")
Mode = Literal["auto", "self-consumption", "charge-now", "hold", "discharge-allowed"]
Pct = Annotated[float, Meta(ge=0.0, le=100.0)]
Watts = Annotated[float, Meta(ge=0.0, le=100_000.0)]
# HH:MM (local), "24:00" for the next midnight, "" for "the config's departure"
DEPARTURE_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)?$"
Departure = Annotated[str, Meta(pattern=DEPARTURE_PATTERN)]
FIELDS = ("mode", "reserve_soc", "max_discharge_w", "departure", "departure_soc")
TYPES: dict[str, Any] = {"mode": Mode, "reserve_soc": Pct, "max_discharge_w": Watts,
                         "departure": Departure, "departure_soc": Pct}
FILE_VERSION = 1
MAX_FILE = 64 * 1024  # bytes; the file holds five values


def bounds(cfg: Config) -> dict[str, tuple[float, float]]:
    """(lowest, highest) value the owner may set for each number (%, W), from the config:
    what Home Assistant's number entities offer is exactly what apply() takes."""
    lim = cfg.limits
    return {
        # the reserve: at least the configured one, and its hysteresis band below max_soc
        "reserve_soc": (lim.reserve_soc, lim.max_soc - lim.soc_hyst),
        "max_discharge_w": (0.0, lim.max_discharge_w),
        "departure_soc": (0.0, lim.max_soc),  # charging stops at max_soc
    }


def default_path() -> Path:
    """Where the settings live: `owner.json` beside the ledger's default place
    ($STATE_DIRECTORY under systemd, else ~/.local/state/v2h)."""
    return state_dir() / "owner.json"


class OwnerSettings:
    """The owner's settings in force (%, W, HH:MM local). Unset values are the config's;
    `chosen` names the ones the owner set, the only ones saved."""

    def __init__(self, cfg: Config) -> None:
        self.mode = "auto"
        self.reserve_soc = cfg.limits.reserve_soc
        self.max_discharge_w = cfg.limits.max_discharge_w
        self.departure: str | None = cfg.plan.departure
        self.departure_soc = cfg.plan.departure_soc
        self.chosen: set[str] = set()
        self._writer: ThreadPoolExecutor | None = None

    def apply(self, cmd: Any, cfg: Config) -> str | None:
        """One command (a controller.mqtt command Struct): None when taken, else the reason
        it is refused. Narrows the config, never widens it."""
        name = type(cmd).__struct_config__.tag
        if name == "charge_now":
            name, value = "mode", "charge-now"
        else:
            value = cmd.value
        return self.set(name, value, cfg)

    def set(self, name: str, value: Any, cfg: Config) -> str | None:
        """Set one value already of its type: None when taken, else the reason."""
        lo_hi = bounds(cfg).get(name)
        if lo_hi is not None:
            lo, hi = lo_hi
            if value < lo:
                if name == "reserve_soc":
                    return f"below the configured reserve ({lo:g} %)"
                return f"below {lo:g}"
            if value > hi:
                if name == "reserve_soc":
                    return (f"reserve + hysteresis must stay below max_soc "
                            f"({cfg.limits.max_soc:g} %): at most {hi:g} %")
                if name == "max_discharge_w":
                    return f"above the configured maximum ({hi:g} W)"
                return f"above max_soc ({hi:g} %)"
        if name == "departure" and value == "":
            self.departure = cfg.plan.departure  # cleared: the config's departure again
            self.chosen.discard(name)
            return None
        setattr(self, name, value)
        self.chosen.add(name)
        return None

    # -- the file ---------------------------------------------------------------------------
    def to_json(self) -> bytes:
        """The chosen values as the file holds them."""
        return msgspec.json.encode({"version": FILE_VERSION,
                                    **{n: getattr(self, n) for n in FIELDS if n in self.chosen}})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the chosen values atomically (temporary file, fsync, rename; mode 0600)."""
        _write_atomic(Path(path), self.to_json())

    def save_soon(self, path: str | os.PathLike[str]) -> Future[None]:
        """save() in a writer thread, in order: an fsync never holds up the control loop.
        A failed write is logged (the settings stay in force until the next start)."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="v2h.owner.save")
        return self._writer.submit(_write_logged, Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str], cfg: Config) -> OwnerSettings:
        """The settings saved at `path`, each judged against `cfg` as a command would be. A
        value the config no longer allows is dropped (one warning for all); a missing file
        is the defaults; an unreadable or corrupt one is a warning and the defaults."""
        owner = cls(cfg)
        p = Path(path)
        try:
            with p.open("rb") as f:
                data = f.read(MAX_FILE + 1)
        except FileNotFoundError:
            return owner
        except OSError as exc:
            log.warning("owner: cannot read %s (%s); the config's settings apply", p, exc)
            return owner
        try:
            if len(data) > MAX_FILE:
                raise ValueError("larger than 64 kB")
            stored = msgspec.json.decode(data)
            if not isinstance(stored, dict) or stored.get("version") != FILE_VERSION:
                raise ValueError("not a v2h owner file of version 1")
        except (msgspec.DecodeError, ValueError) as exc:
            log.warning("owner: %s is corrupt (%s); the config's settings apply", p, exc)
            return owner
        dropped = []
        for name in FIELDS:
            if name not in stored:
                continue
            try:
                value = msgspec.convert(stored[name], TYPES[name])
            except msgspec.ValidationError as exc:
                dropped.append(f"{name}={stored[name]!r} ({exc})")
                continue
            reason = owner.set(name, value, cfg)
            if reason:
                dropped.append(f"{name}={value!r} ({reason})")
        if dropped:
            log.warning("owner: settings from %s dropped, the config no longer allows them: "
                        "%s", p, "; ".join(dropped))
        if owner.chosen:
            log.info("owner: settings restored from %s: %s", p, ", ".join(
                f"{n}={getattr(owner, n)}" for n in FIELDS if n in owner.chosen))
        return owner


def _write_atomic(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # the rename itself on disk: fsync the directory (where the OS allows it)
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _write_logged(path: Path, body: bytes) -> None:
    try:
        _write_atomic(path, body)
    except OSError as exc:
        log.error("owner: cannot save the settings to %s (%s); they hold until a restart",
                  path, exc)
