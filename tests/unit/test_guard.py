"""The compiled core is in use whenever it should be: a silent fallback is a failure."""

from __future__ import annotations

import os

import fast


def test_compiled_core_loaded_unless_disabled():
    """Without V2H_NO_EXTENSIONS=1 the C extension must be the one running."""
    if os.environ.get("V2H_NO_EXTENSIONS") == "1":
        assert fast.NO_EXTENSIONS and not fast.COMPILED
        assert all(m.__file__.endswith(".py") for m in fast.core.MODULES)
    else:
        assert fast.COMPILED, "fast/ fell back to pure Python: build it with `make build`"
        assert not any(m.__file__.endswith(".py") for m in fast.core.MODULES)
        assert not fast.profile.__file__.endswith(".py")
        assert not fast.battery.__file__.endswith(".py")


def test_both_implementations_available():
    """Parity tests need both; the build makes the compiled one."""
    impls = fast.implementations()
    assert set(impls) == {"pure", "compiled"}
    assert [m.__file__.rsplit("/", 1)[1] for m in impls["pure"].MODULES] == [
        f"{name}.py" for name in fast.CORE_MODULES]


def test_stub_matches_the_compiled_core():
    """fast/__init__.pyi lists every name `fast` exports and exactly the public attributes
    and methods of each compiled class, so mypy sees the core as it is."""
    import ast
    from pathlib import Path


    compiled = fast.implementations().get("compiled")
    if compiled is None:  # as the `core` fixture: a missing build is an error, not a skip
        raise RuntimeError("the compiled core is not built: run `make build`")
    tree = ast.parse((Path(fast.__file__).parent / "__init__.pyi").read_text())
    top: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            top.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            top.add(node.name)
        if not isinstance(node, ast.ClassDef):
            continue
        listed = {b.target.id for b in node.body
                  if isinstance(b, ast.AnnAssign) and isinstance(b.target, ast.Name)}
        listed |= {b.name for b in node.body
                   if isinstance(b, ast.FunctionDef) and not b.name.startswith("_")}
        public = {a for a in dir(getattr(compiled, node.name)) if not a.startswith("_")}
        assert listed == public, node.name
    assert top == set(fast.__all__)
