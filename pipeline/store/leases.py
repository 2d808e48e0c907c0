"""Review leases (who holds an item, until when) and the append-only log of what volunteers did.

An item is a line's id (LineId text) or a pair of them; the policy (how long, how many, who may submit) is the
review app's (pipeline/review/leases.py). Writes here run in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace


@dataclass(frozen=True)
class Lease:
    item: str
    holder: str
    expires_at: float


@dataclass(frozen=True)
class LoggedVerdict:
    """A volunteer's line verdict in the log: its action id, its item and the decisions it stored."""

    id: int
    item: str
    decision_ids: tuple[int, ...]


def held_items(workspace: Workspace, user: str, *, now: float, prefix: str) -> list[str]:
    """Items starting with `prefix` that this user holds a live lease on, oldest first."""
    rows = workspace.db.execute(
        "SELECT item FROM review_leases WHERE holder = ? AND expires_at > ? AND item LIKE ? ORDER BY claimed_at, item",
        (user, now, prefix + "%"))
    return [r[0] for r in rows]


def lease_of(workspace: Workspace, item: str) -> Lease | None:
    """The item's lease, live or expired, or None."""
    row = workspace.db.execute("SELECT item, holder, expires_at FROM review_leases WHERE item = ?", (item,)).fetchone()
    return Lease(row[0], row[1], row[2]) if row else None


def take_lease(workspace: Workspace, item: str, user: str, *, now: float, until: float) -> None:
    """Lease the item to this user, whoever held it before (the caller checked that nobody holds it live)."""
    workspace.db.execute(
        "INSERT INTO review_leases (item, holder, claimed_at, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (item) DO UPDATE SET holder = excluded.holder, claimed_at = excluded.claimed_at,"
        " expires_at = excluded.expires_at", (item, user, now, until))


def renew_leases(workspace: Workspace, user: str, *, now: float, until: float) -> int:
    """Extend every live lease of this user; expired ones stay expired. How many were extended."""
    return workspace.db.execute("UPDATE review_leases SET expires_at = ? WHERE holder = ? AND expires_at > ?",
                                (until, user, now)).rowcount


def extend_if_held(workspace: Workspace, item: str, user: str, *, now: float, until: float) -> bool:
    """Check that this user holds a live lease on the item and extend it, in one statement."""
    row = workspace.db.execute("UPDATE review_leases SET expires_at = ? WHERE item = ? AND holder = ?"
                               " AND expires_at > ? RETURNING item", (until, item, user, now)).fetchone()
    return row is not None


def release_lease(workspace: Workspace, item: str, user: str) -> None:
    workspace.db.execute("DELETE FROM review_leases WHERE item = ? AND holder = ?", (item, user))


def log_action(workspace: Workspace, item: str, user: str, kind: str, *, at: float, day: str, detail: str = "",
               decision_ids: Sequence[int] = (), undoes: int | None = None) -> None:
    """Append one action (decide, skip, undo, duplicate) to the log."""
    workspace.db.execute("INSERT INTO review_actions (item, user_name, kind, detail, decision_ids, undoes, at, day)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (item, user, kind, detail, json.dumps(list(decision_ids)), undoes, at, day))


def last_undoable_verdict(workspace: Workspace, user: str) -> LoggedVerdict | None:
    """This user's latest line verdict that no undo has undone yet."""
    row = workspace.db.execute(
        "SELECT a.id, a.item, a.decision_ids FROM review_actions a WHERE a.user_name = ? AND a.kind = 'decide'"
        " AND NOT EXISTS (SELECT 1 FROM review_actions u WHERE u.undoes = a.id) ORDER BY a.id DESC LIMIT 1",
        (user,)).fetchone()
    return LoggedVerdict(int(row[0]), row[1], tuple(json.loads(row[2]))) if row else None


def verdicts_on(workspace: Workspace, user: str, day: str) -> int:
    """This user's verdicts (line or pair) on that day, less their undos."""
    return int(workspace.db.execute(
        "SELECT coalesce(sum(CASE kind WHEN 'undo' THEN -1 ELSE 1 END), 0) FROM review_actions"
        " WHERE user_name = ? AND day = ? AND kind IN ('decide', 'undo', 'duplicate')", (user, day)).fetchone()[0])
