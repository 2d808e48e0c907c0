"""Named forms: which forms the workspace keeps (their files are in its forms/ folder), who stored each and when,
and which upload batches name each one."""

from __future__ import annotations

from collections.abc import Iterable
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


def save_form(workspace: Workspace, name: str, created_by: str, sha256: str, *, created_at: str | None = None
              ) -> None:
    """Record a form under its name; saving a name again replaces it (an edited form). `created_at`: when an
    earlier version kept under a new name was first stored (default: now). In the caller's transaction."""
    workspace.db.execute("INSERT INTO forms (name, created_by, created_at, sha256) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (name) DO UPDATE SET created_by = excluded.created_by,"
                         " created_at = excluded.created_at, sha256 = excluded.sha256",
                         (name, created_by, created_at or now(), sha256))


def all_forms(workspace: Workspace) -> list[StoredForm]:
    """Every stored form, by name."""
    rows = workspace.db.execute("SELECT name, created_by, created_at, sha256 FROM forms ORDER BY name").fetchall()
    return [StoredForm(*row) for row in rows]


def stored_form(workspace: Workspace, name: str) -> StoredForm | None:
    """The row of one stored form; None when there is no form by that name (not an error: callers ask first)."""
    row = workspace.db.execute("SELECT name, created_by, created_at, sha256 FROM forms WHERE name = ?",
                               (name,)).fetchone()
    return StoredForm(*row) if row else None


def form_names(workspace: Workspace) -> list[str]:
    return [r[0] for r in workspace.db.execute("SELECT name FROM forms ORDER BY name")]


def delete_form(workspace: Workspace, name: str) -> None:
    """Forget a stored form (the caller checked no batch names it). In the caller's transaction."""
    workspace.db.execute("DELETE FROM forms WHERE name = ?", (name,))


def rename_form(workspace: Workspace, old: str, new: str) -> None:
    """The form `old` is now called `new`, and so is it in every batch that names it (the same file: a batch's
    record stays true). In the caller's transaction."""
    workspace.db.execute("UPDATE forms SET name = ? WHERE name = ?", (new, old))
    workspace.db.execute("UPDATE review_batches SET form = ? WHERE form = ?", (new, old))


def point_batches(workspace: Workspace, old: str, new: str, *, states: Iterable[str]) -> list[int]:
    """Batches in one of `states` that name `old` name `new` instead (the same file kept under a new name);
    their ids. In the caller's transaction."""
    wanted = tuple(states)
    marks = ", ".join("?" for _ in wanted)
    rows = workspace.db.execute(f"UPDATE review_batches SET form = ? WHERE form = ? AND state IN ({marks})"
                                " RETURNING id", (new, old, *wanted)).fetchall()
    return sorted(int(r[0]) for r in rows)


def batches_by_form(workspace: Workspace) -> dict[str, list[int]]:
    """The upload batches that name each form (read with it, being read, or queued to be), oldest first."""
    out: dict[str, list[int]] = {}
    for form, batch_id in workspace.db.execute("SELECT form, id FROM review_batches WHERE form IS NOT NULL"
                                               " ORDER BY id"):
        out.setdefault(form, []).append(int(batch_id))
    return out
