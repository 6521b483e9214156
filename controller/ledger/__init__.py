"""The energy ledger: per-minute energy flows in SQLite, and the monthly report."""

from ._flows import FLOWS, Flows, split
from ._reconcile import Reconciliation, reconcile
from ._report import Report, Sums, build, month_bounds
from ._settle import Rule, Settlement, settle
from ._statement import statement
from ._store import (
    COLUMNS,
    SCHEMA_VERSION,
    Ledger,
    LedgerError,
    connect,
    default_path,
    demand_history,
    from_config,
    lifetime_totals,
    path_of,
    state_dir,
)
from ._text import CSV_FIELDS, NOTES, counters_text, text, write_csv

__all__ = [
    "COLUMNS", "CSV_FIELDS", "FLOWS", "NOTES", "SCHEMA_VERSION", "Flows", "Ledger",
    "LedgerError", "Reconciliation", "Report", "Rule", "Settlement", "Sums", "build", "connect",
    "counters_text", "default_path", "demand_history", "from_config", "lifetime_totals",
    "month_bounds", "path_of", "reconcile", "settle", "split", "state_dir", "statement", "text",
    "write_csv",
]
