"""Sources by config name, and which heavy modules each one loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controller.config import defaults
from controller.prices import SOURCES, build_source


class TestRegistry:
    def test_source_none_is_no_source(self):
        """source = "none" builds nothing: the plan stays self-consumption."""
        assert build_source(defaults()) is None

    @pytest.mark.parametrize("name, extra", [
        ("energyzero", ()), ("easyenergy", ()), ("entsoe", ("prices.entsoe_token=t",)),
        ("mqtt", ("prices.mqtt_topic=a/b",)), ("file", ("prices.file=/tmp/p.csv",)),
    ])
    def test_source_built_by_name(self, name, extra):
        """Every name of the config's Literal has a builder, and the source carries it."""
        src = build_source(defaults((f"prices.source={name}", *extra)))
        assert src is not None and src.name == name and callable(src.fetch)
        assert set(SOURCES) == {"energyzero", "easyenergy", "entsoe", "mqtt", "file"}

    def test_source_heavy_modules_load_only_when_used(self):
        """Importing the package and building the file source loads neither aiohttp nor
        pandas (a fresh interpreter, so other tests' imports do not count)."""
        code = ("import sys; from controller.config import defaults; "
                "from controller.prices import build_source; "
                "build_source(defaults(('prices.source=file', 'prices.file=/x.csv'))); "
                "print(sorted(m for m in ('aiohttp', 'pandas', 'entsoe', 'energyzero') "
                "if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        assert out.strip() == "[]"
