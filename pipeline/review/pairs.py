"""Possible duplicates for the review app: the pairs worth a look, read from the roster kept in the store,
leased one at a time, and the same/different verdict on one.

A pair's item is "dup:<line id>|<line id>" (the two LineId texts, sorted); the verdict is stored by
Workspace.record_duplicate_decision and logged like a line verdict, in one transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pipeline.review.claims import LEASE_SECONDS, finish, hold_for_submit
from pipeline.store import LineId, Workspace, leases, lines

Pair = tuple[str, str, float]  # two occurrences (line id texts, a < b) and their score


@dataclass(frozen=True)
class Occurrence:
    """One side of a pair, as shown: where it is, the name as it stands now, its crops."""

    line: LineId
    file: str
    name: str
    line_crop: str
    name_crop: str
    signature_crop: str

    @property
    def page_no(self) -> int:
        return self.line.page_no

    @property
    def line_no(self) -> int:
        return self.line.line_no


@dataclass(frozen=True)
class PairItem:
    a: Occurrence
    b: Occurrence
    score: float

    @property
    def item(self) -> str:
        return pair_item(str(self.a.line), str(self.b.line))


def pair_item(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"dup:{first}|{second}"


def parse_pair_item(item: str) -> tuple[str, str]:
    """The two occurrences a pair item names; ValueError for anything else."""
    if not item.startswith("dup:") or item.count("|") != 1:
        raise ValueError("not a duplicate item")
    a, b = item[4:].split("|")
    LineId.parse(a), LineId.parse(b)  # both must name a line
    return a, b


class PairCache:
    """The possible pairs for the duplicates page, from the roster kept in the store (pipeline/roster.py).

    Nothing is clustered again per request: a page read, a line decision or a same/different verdict since the
    last call is folded into the stored roster first (only the blocks and clusters it touches), then the pairs
    are read from it. The lock keeps one thread of the app folding at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def pairs(self, workspace: Workspace) -> tuple[Pair, ...]:
        from pipeline import roster

        with self._lock:
            roster.ensure_current(workspace)
            possible = roster.possible_pairs(workspace)
        return tuple((p.a, p.b, p.score) for p in sorted(possible, key=lambda p: -p.score))


def next_pair(workspace: Workspace, cache: PairCache, user: str, *, now: float,
              lease_seconds: float = LEASE_SECONDS) -> PairItem | None:
    """The most likely undecided pair that nobody else holds, leased to this user."""
    pairs = cache.pairs(workspace)
    decided = workspace.duplicate_decisions()
    with workspace.transaction():
        for a, b, score in pairs:
            if frozenset((a, b)) in decided:
                continue
            item = pair_item(a, b)
            lease = leases.lease_of(workspace, item)
            if lease is None or lease.expires_at <= now or lease.holder == user:
                leases.take_lease(workspace, item, user, now=now, until=now + lease_seconds)
                break
        else:
            return None
    first, second = _occurrence(workspace, a), _occurrence(workspace, b)
    return PairItem(first, second, score) if first and second else None


def _occurrence(workspace: Workspace, occurrence: str) -> Occurrence | None:
    line = lines.get_line(workspace, LineId.parse(occurrence))
    if line is None:
        return None
    return Occurrence(line.id, line.file, line.name, line.line_crop, line.name_crop, line.signature_crop)


def decide_pair(workspace: Workspace, item: str, user: str, *, same: bool, now: float) -> None:
    a, b = parse_pair_item(item)
    with workspace.transaction(durable=True):  # one transaction, as for a line verdict
        hold_for_submit(workspace, item, user, now=now)
        workspace.record_duplicate_decision(a, b, same=same, decided_by=user)
        finish(workspace, item, user, "duplicate", now=now, detail="same" if same else "different")
