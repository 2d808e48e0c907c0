"""The review queue: worst lines first, leased so two volunteers never get one line, verdicts, skip, undo, progress.

Leases and the verdict's frame are claims.py's; possible duplicates are pairs.py's. Human decisions go through
Workspace.record_decision (append-only); what a volunteer did (decide, skip, undo, duplicate verdict) is logged
append-only in review_actions so undo and "mine today" need no guessing. A line is open while the machine asked
for a person and none has confirmed it (the store's effective_lines view): what status and exports count too.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from pipeline.review.claims import LEASE_SECONDS, finish, hold_for_submit, today
from pipeline.review.claims import LeaseLost  # noqa: F401 (what a refused verdict raises; callers catch it here)
from pipeline.store import LineId, Workspace, decisions, leases, lines, review
from pipeline.store import ensure_review_schema  # noqa: F401 (cli.py and tests call it from here)
from scanner.types import LineStatus

STATUSES = tuple(status.value for status in LineStatus)
SKIP_REASONS = ("crop unreadable", "needs a second opinion", "other")
MAX_HELD = 2  # the item on screen and the prefetched next one
CLAIM_ATTEMPTS = 3


class NothingToUndo(Exception):
    """No decision of this user can be undone (none yet, or changed since by someone else)."""


@dataclass(frozen=True)
class LineItem:
    """One line to review, as shown: effective values (a reopened line shows what undo restored)."""

    key: LineId
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


def next_line(workspace: Workspace, user: str, *, now: float, after: str = "",
              lease_seconds: float = LEASE_SECONDS) -> LineItem | None:
    """The line to show this user: one they already hold (other than `after`), else a newly claimed one.

    Finding the worst free line reads past every line decided so far (2 ms per 1,000 decided), so it is done
    before the write lock is taken, where it would hold up every verdict. Under the lock, only the line found is
    checked again before it is leased; if another volunteer took it meanwhile, search again. The last attempt
    searches under the lock, so it cannot lose.
    """
    for attempt in range(CLAIM_ATTEMPTS):
        locked = attempt == CLAIM_ATTEMPTS - 1
        seen = None if locked else review.worst_free_line(workspace, user, now=now)
        with workspace.transaction():
            held = _held_open_lines(workspace, user, now=now, after=after)
            if held:
                line = held[0]
                break
            line = review.worst_free_line(workspace, user, now=now) if locked else seen
            if line is None:
                return None
            if locked or review.is_claimable(workspace, line, user, now=now):
                leases.take_lease(workspace, line.item, user, now=now, until=now + lease_seconds)
                break
    return load_line(workspace, line)


def _held_open_lines(workspace: Workspace, user: str, *, now: float, after: str) -> list[LineId]:
    """Open lines this user holds a live lease on, oldest first, but `after` (the one on their screen)."""
    held = leases.held_items(workspace, user, now=now, prefix="line:")
    return [line for line in map(LineId.parse, held) if line.item != after and review.is_open(workspace, line)]


def load_line(workspace: Workspace, key: LineId) -> LineItem | None:
    line = lines.get_line(workspace, key)
    if line is None:
        return None
    return LineItem(key, line.file, line.status, line.name, line.name_confidence, line.review_reasons,
                    line.line_crop, line.name_crop, line.signature_crop)


def renew(workspace: Workspace, user: str, *, now: float, lease_seconds: float = LEASE_SECONDS) -> int:
    """Heartbeat: extend every live lease of this user; an expired one is not revived (others may have it)."""
    with workspace.transaction():
        return leases.renew_leases(workspace, user, now=now, until=now + lease_seconds)


def _record(workspace: Workspace, key: LineId, field: str, value: str, user: str) -> int:
    return workspace.record_decision(file_sha256=key.file_sha256, page_no=key.page_no, line_no=key.line_no,
                                     field=field, value=value, decided_by=user)


# Every verdict below is ONE durable transaction: lease check, decisions, log and release commit together or not
# at all. Written step by step, a crash between steps left a line exported as confirmed by a person while still
# open, without the log that names who did it and that undo needs (so it could never be undone).


def decide_line(workspace: Workspace, item: str, user: str, *, status: str, name: str, now: float) -> None:
    """The holder's verdict: status always (a confirmation is a decision too), name only when changed."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    key = LineId.parse(item)
    with workspace.transaction(durable=True):
        hold_for_submit(workspace, item, user, now=now)
        ids = [_record(workspace, key, "status", status, user)]
        current = workspace.effective_value(key.file_sha256, key.page_no, key.line_no, "name")
        if name != current:
            ids.append(_record(workspace, key, "name", name, user))
        # "reviewed" marks the line as confirmed by a person; an undo restores its previous (empty) value, so an
        # undone line exports as the machine read it and needs review again.
        ids.append(_record(workspace, key, "reviewed", "yes", user))
        finish(workspace, item, user, "decide", now=now, decision_ids=ids)


def skip(workspace: Workspace, item: str, user: str, *, reason: str, now: float) -> None:
    """A skip is recorded with its reason; the item goes back to the queue for everyone but this user."""
    if reason not in SKIP_REASONS:
        raise ValueError(f"reason must be one of {', '.join(SKIP_REASONS)}")
    with workspace.transaction(durable=True):
        hold_for_submit(workspace, item, user, now=now)
        finish(workspace, item, user, "skip", now=now, detail=reason)


def undo_last(workspace: Workspace, user: str, *, now: float, lease_seconds: float = LEASE_SECONDS) -> LineItem:
    """Append decisions that restore the values before this user's last verdict; the line reopens, leased to them."""
    # Found and checked under the write lock too: two undos at once (two tabs) cannot both undo the same verdict.
    with workspace.transaction(durable=True):
        verdict = leases.last_undoable_verdict(workspace, user)
        if verdict is None:
            raise NothingToUndo("nothing of yours to undo")
        key = LineId.parse(verdict.item)
        undone = decisions.decisions_by_id(workspace, verdict.decision_ids)
        if any(decisions.latest_decision_id(workspace, key, d.field) != d.id for d in undone):
            raise NothingToUndo("someone changed this line since; open it from the queue instead")
        restored = [_record(workspace, key, d.field, d.previous, user) for d in undone]
        leases.take_lease(workspace, verdict.item, user, now=now, until=now + lease_seconds)
        leases.log_action(workspace, verdict.item, user, "undo", at=now, day=today(now), decision_ids=restored,
                          undoes=verdict.id)
    item = load_line(workspace, key)
    assert item is not None  # the line had a decision a moment ago
    return item


def progress(workspace: Workspace, user: str, *, now: float) -> Progress:
    total, left = _queue_counts(workspace)
    return Progress(done=total - left, left=left, mine_today=leases.verdicts_on(workspace, user, today(now)))


@dataclass(frozen=True)
class _Counts:
    """The queue as of a stamp (the lines' stamp and the last decision id): lines that need review, open ones."""

    lines: str
    decision_id: int
    total: int
    open: frozenset[LineId]


# Counting the open lines checks every line (6 ms at 6,000 lines, and progress is on every page and verdict), so
# the queue is counted once and then only the lines decided since are looked at again. Shared by every connection
# (one per server thread) to the same workspace folder. A stored set is right for every line not decided after
# its stamp, whoever stored it and whatever was committed meanwhile; each update looks again at every line decided
# between the two stamps (either may be the newer), so that stays true.
_COUNTS: OrderedDict[str, _Counts] = OrderedDict()
_COUNTS_LOCK = threading.Lock()
_COUNTS_KEPT = 16  # workspaces remembered (a test run opens hundreds)
RECOUNT_AFTER = 300  # lines decided since the last count beyond which counting them all again is cheaper


def _queue_counts(workspace: Workspace) -> tuple[int, int]:
    """(lines that need review, lines still open)."""
    stamp, decision_id = lines.lines_stamp(workspace), decisions.last_decision_id(workspace)
    where = os.path.abspath(workspace.root)  # not resolve(): a syscall per path part, on every request
    with _COUNTS_LOCK:
        last = _COUNTS.get(where)
    counts = _recounted(workspace, last, stamp, decision_id)
    if counts is not last:
        with _COUNTS_LOCK:
            _COUNTS[where] = counts
            _COUNTS.move_to_end(where)
            while len(_COUNTS) > _COUNTS_KEPT:
                _COUNTS.popitem(last=False)
    return counts.total, len(counts.open)


def _recounted(workspace: Workspace, last: _Counts | None, stamp: str, decision_id: int) -> _Counts:
    """`last` brought to the new stamp: the same when nothing changed, updated when a few lines were decided,
    counted again from scratch when lines were read (again) or many were decided."""
    if last is not None and last.lines == stamp:
        if last.decision_id == decision_id:
            return last
        decided = decisions.lines_decided_between(workspace, last.decision_id, decision_id)
        if len(decided) <= RECOUNT_AFTER:
            still_open = {line for line in decided if review.is_open(workspace, line)}
            return _Counts(stamp, decision_id, last.total, (last.open - decided) | still_open)
    return _Counts(stamp, decision_id, review.count_needing_review(workspace), frozenset(review.open_lines(workspace)))
