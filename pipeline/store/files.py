"""Files and pages as the machine read them: a file once per content, its pages, and the lines each page holds."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import now
from scanner.types import PageResult

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace

Crops = tuple[str, str, str]  # crop ids of a line: the whole line, its name, its signature ('' when not kept)


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    name: str
    page_count: int
    status: str


@dataclass(frozen=True)
class StoredPage:
    page_no: int
    status: str
    message: str


def get_file(workspace: Workspace, sha256: str) -> StoredFile | None:
    row = workspace.db.execute("SELECT sha256, name, page_count, status FROM files WHERE sha256 = ?",
                               (sha256,)).fetchone()
    return StoredFile(row["sha256"], row["name"], row["page_count"], row["status"]) if row else None


def add_file(workspace: Workspace, *, sha256: str, name: str, size: int, kind: str, page_count: int, status: str,
             message: str) -> None:
    """The file once (by content); a renamed copy only adds the name it was seen under. In the caller's transaction."""
    workspace.db.execute(
        "INSERT INTO files (sha256, name, size, kind, page_count, status, message, added_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        (sha256, name, size, kind, page_count, status, message, now()))
    workspace.db.execute("INSERT OR IGNORE INTO file_names (sha256, name, seen_at) VALUES (?, ?, ?)",
                         (sha256, name, now()))


def set_file_status(workspace: Workspace, sha256: str, status: str, message: str) -> None:
    workspace.db.execute("UPDATE files SET status = ?, message = ? WHERE sha256 = ?", (status, message, sha256))


def file_status_counts(workspace: Workspace) -> dict[str, int]:
    """Files per status, in the order the statuses first occur."""
    return dict(Counter(r[0] for r in workspace.db.execute("SELECT status FROM files")))


def pages_read_by(workspace: Workspace, sha256: str, version: str) -> set[int]:
    rows = workspace.db.execute("SELECT page_no FROM pages WHERE file_sha256 = ? AND pipeline_version = ?",
                                (sha256, version))
    return {int(r[0]) for r in rows}


def page_statuses(workspace: Workspace, sha256: str) -> list[str]:
    return [r[0] for r in workspace.db.execute("SELECT status FROM pages WHERE file_sha256 = ?", (sha256,))]


def pages_of(workspace: Workspace, sha256: str) -> list[StoredPage]:
    rows = workspace.db.execute("SELECT page_no, status, message FROM pages WHERE file_sha256 = ? ORDER BY page_no",
                                (sha256,))
    return [StoredPage(r[0], r[1], r[2]) for r in rows]


def page_status_counts(workspace: Workspace) -> dict[str, int]:
    """Pages per status, in the order the statuses first occur."""
    return dict(Counter(r[0] for r in workspace.db.execute("SELECT status FROM pages")))


def save_page(workspace: Workspace, file_sha256: str, result: PageResult, crops: Sequence[Crops], *,
              version: str) -> None:
    """The page's row (replacing an older reading of it) and its lines; in the caller's transaction."""
    page_id = workspace.db.execute(
        "INSERT INTO pages (file_sha256, page_no, page_sha256, status, message, pipeline_version, seconds,"
        " orientation, skew_deg, read_at, registration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (file_sha256, page_no) DO UPDATE SET page_sha256 = excluded.page_sha256,"
        " status = excluded.status, message = excluded.message, pipeline_version = excluded.pipeline_version,"
        " seconds = excluded.seconds, orientation = excluded.orientation, skew_deg = excluded.skew_deg,"
        " read_at = excluded.read_at, registration = excluded.registration RETURNING id",
        (file_sha256, result.ref.page, result.sha256, result.status.value, result.message, version,
         result.seconds, result.orientation, result.skew_deg, now(), result.registration)).fetchone()[0]
    workspace.db.execute("DELETE FROM lines WHERE page_id = ?", (page_id,))
    workspace.db.executemany(
        "INSERT INTO lines (page_id, line_no, status, name, name_confidence, needs_review, review_reasons,"
        " fields, line_crop, name_crop, signature_crop) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(page_id, line.line, line.status.value, line.name.text, line.name.confidence, int(line.needs_review),
          ";".join(r.value for r in line.review_reasons),
          json.dumps({role.value: read.text for role, read in line.fields.items()}, sort_keys=True), *crop)
         for line, crop in zip(result.lines, crops)])
