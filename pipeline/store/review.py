"""The review queue's reads: the worst free line for a volunteer, and which lines are still open.

A line is open while the machine asked for a person and no person has confirmed it: the effective_lines view's
needs_review, so the queue, status and exports agree on what is left to review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.store.ids import LineId

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace

_REASONS = ("(CASE e.review_reasons WHEN '' THEN 0"
            " ELSE length(e.review_reasons) - length(replace(e.review_reasons, ';', '')) + 1 END)")
# Free for this user: nobody holds a live lease on it, and this user did not skip it.
_FREE = """NOT EXISTS (SELECT 1 FROM review_leases r WHERE r.item = e.line_id AND r.expires_at > :now)
    AND NOT EXISTS (SELECT 1 FROM review_actions s WHERE s.item = e.line_id AND s.kind = 'skip'
                    AND s.user_name = :user)"""
# Worst first: the least sure name, then the most reasons. SQLite walks review_queue_order (needs_review,
# name_confidence) and stops at the first free open line.
_WORST_FREE = f"""SELECT e.file_sha256, e.page_no, e.line_no FROM effective_lines e WHERE e.needs_review AND {_FREE}
    ORDER BY e.name_confidence, {_REASONS} DESC, e.file_sha256, e.page_no, e.line_no LIMIT 1"""
_ONE = "e.file_sha256 = :sha AND e.page_no = :page AND e.line_no = :line"


def _where(line: LineId) -> dict[str, object]:
    return {"sha": line.file_sha256, "page": line.page_no, "line": line.line_no}


def worst_free_line(workspace: Workspace, user: str, *, now: float) -> LineId | None:
    """The open line to offer this user next, or None when nothing is left for them."""
    row = workspace.db.execute(_WORST_FREE, {"now": now, "user": user}).fetchone()
    return LineId(*row) if row else None


def is_open(workspace: Workspace, line: LineId) -> bool:
    row = workspace.db.execute(f"SELECT e.needs_review FROM effective_lines e WHERE {_ONE}", _where(line)).fetchone()
    return bool(row and row[0])


def is_claimable(workspace: Workspace, line: LineId, user: str, *, now: float) -> bool:
    """Open, and free for this user."""
    row = workspace.db.execute(f"SELECT 1 FROM effective_lines e WHERE {_ONE} AND e.needs_review AND {_FREE}",
                               {**_where(line), "now": now, "user": user}).fetchone()
    return row is not None


def open_lines(workspace: Workspace) -> set[LineId]:
    rows = workspace.db.execute("SELECT file_sha256, page_no, line_no FROM effective_lines WHERE needs_review")
    return {LineId(*row) for row in rows}


def count_needing_review(workspace: Workspace) -> int:
    """Lines the machine asked a person about, confirmed since or not."""
    return int(workspace.db.execute("SELECT count(*) FROM lines WHERE needs_review = 1").fetchone()[0])
