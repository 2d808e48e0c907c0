"""The workspace store: the campaign's SQLite database (workspace.py) and its numbered migrations (migrations.py)."""

from pipeline.store.migrations import MIGRATIONS, SCHEMA_VERSION
from pipeline.store.workspace import (CROPS, DATABASE, DECIDABLE_FIELDS, StoredFile, Workspace, WorkspaceError, now,
                                      occurrence_id)

__all__ = ["CROPS", "DATABASE", "DECIDABLE_FIELDS", "MIGRATIONS", "SCHEMA_VERSION", "StoredFile", "Workspace",
           "WorkspaceError", "now", "occurrence_id"]
