"""Human decisions, append-only: a field of a line (who, when, before, after) and same/different on a pair of lines.

Nothing here applies a decision: the effective_lines view (lines.py) does, for every reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import now
from pipeline.store.ids import LineId

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace

_ONE = "file_sha256 = ? AND page_no = ? AND line_no = ?"


@dataclass(frozen=True)
class Decision:
    id: int
    line: LineId
    field: str
    value: str
    previous: str


def _key(line: LineId) -> tuple[str, int, int]:
    return line.file_sha256, line.page_no, line.line_no


def append_decision(workspace: Workspace, line: LineId, field: str, value: str, *, previous: str,
                    decided_by: str) -> int:
    """Store one decision; its id."""
    return int(workspace.db.execute(
        "INSERT INTO decisions (file_sha256, page_no, line_no, field, value, previous, decided_by, decided_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (*_key(line), field, value, previous, decided_by, now())).fetchone()[0])


def latest_decision_value(workspace: Workspace, line: LineId, field: str) -> str | None:
    """The latest decided value of a field of the line, or None."""
    row = workspace.db.execute(f"SELECT value FROM decisions WHERE {_ONE} AND field = ? ORDER BY id DESC LIMIT 1",
                               (*_key(line), field)).fetchone()
    return None if row is None else str(row[0])


def latest_decision_id(workspace: Workspace, line: LineId, field: str) -> int | None:
    row = workspace.db.execute(f"SELECT max(id) FROM decisions WHERE {_ONE} AND field = ?",
                               (*_key(line), field)).fetchone()
    return None if row[0] is None else int(row[0])


def decisions_by_id(workspace: Workspace, ids: Sequence[int]) -> list[Decision]:
    """The decisions with these ids, in the order given (ids that do not exist are left out)."""
    found = []
    for decision_id in ids:
        row = workspace.db.execute("SELECT id, file_sha256, page_no, line_no, field, value, previous FROM decisions"
                                   " WHERE id = ?", (decision_id,)).fetchone()
        if row is not None:
            found.append(Decision(row[0], LineId(row[1], row[2], row[3]), row[4], row[5], row[6]))
    return found


def last_decision_id(workspace: Workspace) -> int:
    """The newest decision's id (0 when none): ids only grow, so it stamps "every decision so far"."""
    return int(workspace.db.execute("SELECT coalesce(max(id), 0) FROM decisions").fetchone()[0])


def lines_decided_between(workspace: Workspace, first: int, second: int, *,
                          fields: Iterable[str] | None = None) -> set[LineId]:
    """Lines with a decision whose id is after the lower of the two ids and up to the higher (on these fields)."""
    low, high = sorted((first, second))
    wanted = tuple(fields) if fields is not None else ()
    only = f" AND field IN ({', '.join('?' * len(wanted))})" if wanted else ""
    rows = workspace.db.execute(f"SELECT DISTINCT file_sha256, page_no, line_no FROM decisions WHERE id > ? AND id <= ?"
                                f"{only}", (low, high, *wanted))
    return {LineId(*row) for row in rows}


def append_duplicate_decision(workspace: Workspace, a: str, b: str, *, same: bool, decided_by: str) -> None:
    """Same or different people on two occurrences (line ids), stored in their sorted order."""
    first, second = sorted((a, b))
    workspace.db.execute("INSERT INTO duplicate_decisions (occurrence_a, occurrence_b, same, decided_by, decided_at)"
                         " VALUES (?, ?, ?, ?, ?)", (first, second, int(same), decided_by, now()))


def duplicate_verdicts(workspace: Workspace) -> dict[frozenset[str], bool]:
    """The latest verdict per pair of occurrences."""
    rows = workspace.db.execute("SELECT occurrence_a, occurrence_b, same FROM duplicate_decisions ORDER BY id")
    return {frozenset((r[0], r[1])): bool(r[2]) for r in rows}


def last_duplicate_decision_id(workspace: Workspace) -> int:
    return int(workspace.db.execute("SELECT coalesce(max(id), 0) FROM duplicate_decisions").fetchone()[0])
