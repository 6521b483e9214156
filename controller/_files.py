"""Files only the v2h user may read: the ledger and the price cache are created 0600, and
one found with wider rights (written by an older v2h, or under a looser umask) is narrowed
when it is opened. Per file, with os.open's mode and chmod: the process's umask is shared by
every thread, so it is not changed around a creation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE = 0o600


def narrow(path: str | os.PathLike[str]) -> None:
    """Make an existing file 0600 if group or others have any right on it; absent: nothing."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700 | PRIVATE)


def create_private(path: str | os.PathLike[str]) -> None:
    """Create `path` empty with mode 0600 unless it exists; either way it ends 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, PRIVATE)
    os.close(fd)
    narrow(path)


def open_private(path: str | os.PathLike[str]) -> int:
    """A new, truncated file `path` for writing, mode 0600 (an old one's mode is narrowed);
    its descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE)
    os.fchmod(fd, PRIVATE)
    return fd


def sidecars(path: Path) -> tuple[Path, ...]:
    """A SQLite database and the files it keeps beside it in WAL mode."""
    return (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
