"""The review queue: worst lines first, possible duplicates, and leases so two volunteers never get one item.

A lease is a row (item, holder, expires_at). Claiming happens inside BEGIN IMMEDIATE, so two claims can never
pick the same item (Label Studio's task locks handed one task to two users, #795, and stuck forever, #4190:
ours expire, are renewed by a heartbeat while the page is open, and only the live holder may submit).
Human decisions go through Workspace.record_decision (append-only); what a volunteer did (decide, skip,
undo, duplicate verdict) is logged append-only in review_actions so undo and "mine today" need no guessing.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.review.schema import REVIEW_MIGRATION
from pipeline.store import Workspace, occurrence_id

LEASE_SECONDS = 600.0
STATUSES = ("signed", "name_only", "signature_only", "blank", "struck", "uncertain")
SKIP_REASONS = ("crop unreadable", "needs a second opinion", "other")
MAX_HELD = 2  # the item on screen and the prefetched next one

# Append this to store.MIGRATIONS when the review app ships: IF NOT EXISTS keeps it compatible with
# workspaces whose tables were already made by ensure_review_schema.



def ensure_review_schema(workspace: Workspace) -> None:
    """Create the review tables if missing (idempotent; runs at app start and before user commands)."""
    workspace.db.executescript(f"BEGIN IMMEDIATE; {REVIEW_MIGRATION}; COMMIT;")


class LeaseLost(Exception):
    """The item is not (or no longer) leased to this user: someone else may hold it now."""


class NothingToUndo(Exception):
    """No decision of this user can be undone (none yet, or changed since by someone else)."""


@dataclass(frozen=True)
class LineKey:
    file_sha256: str
    page_no: int
    line_no: int

    @property
    def item(self) -> str:
        return f"line:{self.file_sha256}:{self.page_no}:{self.line_no}"

    @classmethod
    def parse(cls, item: str) -> LineKey:
        kind, sha, page, line = item.split(":")
        if kind != "line" or len(sha) != 64 or not page.isdigit() or not line.isdigit():
            raise ValueError("not a line item")
        return cls(sha, int(page), int(line))


@dataclass(frozen=True)
class LineItem:
    """One line to review, as shown: effective values (a reopened line shows what undo restored)."""

    key: LineKey
    file: str
    status: str
    name: str
    confidence: float
    reasons: tuple[str, ...]
    line_crop: str
    name_crop: str
    signature_crop: str

    def as_json(self) -> dict:
        def url(crop: str) -> str:
            return f"/crop/{crop}" if crop else ""

        return {"item": self.key.item, "kind": "line", "file": self.file, "page": self.key.page_no,
                "line": self.key.line_no, "status": self.status, "name": self.name,
                "confidence": round(self.confidence, 3), "reasons": list(self.reasons),
                "crops": {"line": url(self.line_crop), "name": url(self.name_crop),
                          "signature": url(self.signature_crop)}}


@dataclass(frozen=True)
class Progress:
    done: int
    left: int
    mine_today: int

    def as_json(self) -> dict:
        return {"done": self.done, "left": self.left, "mine_today": self.mine_today}


def today(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).date().isoformat()


# The queue: a line needs review, and either nobody decided it yet or its last action was an undo.
_LINE_ITEM = "('line:' || p.file_sha256 || ':' || p.page_no || ':' || l.line_no)"
_OPEN = f"""l.needs_review = 1 AND (
    NOT EXISTS (SELECT 1 FROM decisions d WHERE d.file_sha256 = p.file_sha256 AND d.page_no = p.page_no
                AND d.line_no = l.line_no)
    OR (SELECT a.kind FROM review_actions a WHERE a.item = {_LINE_ITEM} AND a.kind IN ('decide', 'undo')
        ORDER BY a.id DESC LIMIT 1) = 'undo')"""
_REASONS = "(CASE l.review_reasons WHEN '' THEN 0 ELSE length(l.review_reasons) - length(replace(l.review_reasons, ';', '')) + 1 END)"
_CANDIDATE = f"""SELECT p.file_sha256, p.page_no, l.line_no FROM lines l JOIN pages p ON p.id = l.page_id
    WHERE {_OPEN}
      AND NOT EXISTS (SELECT 1 FROM review_leases r WHERE r.item = {_LINE_ITEM} AND r.expires_at > :now)
      AND NOT EXISTS (SELECT 1 FROM review_actions s WHERE s.item = {_LINE_ITEM} AND s.kind = 'skip'
                      AND s.user_name = :user)
    ORDER BY l.name_confidence, {_REASONS} DESC, p.file_sha256, p.page_no, l.line_no LIMIT 1"""


def held_items(workspace: Workspace, user: str, *, now: float, prefix: str) -> list[str]:
    """Items this user holds a live lease on, oldest first."""
    rows = workspace.db.execute(
        "SELECT item FROM review_leases WHERE holder = ? AND expires_at > ? AND item LIKE ? ORDER BY claimed_at, item",
        (user, now, prefix + "%"))
    return [r[0] for r in rows]


def next_line(workspace: Workspace, user: str, *, now: float, after: str = "",
              lease_seconds: float = LEASE_SECONDS) -> LineItem | None:
    """The line to show this user: one they already hold (other than `after`), else a newly claimed one."""
    with workspace.transaction() as db:
        held = [i for i in held_items(workspace, user, now=now, prefix="line:") if i != after and _still_open(db, i)]
        if held:
            item = held[0]
        else:
            row = db.execute(_CANDIDATE, {"now": now, "user": user}).fetchone()
            if row is None:
                return None
            item = LineKey(row[0], row[1], row[2]).item
            _lease(db, item, user, now=now, lease_seconds=lease_seconds)
    return load_line(workspace, LineKey.parse(item))


def _still_open(db, item: str) -> bool:
    key = LineKey.parse(item)
    row = db.execute(f"SELECT 1 FROM lines l JOIN pages p ON p.id = l.page_id WHERE p.file_sha256 = ? AND p.page_no = ?"
                     f" AND l.line_no = ? AND {_OPEN}", (key.file_sha256, key.page_no, key.line_no)).fetchone()
    return row is not None


def _lease(db, item: str, user: str, *, now: float, lease_seconds: float) -> None:
    """Take the lease; called inside BEGIN IMMEDIATE after checking that nobody else holds it live."""
    db.execute("INSERT INTO review_leases (item, holder, claimed_at, expires_at) VALUES (?, ?, ?, ?)"
               " ON CONFLICT (item) DO UPDATE SET holder = excluded.holder, claimed_at = excluded.claimed_at,"
               " expires_at = excluded.expires_at", (item, user, now, now + lease_seconds))


def load_line(workspace: Workspace, key: LineKey) -> LineItem | None:
    row = workspace.db.execute(
        "SELECT f.name AS file, l.status, l.name, l.name_confidence, l.review_reasons, l.line_crop, l.name_crop,"
        " l.signature_crop FROM lines l JOIN pages p ON p.id = l.page_id JOIN files f ON f.sha256 = p.file_sha256"
        " WHERE p.file_sha256 = ? AND p.page_no = ? AND l.line_no = ?",
        (key.file_sha256, key.page_no, key.line_no)).fetchone()
    if row is None:
        return None
    human = {r[0]: r[1] for r in workspace.db.execute(
        "SELECT field, value FROM decisions WHERE file_sha256 = ? AND page_no = ? AND line_no = ? ORDER BY id",
        (key.file_sha256, key.page_no, key.line_no))}
    reasons = tuple(r for r in row["review_reasons"].split(";") if r)
    return LineItem(key, row["file"], human.get("status", row["status"]), human.get("name", row["name"]),
                    float(row["name_confidence"]), reasons, row["line_crop"], row["name_crop"], row["signature_crop"])


def renew(workspace: Workspace, user: str, *, now: float, lease_seconds: float = LEASE_SECONDS) -> int:
    """Heartbeat: extend every live lease of this user; an expired one is not revived (others may have it)."""
    with workspace.transaction() as db:
        return db.execute("UPDATE review_leases SET expires_at = ? WHERE holder = ? AND expires_at > ?",
                          (now + lease_seconds, user, now)).rowcount


def _hold_for_submit(workspace: Workspace, item: str, user: str, *, now: float) -> None:
    """Check and extend the live lease in one statement; raises LeaseLost if this user does not hold it."""
    with workspace.transaction() as db:
        row = db.execute("UPDATE review_leases SET expires_at = ? WHERE item = ? AND holder = ? AND expires_at > ?"
                         " RETURNING item", (now + 60, item, user, now)).fetchone()
    if row is None:
        raise LeaseLost(item)


def _release(workspace: Workspace, item: str, user: str) -> None:
    with workspace.transaction() as db:
        db.execute("DELETE FROM review_leases WHERE item = ? AND holder = ?", (item, user))


def _log(workspace: Workspace, item: str, user: str, kind: str, *, now: float, detail: str = "",
         decision_ids: Sequence[int] = (), undoes: int | None = None) -> None:
    with workspace.transaction(durable=True) as db:
        db.execute("INSERT INTO review_actions (item, user_name, kind, detail, decision_ids, undoes, at, day)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (item, user, kind, detail, json.dumps(list(decision_ids)), undoes, now, today(now)))


def _record(workspace: Workspace, key: LineKey, field: str, value: str, user: str) -> int:
    workspace.record_decision(file_sha256=key.file_sha256, page_no=key.page_no, line_no=key.line_no, field=field,
                              value=value, decided_by=user)
    return int(workspace.db.execute(
        "SELECT max(id) FROM decisions WHERE file_sha256 = ? AND page_no = ? AND line_no = ? AND field = ?"
        " AND decided_by = ?", (key.file_sha256, key.page_no, key.line_no, field, user)).fetchone()[0])


def decide_line(workspace: Workspace, item: str, user: str, *, status: str, name: str, now: float) -> None:
    """The holder's verdict: status always (a confirmation is a decision too), name only when changed."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    key = LineKey.parse(item)
    _hold_for_submit(workspace, item, user, now=now)
    ids = [_record(workspace, key, "status", status, user)]
    current = workspace.effective_value(key.file_sha256, key.page_no, key.line_no, "name")
    if name != current:
        ids.append(_record(workspace, key, "name", name, user))
    # "reviewed" marks the line as confirmed by a person; an undo restores its previous (empty) value, so an
    # undone line exports as the machine read it and needs review again.
    ids.append(_record(workspace, key, "reviewed", "yes", user))
    _log(workspace, item, user, "decide", now=now, decision_ids=ids)
    _release(workspace, item, user)


def skip(workspace: Workspace, item: str, user: str, *, reason: str, now: float) -> None:
    """A skip is recorded with its reason; the item goes back to the queue for everyone but this user."""
    if reason not in SKIP_REASONS:
        raise ValueError(f"reason must be one of {', '.join(SKIP_REASONS)}")
    _hold_for_submit(workspace, item, user, now=now)
    _log(workspace, item, user, "skip", now=now, detail=reason)
    _release(workspace, item, user)


def undo_last(workspace: Workspace, user: str, *, now: float, lease_seconds: float = LEASE_SECONDS) -> LineItem:
    """Append decisions that restore the values before this user's last verdict; the line reopens, leased to them."""
    row = workspace.db.execute(
        "SELECT a.id, a.item, a.decision_ids FROM review_actions a WHERE a.user_name = ? AND a.kind = 'decide'"
        " AND NOT EXISTS (SELECT 1 FROM review_actions u WHERE u.undoes = a.id) ORDER BY a.id DESC LIMIT 1",
        (user,)).fetchone()
    if row is None:
        raise NothingToUndo("nothing of yours to undo")
    key = LineKey.parse(row["item"])
    decisions = [workspace.db.execute("SELECT id, field, previous FROM decisions WHERE id = ?", (i,)).fetchone()
                 for i in json.loads(row["decision_ids"])]
    for decision in decisions:
        latest = workspace.db.execute(
            "SELECT max(id) FROM decisions WHERE file_sha256 = ? AND page_no = ? AND line_no = ? AND field = ?",
            (key.file_sha256, key.page_no, key.line_no, decision["field"])).fetchone()[0]
        if latest != decision["id"]:
            raise NothingToUndo("someone changed this line since; open it from the queue instead")
    restored = [_record(workspace, key, d["field"], d["previous"], user) for d in decisions]
    with workspace.transaction() as db:
        _lease(db, row["item"], user, now=now, lease_seconds=lease_seconds)
    _log(workspace, row["item"], user, "undo", now=now, decision_ids=restored, undoes=int(row["id"]))
    item = load_line(workspace, key)
    assert item is not None  # the line had a decision a moment ago
    return item


def progress(workspace: Workspace, user: str, *, now: float) -> Progress:
    total = workspace.db.execute("SELECT count(*) FROM lines WHERE needs_review = 1").fetchone()[0]
    left = workspace.db.execute(f"SELECT count(*) FROM lines l JOIN pages p ON p.id = l.page_id WHERE {_OPEN}").fetchone()[0]
    mine = workspace.db.execute(
        "SELECT coalesce(sum(CASE kind WHEN 'undo' THEN -1 ELSE 1 END), 0) FROM review_actions"
        " WHERE user_name = ? AND day = ? AND kind IN ('decide', 'undo', 'duplicate')", (user, today(now))).fetchone()[0]
    return Progress(done=int(total) - int(left), left=int(left), mine_today=int(mine))


# Possible duplicates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    occurrence: str
    file: str
    page_no: int
    line_no: int
    name: str
    line_crop: str
    name_crop: str
    signature_crop: str


@dataclass(frozen=True)
class PairItem:
    a: Occurrence
    b: Occurrence
    score: float

    @property
    def item(self) -> str:
        return pair_item(self.a.occurrence, self.b.occurrence)


def pair_item(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"dup:{first}|{second}"


class PairCache:
    """build_roster is whole-workspace work: recompute the possible pairs only when lines or decisions changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple = ()
        self._pairs: tuple[tuple[str, str, float], ...] = ()

    def pairs(self, workspace: Workspace) -> tuple[tuple[str, str, float], ...]:
        from pipeline.export import build_roster

        stamp = tuple(workspace.db.execute(
            "SELECT (SELECT count(*) || ':' || coalesce(max(id), 0) FROM lines), (SELECT max(id) FROM decisions),"
            " (SELECT max(id) FROM duplicate_decisions)").fetchone())
        with self._lock:
            if stamp != self._stamp:
                result = build_roster(workspace)[1]
                self._pairs = tuple((p.a, p.b, p.score) for p in sorted(result.possible, key=lambda p: -p.score))
                self._stamp = stamp
            return self._pairs


def next_pair(workspace: Workspace, cache: PairCache, user: str, *, now: float,
              lease_seconds: float = LEASE_SECONDS) -> PairItem | None:
    """The most likely undecided pair that nobody else holds, leased to this user."""
    pairs = cache.pairs(workspace)
    decided = workspace.duplicate_decisions()
    with workspace.transaction() as db:
        for a, b, score in pairs:
            if frozenset((a, b)) in decided:
                continue
            item = pair_item(a, b)
            lease = db.execute("SELECT holder, expires_at FROM review_leases WHERE item = ?", (item,)).fetchone()
            if lease is None or lease["expires_at"] <= now or lease["holder"] == user:
                _lease(db, item, user, now=now, lease_seconds=lease_seconds)
                break
        else:
            return None
    first, second = _occurrence(workspace, a), _occurrence(workspace, b)
    return PairItem(first, second, score) if first and second else None


def _occurrence(workspace: Workspace, occurrence: str) -> Occurrence | None:
    sha16, page, line = occurrence.split(":")
    row = workspace.db.execute(
        "SELECT f.name AS file, p.file_sha256, p.page_no, l.line_no, l.name, l.line_crop, l.name_crop, l.signature_crop"
        " FROM lines l JOIN pages p ON p.id = l.page_id JOIN files f ON f.sha256 = p.file_sha256"
        " WHERE substr(p.file_sha256, 1, 16) = ? AND p.page_no = ? AND l.line_no = ?",
        (sha16, int(page), int(line))).fetchone()
    if row is None:
        return None
    name = workspace.effective_value(row["file_sha256"], row["page_no"], row["line_no"], "name")
    return Occurrence(occurrence_id(row["file_sha256"], row["page_no"], row["line_no"]), row["file"], row["page_no"],
                      row["line_no"], name, row["line_crop"], row["name_crop"], row["signature_crop"])


def decide_pair(workspace: Workspace, item: str, user: str, *, same: bool, now: float) -> None:
    if not item.startswith("dup:") or item.count("|") != 1:
        raise ValueError("not a duplicate item")
    a, b = item[4:].split("|")
    _hold_for_submit(workspace, item, user, now=now)
    workspace.record_duplicate_decision(a, b, same=same, decided_by=user)
    _log(workspace, item, user, "duplicate", now=now, detail="same" if same else "different")
    _release(workspace, item, user)
