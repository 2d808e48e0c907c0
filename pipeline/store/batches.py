"""Upload batches of the review app: the files an admin uploaded together and how far reading them has got."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import now

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace


@dataclass(frozen=True)
class StoredBatch:
    id: int
    created_by: str
    created_at: str
    state: str  # queued, reading, done, failed
    pages_done: int
    pages_total: int
    message: str
    form: str | None  # the stored form it is read with; None: the automatic layout


@dataclass(frozen=True)
class BatchFileRow:
    name: str
    size: int
    sha256: str
    file_status: str  # the file's status in the workspace; 'queued' until reading it starts


@dataclass(frozen=True)
class UploadedFile:
    name: str
    size: int
    sha256: str


def insert_batch(workspace: Workspace, created_by: str, files: Sequence[UploadedFile], *, form: str | None = None
                 ) -> int:
    """A queued batch of these files, read with the stored form `form` (None: automatic); its id. In the caller's
    transaction."""
    batch_id = int(workspace.db.execute("INSERT INTO review_batches (created_by, created_at, state, form)"
                                        " VALUES (?, ?, 'queued', ?) RETURNING id",
                                        (created_by, now(), form)).fetchone()[0])
    workspace.db.executemany("INSERT INTO review_batch_files (batch_id, name, sha256, size) VALUES (?, ?, ?, ?)",
                             [(batch_id, f.name, f.sha256, f.size) for f in files])
    return batch_id


def set_state(workspace: Workspace, batch_id: int, state: str, message: str) -> None:
    workspace.db.execute("UPDATE review_batches SET state = ?, message = ? WHERE id = ?", (state, message, batch_id))


def set_progress(workspace: Workspace, batch_id: int, done: int, total: int) -> None:
    workspace.db.execute("UPDATE review_batches SET pages_done = ?, pages_total = ? WHERE id = ?",
                         (done, total, batch_id))


def unfinished_batches(workspace: Workspace) -> list[int]:
    """Batches queued or being read (a restart left them so), oldest first."""
    rows = workspace.db.execute("SELECT id FROM review_batches WHERE state IN ('queued', 'reading') ORDER BY id")
    return [int(r[0]) for r in rows]


def file_names(workspace: Workspace, batch_id: int) -> list[str]:
    return [r[0] for r in workspace.db.execute("SELECT name FROM review_batch_files WHERE batch_id = ?", (batch_id,))]


def batch_form(workspace: Workspace, batch_id: int) -> str | None:
    """The stored form a batch is read with; None: the automatic layout."""
    row = workspace.db.execute("SELECT form FROM review_batches WHERE id = ?", (batch_id,)).fetchone()
    return row[0] if row else None


def all_batches(workspace: Workspace) -> list[StoredBatch]:
    """Every batch, newest first."""
    rows = workspace.db.execute("SELECT id, created_by, created_at, state, pages_done, pages_total, message, form"
                                " FROM review_batches ORDER BY id DESC").fetchall()
    return [StoredBatch(*row) for row in rows]


def batch_files(workspace: Workspace, batch_id: int) -> list[BatchFileRow]:
    """The batch's files by name, each with its status in the workspace."""
    rows = workspace.db.execute("SELECT bf.name, bf.size, bf.sha256, coalesce(fi.status, 'queued')"
                                " FROM review_batch_files bf LEFT JOIN files fi ON fi.sha256 = bf.sha256"
                                " WHERE bf.batch_id = ? ORDER BY bf.name", (batch_id,)).fetchall()
    return [BatchFileRow(*row) for row in rows]
