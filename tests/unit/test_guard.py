"""The compiled core is in use whenever it should be: a silent fallback is a failure."""

from __future__ import annotations

import os

import fast


def test_compiled_core_loaded_unless_disabled():
    """Without V2H_NO_EXTENSIONS=1 the C extension must be the one running."""
    if os.environ.get("V2H_NO_EXTENSIONS") == "1":
        assert fast.NO_EXTENSIONS and not fast.COMPILED
        assert fast.core.__file__.endswith(".py")
    else:
        assert fast.COMPILED, "fast/ fell back to pure Python: build it with `make build`"
        assert not fast.core.__file__.endswith(".py")
        assert not fast.profile.__file__.endswith(".py")


def test_both_implementations_available():
    """Parity tests need both; the build makes the compiled one."""
    impls = fast.implementations()
    assert set(impls) == {"pure", "compiled"}
    assert impls["pure"].__file__.endswith("_core.py")
