"""What the store's modules share: its error, its clock, and the fields a person may decide."""

from __future__ import annotations

import datetime as dt

# The effective_lines view (migrations.py) has one column per field: a new one needs a migration too.
DECIDABLE_FIELDS = frozenset({"status", "name", "address", "zip", "date", "email", "ward", "reviewed"})


class WorkspaceError(Exception):
    """The workspace cannot be used as asked (newer schema, not a workspace, ...)."""


def now() -> str:
    """The time stored with rows written by people or the pipeline (UTC, ISO 8601, to the second)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
