"""Possible duplicates for the review app: the pairs worth a look, kept up to date without rebuilding the roster,
leased one at a time, and the same/different verdict on one.

A pair's item is "dup:<line id>|<line id>" (the two LineId texts, sorted); the verdict is stored by
Workspace.record_duplicate_decision and logged like a line verdict, in one transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.review.claims import LEASE_SECONDS, finish, hold_for_submit
from pipeline.store import EffectiveLine, LineId, Workspace, decisions, leases, lines

if TYPE_CHECKING:  # the duplicates cache imports dedupe (numpy, pandas) when first used, not at start
    from pipeline.dedupe import Person, ScoredPeople

# What makes a line a signer and how it is matched (export.people); "reviewed" and the rest change nothing.
_SIGNER_FIELDS = ("status", "name", "zip", "email", "address")
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


@dataclass(frozen=True)
class _Roster:
    """The possible pairs and what they were computed from, up to which decision."""

    lines: str
    decision_id: int
    duplicate_id: int
    signers: dict[str, Person]  # occurrence id -> signer (a signed line with a name)
    scored: ScoredPeople
    pairs: tuple[Pair, ...]


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

    def pairs(self, workspace: Workspace) -> tuple[Pair, ...]:
        with self._lock:  # the stamp too: read before waiting, it could be older than what is cached by then
            stamp = lines.lines_stamp(workspace)
            decision_id = decisions.last_decision_id(workspace)
            duplicate_id = decisions.last_duplicate_decision_id(workspace)
            roster = self._roster
            if roster is None or roster.lines != stamp:
                roster = _build(workspace, stamp, decision_id, duplicate_id)
            elif (roster.decision_id, roster.duplicate_id) != (decision_id, duplicate_id):
                roster = _update(workspace, roster, decision_id, duplicate_id)
            self._roster = roster
            return roster.pairs


def _build(workspace: Workspace, stamp: str, decision_id: int, duplicate_id: int) -> _Roster:
    """Everything from scratch. Decisions newer than the stamp may be read too: _update redoes them harmlessly."""
    from pipeline import dedupe, export

    signers = {person.id: person for person in export.people(export.effective_lines(workspace))}
    return _clustered(workspace, stamp, decision_id, duplicate_id, signers, dedupe.score(list(signers.values())))


def _update(workspace: Workspace, roster: _Roster, decision_id: int, duplicate_id: int) -> _Roster:
    """Apply the decisions made since `roster` was computed (ids only grow: both tables are append-only)."""
    from pipeline import dedupe

    signers = dict(roster.signers)
    touched = decisions.lines_decided_between(workspace, roster.decision_id, decision_id, fields=_SIGNER_FIELDS)
    for line in touched:
        signer = _signer(lines.get_line(workspace, line))
        if signer is None:
            signers.pop(str(line), None)
        else:
            signers[str(line)] = signer
    if signers != roster.signers:
        return _clustered(workspace, roster.lines, decision_id, duplicate_id, signers,
                          dedupe.score(list(signers.values())))
    if duplicate_id != roster.duplicate_id:
        return _clustered(workspace, roster.lines, decision_id, duplicate_id, signers, roster.scored)
    return _Roster(roster.lines, decision_id, duplicate_id, roster.signers, roster.scored, roster.pairs)


def _signer(line: EffectiveLine | None) -> Person | None:
    """One line as export.people sees it, by the same code: a signer, or None (no such line, or not a signer)."""
    from pipeline import export

    if line is None:
        return None
    found = export.people(export.lines_frame([line]))
    return found[0] if found else None


def _clustered(workspace: Workspace, stamp: str, decision_id: int, duplicate_id: int, signers: dict[str, Person],
               scored: ScoredPeople) -> _Roster:
    from pipeline import dedupe

    result = dedupe.cluster(scored, workspace.duplicate_decisions())
    pairs = tuple((p.a, p.b, p.score) for p in sorted(result.possible, key=lambda p: -p.score))
    return _Roster(stamp, decision_id, duplicate_id, signers, scored, pairs)


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
