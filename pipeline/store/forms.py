"""Named forms: which forms the workspace keeps (their files are in its forms/ folder), who stored each and when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import now

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace


@dataclass(frozen=True)
class StoredForm:
    name: str
    created_by: str
    created_at: str
    sha256: str  # of the form file's text as stored


def save_form(workspace: Workspace, name: str, created_by: str, sha256: str) -> None:
    """Record a form under its name; saving a name again replaces it (an edited form). In the caller's transaction."""
    workspace.db.execute("INSERT INTO forms (name, created_by, created_at, sha256) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (name) DO UPDATE SET created_by = excluded.created_by,"
                         " created_at = excluded.created_at, sha256 = excluded.sha256",
                         (name, created_by, now(), sha256))


def all_forms(workspace: Workspace) -> list[StoredForm]:
    """Every stored form, by name."""
    rows = workspace.db.execute("SELECT name, created_by, created_at, sha256 FROM forms ORDER BY name").fetchall()
    return [StoredForm(*row) for row in rows]


def form_names(workspace: Workspace) -> list[str]:
    return [r[0] for r in workspace.db.execute("SELECT name FROM forms ORDER BY name")]
