"""The one msgspec base for every config and scenario Struct."""

import msgspec


class Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Shared options: unknown keys are errors (a typo must not be silently ignored), and a
    decoded config never changes under the loop (frozen). msgspec applies `kw_only` to the
    fields of the class that sets it only, so subclasses list required fields first. Each
    subclass says `frozen=True` again although msgspec inherits it: type checkers read
    `dataclass_transform` (PEP 681), which does not (msgspec issue #657)."""
