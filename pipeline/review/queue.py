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
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.migrations import REVIEW_MIGRATION
from pipeline.store import Workspace, occurrence_id

if TYPE_CHECKING:  # the duplicates cache imports dedupe (numpy, pandas) when first used, not at start
    from pipeline.dedupe import Person, ScoredPeople

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
# The same, as it was once decision :d and action :a were stored. Both tables are append-only and their ids only
# grow, so progress() can count the queue once and then re-check only the lines decided or undone since.
_OPEN_AT = f"""l.needs_review = 1 AND (
    NOT EXISTS (SELECT 1 FROM decisions d WHERE d.file_sha256 = p.file_sha256 AND d.page_no = p.page_no
                AND d.line_no = l.line_no AND d.id <= :d)
    OR (SELECT a.kind FROM review_actions a WHERE a.item = {_LINE_ITEM} AND a.kind IN ('decide', 'undo')
        AND a.id <= :a ORDER BY a.id DESC LIMIT 1) = 'undo')"""
# Lines change only when a page is read (again). Its lines are replaced, and the last page's new rows can get the
# old ids back, so the pages' read times are part of the stamp too. One aggregate per subquery: SQLite answers each
# from an index (pages_by_read_at, in store/migrations.py), where "count(*) || max(id)" in one would read the whole
# table.
_LINES_STAMP = ("(SELECT count(*) FROM lines) || ':' || (SELECT coalesce(max(id), 0) FROM lines) || '|' ||"
                " (SELECT coalesce(max(read_at), '') FROM pages)")
_REASONS = "(CASE l.review_reasons WHEN '' THEN 0 ELSE length(l.review_reasons) - length(replace(l.review_reasons, ';', '')) + 1 END)"
# Free for this user: nobody holds a live lease on it, and this user did not skip it.
_FREE = f"""NOT EXISTS (SELECT 1 FROM review_leases r WHERE r.item = {_LINE_ITEM} AND r.expires_at > :now)
      AND NOT EXISTS (SELECT 1 FROM review_actions s WHERE s.item = {_LINE_ITEM} AND s.kind = 'skip'
                      AND s.user_name = :user)"""
_CANDIDATE = f"""SELECT p.file_sha256, p.page_no, l.line_no FROM lines l JOIN pages p ON p.id = l.page_id
    WHERE {_OPEN} AND {_FREE}
    ORDER BY l.name_confidence, {_REASONS} DESC, p.file_sha256, p.page_no, l.line_no LIMIT 1"""
_CLAIMABLE = f"""SELECT 1 FROM lines l JOIN pages p ON p.id = l.page_id
    WHERE p.file_sha256 = :sha AND p.page_no = :page AND l.line_no = :line AND {_OPEN} AND {_FREE}"""
CLAIM_ATTEMPTS = 3


def held_items(workspace: Workspace, user: str, *, now: float, prefix: str) -> list[str]:
    """Items this user holds a live lease on, oldest first."""
    rows = workspace.db.execute(
        "SELECT item FROM review_leases WHERE holder = ? AND expires_at > ? AND item LIKE ? ORDER BY claimed_at, item",
        (user, now, prefix + "%"))
    return [r[0] for r in rows]


def next_line(workspace: Workspace, user: str, *, now: float, after: str = "",
              lease_seconds: float = LEASE_SECONDS) -> LineItem | None:
    """The line to show this user: one they already hold (other than `after`), else a newly claimed one.

    Finding the worst free line reads past every line decided so far (2 ms per 1,000 decided), so it is done
    before the write lock is taken, where it would hold up every verdict. Under the lock, only the line found is
    checked again before it is leased; if another volunteer took it meanwhile, search again. The last attempt
    searches under the lock, so it cannot lose.
    """
    params = {"now": now, "user": user}
    for attempt in range(CLAIM_ATTEMPTS):
        locked = attempt == CLAIM_ATTEMPTS - 1
        seen = None if locked else workspace.db.execute(_CANDIDATE, params).fetchone()
        with workspace.transaction() as db:
            held = [i for i in held_items(workspace, user, now=now, prefix="line:") if i != after and _still_open(db, i)]
            if held:
                item = held[0]
                break
            row = db.execute(_CANDIDATE, params).fetchone() if locked else seen
            if row is None:
                return None
            key = LineKey(row[0], row[1], row[2])
            if locked or db.execute(_CLAIMABLE, {**params, "sha": key.file_sha256, "page": key.page_no,
                                                 "line": key.line_no}).fetchone():
                item = key.item
                _lease(db, item, user, now=now, lease_seconds=lease_seconds)
                break
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


def _hold_for_submit(db: sqlite3.Connection, item: str, user: str, *, now: float) -> None:
    """Check and extend the live lease in one statement; raises LeaseLost if this user does not hold it.

    Called inside the verdict's transaction: a refused submit rolls back having written nothing."""
    row = db.execute("UPDATE review_leases SET expires_at = ? WHERE item = ? AND holder = ? AND expires_at > ?"
                     " RETURNING item", (now + 60, item, user, now)).fetchone()
    if row is None:
        raise LeaseLost(item)


def _release(db: sqlite3.Connection, item: str, user: str) -> None:
    db.execute("DELETE FROM review_leases WHERE item = ? AND holder = ?", (item, user))


def _log(db: sqlite3.Connection, item: str, user: str, kind: str, *, now: float, detail: str = "",
         decision_ids: Sequence[int] = (), undoes: int | None = None) -> None:
    db.execute("INSERT INTO review_actions (item, user_name, kind, detail, decision_ids, undoes, at, day)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (item, user, kind, detail, json.dumps(list(decision_ids)), undoes, now, today(now)))


def _record(workspace: Workspace, key: LineKey, field: str, value: str, user: str) -> int:
    return workspace.record_decision(file_sha256=key.file_sha256, page_no=key.page_no, line_no=key.line_no,
                                     field=field, value=value, decided_by=user)


# Every verdict below is ONE durable transaction: lease check, decisions, log and release commit together or not
# at all. Written step by step, a crash between steps left a line exported as confirmed by a person while still
# open, without the log that names who did it and that undo needs (so it could never be undone).


def decide_line(workspace: Workspace, item: str, user: str, *, status: str, name: str, now: float) -> None:
    """The holder's verdict: status always (a confirmation is a decision too), name only when changed."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    key = LineKey.parse(item)
    with workspace.transaction(durable=True) as db:
        _hold_for_submit(db, item, user, now=now)
        ids = [_record(workspace, key, "status", status, user)]
        current = workspace.effective_value(key.file_sha256, key.page_no, key.line_no, "name")
        if name != current:
            ids.append(_record(workspace, key, "name", name, user))
        # "reviewed" marks the line as confirmed by a person; an undo restores its previous (empty) value, so an
        # undone line exports as the machine read it and needs review again.
        ids.append(_record(workspace, key, "reviewed", "yes", user))
        _log(db, item, user, "decide", now=now, decision_ids=ids)
        _release(db, item, user)


def skip(workspace: Workspace, item: str, user: str, *, reason: str, now: float) -> None:
    """A skip is recorded with its reason; the item goes back to the queue for everyone but this user."""
    if reason not in SKIP_REASONS:
        raise ValueError(f"reason must be one of {', '.join(SKIP_REASONS)}")
    with workspace.transaction(durable=True) as db:
        _hold_for_submit(db, item, user, now=now)
        _log(db, item, user, "skip", now=now, detail=reason)
        _release(db, item, user)


def undo_last(workspace: Workspace, user: str, *, now: float, lease_seconds: float = LEASE_SECONDS) -> LineItem:
    """Append decisions that restore the values before this user's last verdict; the line reopens, leased to them."""
    # Found and checked under the write lock too: two undos at once (two tabs) cannot both undo the same verdict.
    with workspace.transaction(durable=True) as db:
        row = db.execute(
            "SELECT a.id, a.item, a.decision_ids FROM review_actions a WHERE a.user_name = ? AND a.kind = 'decide'"
            " AND NOT EXISTS (SELECT 1 FROM review_actions u WHERE u.undoes = a.id) ORDER BY a.id DESC LIMIT 1",
            (user,)).fetchone()
        if row is None:
            raise NothingToUndo("nothing of yours to undo")
        key = LineKey.parse(row["item"])
        decisions = [db.execute("SELECT id, field, previous FROM decisions WHERE id = ?", (i,)).fetchone()
                     for i in json.loads(row["decision_ids"])]
        for decision in decisions:
            latest = db.execute(
                "SELECT max(id) FROM decisions WHERE file_sha256 = ? AND page_no = ? AND line_no = ? AND field = ?",
                (key.file_sha256, key.page_no, key.line_no, decision["field"])).fetchone()[0]
            if latest != decision["id"]:
                raise NothingToUndo("someone changed this line since; open it from the queue instead")
        restored = [_record(workspace, key, d["field"], d["previous"], user) for d in decisions]
        _lease(db, row["item"], user, now=now, lease_seconds=lease_seconds)
        _log(db, row["item"], user, "undo", now=now, decision_ids=restored, undoes=int(row["id"]))
    item = load_line(workspace, key)
    assert item is not None  # the line had a decision a moment ago
    return item


def progress(workspace: Workspace, user: str, *, now: float) -> Progress:
    total, left = _queue_counts(workspace)
    mine = workspace.db.execute(
        "SELECT coalesce(sum(CASE kind WHEN 'undo' THEN -1 ELSE 1 END), 0) FROM review_actions"
        " WHERE user_name = ? AND day = ? AND kind IN ('decide', 'undo', 'duplicate')", (user, today(now))).fetchone()[0]
    return Progress(done=total - left, left=left, mine_today=int(mine))


@dataclass(frozen=True)
class _Counts:
    """The queue's size as of a stamp: the lines, the last decision id and the last action id."""

    lines: str
    decision_id: int
    action_id: int
    total: int  # lines that need review
    left: int  # of which still open


# Counting the open lines checks every line (6 ms at 6,000 lines, and progress is on every page and verdict), so
# the queue is counted once and then only what changed is added. Shared by every connection (one per server
# thread) to the same workspace folder; a stored count is exact for its stamp, so any of them is a valid start.
_COUNTS: OrderedDict[str, _Counts] = OrderedDict()
_COUNTS_LOCK = threading.Lock()
_COUNTS_KEPT = 16  # workspaces remembered (a test run opens hundreds)
RECOUNT_AFTER = 300  # lines touched since the last count beyond which counting them all again is cheaper


def _queue_counts(workspace: Workspace) -> tuple[int, int]:
    """(lines that need review, lines still open), exact: always computed for one stamp read first."""
    lines, decision_id, action_id = workspace.db.execute(
        f"SELECT {_LINES_STAMP}, (SELECT coalesce(max(id), 0) FROM decisions),"
        " (SELECT coalesce(max(id), 0) FROM review_actions)").fetchone()
    where = os.path.abspath(workspace.root)  # not resolve(): a syscall per path part, on every request
    with _COUNTS_LOCK:
        last = _COUNTS.get(where)
    if last is not None and (last.lines, last.decision_id, last.action_id) == (lines, decision_id, action_id):
        return last.total, last.left
    touched = _touched(workspace, last, decision_id, action_id) if last is not None and last.lines == lines else None
    if last is None or touched is None or len(touched) > RECOUNT_AFTER:
        total = int(workspace.db.execute("SELECT count(*) FROM lines WHERE needs_review = 1").fetchone()[0])
        left = int(workspace.db.execute(f"SELECT count(*) FROM lines l JOIN pages p ON p.id = l.page_id WHERE {_OPEN_AT}",
                                        {"d": decision_id, "a": action_id}).fetchone()[0])
    else:
        total = last.total
        left = last.left + sum(_open_at(workspace, key, decision_id, action_id)
                               - _open_at(workspace, key, last.decision_id, last.action_id) for key in touched)
    with _COUNTS_LOCK:
        _COUNTS[where] = _Counts(lines, decision_id, action_id, total, left)
        _COUNTS.move_to_end(where)
        while len(_COUNTS) > _COUNTS_KEPT:
            _COUNTS.popitem(last=False)
    return total, left


def _touched(workspace: Workspace, last: _Counts, decision_id: int, action_id: int) -> set[LineKey]:
    """Lines with a decision or a decide/undo action between `last` and the new stamp. Either may be the older
    one (another thread may have stored a newer count meanwhile): the difference is added with its sign."""
    decided = workspace.db.execute("SELECT DISTINCT file_sha256, page_no, line_no FROM decisions WHERE id > ? AND id <= ?",
                                   sorted((last.decision_id, decision_id)))
    acted = workspace.db.execute("SELECT DISTINCT item FROM review_actions WHERE id > ? AND id <= ?"
                                 " AND kind IN ('decide', 'undo') AND item LIKE 'line:%'",
                                 sorted((last.action_id, action_id)))
    return {LineKey(*row) for row in decided} | {LineKey.parse(row[0]) for row in acted}


def _open_at(workspace: Workspace, key: LineKey, decision_id: int, action_id: int) -> int:
    return int(workspace.db.execute(
        f"SELECT count(*) FROM lines l JOIN pages p ON p.id = l.page_id WHERE p.file_sha256 = :sha AND p.page_no = :page"
        f" AND l.line_no = :line AND {_OPEN_AT}", {"sha": key.file_sha256, "page": key.page_no, "line": key.line_no,
                                                  "d": decision_id, "a": action_id}).fetchone()[0])


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


# What makes a line a signer and how it is matched (export.people); "reviewed" and the rest change nothing.
_SIGNER_FIELDS = ("status", "name", "zip", "email", "address")


@dataclass(frozen=True)
class _Roster:
    """The possible pairs and what they were computed from, up to which decision."""

    lines: str
    decision_id: int
    duplicate_id: int
    signers: dict[str, Person]  # occurrence id -> signer (a signed line with a name)
    scored: ScoredPeople
    pairs: tuple[tuple[str, str, float], ...]


class PairCache:
    """The possible pairs for the duplicates page, kept up to date without rebuilding the roster.

    Reading every line and pairing them is whole-workspace work (seconds at 6,000 lines): it is done on the first
    call and again only when lines change (a page read or re-read). After that, a line decision costs a look
    at the lines it touched: when it changes no signer (a confirmation, a status from struck to blank, a
    "reviewed" mark) nothing is recomputed; when it does (a name, a zip, signed or not), the cached signers are
    paired again without re-reading the workspace. A same/different verdict on a pair only re-clusters the
    scored pairs, which takes milliseconds.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roster: _Roster | None = None

    def pairs(self, workspace: Workspace) -> tuple[tuple[str, str, float], ...]:
        with self._lock:  # the stamp too: read before waiting, it could be older than what is cached by then
            lines, decision_id, duplicate_id = workspace.db.execute(
                f"SELECT {_LINES_STAMP}, (SELECT coalesce(max(id), 0) FROM decisions),"
                " (SELECT coalesce(max(id), 0) FROM duplicate_decisions)").fetchone()
            roster = self._roster
            if roster is None or roster.lines != lines:
                roster = _build(workspace, lines, decision_id, duplicate_id)
            elif (roster.decision_id, roster.duplicate_id) != (decision_id, duplicate_id):
                roster = _update(workspace, roster, decision_id, duplicate_id)
            self._roster = roster
            return roster.pairs


def _build(workspace: Workspace, lines: str, decision_id: int, duplicate_id: int) -> _Roster:
    """Everything from scratch. Decisions newer than the stamp may be read too: _update redoes them harmlessly."""
    from pipeline import dedupe, export

    signers = {person.id: person for person in export.people(export.effective_lines(workspace))}
    return _clustered(workspace, lines, decision_id, duplicate_id, signers, dedupe.score(list(signers.values())))


def _update(workspace: Workspace, roster: _Roster, decision_id: int, duplicate_id: int) -> _Roster:
    """Apply the decisions made since `roster` was computed (ids only grow: both tables are append-only)."""
    from pipeline import dedupe

    signers = dict(roster.signers)
    touched = workspace.db.execute(
        f"SELECT DISTINCT file_sha256, page_no, line_no FROM decisions WHERE id > ? AND id <= ?"
        f" AND field IN ({', '.join('?' * len(_SIGNER_FIELDS))})", (roster.decision_id, decision_id, *_SIGNER_FIELDS))
    for sha, page, line in touched.fetchall():
        occurrence = occurrence_id(sha, page, line)
        signer = _signer(workspace, sha, page, line)
        if signer is None:
            signers.pop(occurrence, None)
        else:
            signers[occurrence] = signer
    if signers != roster.signers:
        return _clustered(workspace, roster.lines, decision_id, duplicate_id, signers,
                          dedupe.score(list(signers.values())))
    if duplicate_id != roster.duplicate_id:
        return _clustered(workspace, roster.lines, decision_id, duplicate_id, signers, roster.scored)
    return _Roster(roster.lines, decision_id, duplicate_id, roster.signers, roster.scored, roster.pairs)


def _signer(workspace: Workspace, sha: str, page: int, line: int) -> Person | None:
    """One line as export.people sees it (effective values), by the same code: a signer, or None."""
    import pandas as pd

    from pipeline import export

    exists = workspace.db.execute("SELECT 1 FROM lines l JOIN pages p ON p.id = l.page_id WHERE p.file_sha256 = ?"
                                  " AND p.page_no = ? AND l.line_no = ?", (sha, page, line)).fetchone()
    if exists is None:
        return None
    values = {field: workspace.effective_value(sha, page, line, field) for field in _SIGNER_FIELDS}
    found = export.people(pd.DataFrame([{**values, "occurrence": occurrence_id(sha, page, line)}]))
    return found[0] if found else None


def _clustered(workspace: Workspace, lines: str, decision_id: int, duplicate_id: int, signers: dict[str, Person],
               scored: ScoredPeople) -> _Roster:
    from pipeline import dedupe

    result = dedupe.cluster(scored, workspace.duplicate_decisions())
    pairs = tuple((p.a, p.b, p.score) for p in sorted(result.possible, key=lambda p: -p.score))
    return _Roster(lines, decision_id, duplicate_id, signers, scored, pairs)


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
    with workspace.transaction(durable=True) as db:  # one transaction, as for a line verdict
        _hold_for_submit(db, item, user, now=now)
        workspace.record_duplicate_decision(a, b, same=same, decided_by=user)
        _log(db, item, user, "duplicate", now=now, detail="same" if same else "different")
        _release(db, item, user)
