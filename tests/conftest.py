"""Shared fixtures: both implementations of the core, a seeded random source, and the TLS
tests' certificates."""

from __future__ import annotations

import os
import random
from pathlib import Path
from types import ModuleType

import pytest

import fast
from tests.pki import make_pki

IMPLS = ("pure", "compiled")


@pytest.fixture(params=IMPLS)
def core(request: pytest.FixtureRequest) -> ModuleType:
    """The control core, once pure and once compiled (a missing build is an error)."""
    impls = fast.implementations()
    if request.param not in impls:
        raise RuntimeError("the compiled core is not built: run `make build`")
    return impls[request.param]


@pytest.fixture
def rnd(request: pytest.FixtureRequest) -> random.Random:
    """A seeded Random; the seed is printed on failure (set V2H_SEED to replay one)."""
    seed = int(os.environ.get("V2H_SEED", random.randrange(2**32)))
    print(f"random seed: V2H_SEED={seed}")
    return random.Random(seed)


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's default place is the test's own directory, never the user's state."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))


@pytest.fixture
def pki(tmp_path) -> Path:
    """A CA, a server certificate for 127.0.0.1, a client of that CA and a stranger of
    another (tests/pki.py), for the TLS tests."""
    d = tmp_path / "pki"
    d.mkdir()
    return make_pki(d)
