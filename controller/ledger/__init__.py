"""The energy ledger: per-minute energy flows in SQLite, and the monthly report."""

from ._flows import FLOWS, Flows, split
from ._reconcile import Reconciliation, reconcile
from ._report import CSV_FIELDS, NOTES, Report, build, month_bounds, text, write_csv
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

__all__ = [
    "COLUMNS", "CSV_FIELDS", "FLOWS", "NOTES", "SCHEMA_VERSION", "Flows", "Ledger",
    "LedgerError", "Reconciliation", "Report", "build", "connect", "default_path",
    "demand_history", "from_config", "lifetime_totals", "month_bounds", "path_of",
    "reconcile", "split", "state_dir", "text", "write_csv",
]
