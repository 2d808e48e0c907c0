"""Lines as people and exports see them: rows of the effective_lines view (migration 6), where the latest human
decision on a field beats the machine's reading of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import DECIDABLE_FIELDS
from pipeline.store.ids import LineId

if TYPE_CHECKING:
    import sqlite3

    from pipeline.store.workspace import Workspace

_COLUMNS = ("file_sha256, page_no, line_no, file, status, name, name_confidence, review_reasons, address, zip, date,"
            " email, ward, reviewed, human_confirmed, needs_review, line_crop, name_crop, signature_crop")
_ONE = "file_sha256 = ? AND page_no = ? AND line_no = ?"
# Lines change only when a page is read (again). Its lines are replaced, and the last page's new rows can get the
# old ids back, so the pages' read times are part of the stamp too. One aggregate per subquery: SQLite answers each
# from an index (pages_by_read_at), where "count(*) || max(id)" in one would read the whole table.
_STAMP = ("SELECT (SELECT count(*) FROM lines) || ':' || (SELECT coalesce(max(id), 0) FROM lines) || '|' ||"
          " (SELECT coalesce(max(read_at), '') FROM pages)")


@dataclass(frozen=True)
class EffectiveLine:
    """One stored line: each decidable field the latest human value if any, else the machine's."""

    id: LineId
    file: str  # the name the file was first added under
    status: str
    name: str
    name_confidence: float  # the machine's, for its own reading
    review_reasons: tuple[str, ...]  # the machine's
    address: str
    zip: str
    date: str
    email: str
    ward: str
    reviewed: str  # "yes" once a person confirmed the line in the queue, "" again after an undo
    human_confirmed: bool
    needs_review: bool  # the machine asked for a person and none has confirmed the line yet
    line_crop: str
    name_crop: str
    signature_crop: str


def _line(row: sqlite3.Row) -> EffectiveLine:
    return EffectiveLine(
        LineId(row["file_sha256"], row["page_no"], row["line_no"]), row["file"], row["status"], row["name"],
        float(row["name_confidence"]), tuple(r for r in row["review_reasons"].split(";") if r), row["address"],
        row["zip"], row["date"], row["email"], row["ward"], row["reviewed"], bool(row["human_confirmed"]),
        bool(row["needs_review"]), row["line_crop"], row["name_crop"], row["signature_crop"])


def all_lines(workspace: Workspace) -> list[EffectiveLine]:
    """Every stored line, by file name, then file, page and line."""
    rows = workspace.db.execute(f"SELECT {_COLUMNS} FROM effective_lines ORDER BY file, file_sha256, page_no, line_no")
    return [_line(row) for row in rows]


def get_line(workspace: Workspace, line: LineId) -> EffectiveLine | None:
    """The line, or None when no stored page holds it."""
    row = workspace.db.execute(f"SELECT {_COLUMNS} FROM effective_lines WHERE {_ONE}",
                               (line.file_sha256, line.page_no, line.line_no)).fetchone()
    return _line(row) if row else None


def effective_value(workspace: Workspace, line: LineId, field: str) -> str | None:
    """One field of the line (only that column is computed); None when no stored page holds the line."""
    if field not in DECIDABLE_FIELDS:  # a column name in the SQL below: only the view's own
        raise ValueError(f"'{field}' is not a field a reviewer can decide")
    row = workspace.db.execute(f"SELECT {field} FROM effective_lines WHERE {_ONE}",
                               (line.file_sha256, line.page_no, line.line_no)).fetchone()
    return None if row is None else str(row[0])


def lines_stamp(workspace: Workspace) -> str:
    """Changes whenever any page's lines are stored again (caches of whole-workspace work compare it)."""
    return str(workspace.db.execute(_STAMP).fetchone()[0])
