"""`v2h assess`: does V2H suit this home, a home battery, or neither (issue #15)."""

from ._errors import AssessError

__all__ = ["AssessError"]
