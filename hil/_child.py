"""Processes the bench starts (`v2h run`, the unit's post-stop, Mosquitto) die with the
process that started them. A bench killed mid-run (a test's timeout, ^C, SIGKILL, a script
stopped by hand) otherwise leaves its controller running: it dials its old ports on
127.0.0.1 for ever, and a later bench that is given one of those ports by the kernel gets a
second writer on its charger (stops and setpoints that no check expects)."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h: the signal a child gets when its parent thread exits


def _libc_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: nothing to ask for
        return None


# resolved here, in the parent: the child between fork and exec only calls it
_PRCTL = _libc_prctl()


def die_with_parent(parent_pid: int | None = None) -> Callable[[], None]:
    """A `preexec_fn` that has the kernel SIGKILL the child when the thread that started it
    exits, however it exits; a child whose parent is already gone by then exits at once."""
    parent = os.getpid() if parent_pid is None else parent_pid

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took
            os._exit(1)

    return preexec
