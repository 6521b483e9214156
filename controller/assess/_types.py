"""Array types of the assessment (numpy's, for mypy)."""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray

Arr = NDArray[Any]  # a numpy array: per-second or per-slot figures (W, Wh, %)
