"""Lines matched to the voter file: the machine's match per line and voter-file version (rewritten only when
what it was computed from changes), and people's verdicts on matches, append-only, which win."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import now
from pipeline.store.ids import LineId

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace


@dataclass(frozen=True)
class StoredMatch:
    """The machine's match of one line against one version of the voter file."""

    line: LineId
    status: str  # matched / ambiguous / not_found / review
    voter_id: str  # the chosen voter ('' unless matched; the best candidate otherwise is in candidates)
    score: float
    candidates: tuple[tuple[str, float], ...]  # (voter_id, score), best first
    basis: str  # a digest of the inputs: unchanged inputs are not matched again


def stored_matches(workspace: Workspace, version: int) -> dict[LineId, StoredMatch]:
    rows = workspace.db.execute("SELECT file_sha256, page_no, line_no, status, voter_id, score, candidates, basis"
                                " FROM voter_matches WHERE version = ?", (version,))
    return {LineId(r[0], r[1], r[2]): StoredMatch(LineId(r[0], r[1], r[2]), r[3], r[4], float(r[5]),
                                                 tuple((c[0], float(c[1])) for c in json.loads(r[6])), r[7])
            for r in rows}


def save_matches(workspace: Workspace, version: int, matches: Iterable[StoredMatch]) -> None:
    """Insert or replace each line's match for this version; in the caller's transaction."""
    workspace.db.executemany(
        "INSERT INTO voter_matches (version, file_sha256, page_no, line_no, status, voter_id, score, candidates,"
        " basis, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (version, file_sha256, page_no,"
        " line_no) DO UPDATE SET status = excluded.status, voter_id = excluded.voter_id, score = excluded.score,"
        " candidates = excluded.candidates, basis = excluded.basis, matched_at = excluded.matched_at",
        ((version, m.line.file_sha256, m.line.page_no, m.line.line_no, m.status, m.voter_id, m.score,
          json.dumps([list(c) for c in m.candidates]), m.basis, now()) for m in matches))


def drop_matches(workspace: Workspace, version: int, lines: Iterable[LineId]) -> None:
    """Forget the matches of lines no stored page holds any more."""
    workspace.db.executemany("DELETE FROM voter_matches WHERE version = ? AND file_sha256 = ? AND page_no = ?"
                             " AND line_no = ?", ((version, x.file_sha256, x.page_no, x.line_no) for x in lines))


def append_match_decision(workspace: Workspace, line: LineId, voter_id: str, *, decided_by: str) -> int:
    """A person's verdict: this line is voter `voter_id` ('' = not on the voter file). Its id."""
    return int(workspace.db.execute(
        "INSERT INTO match_decisions (file_sha256, page_no, line_no, voter_id, decided_by, decided_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (line.file_sha256, line.page_no, line.line_no, voter_id, decided_by, now())).fetchone()[0])


def latest_match_decisions(workspace: Workspace) -> dict[LineId, str]:
    """Per line, the latest human verdict (a voter_id, or '' for "not on the file")."""
    rows = workspace.db.execute("SELECT file_sha256, page_no, line_no, voter_id FROM match_decisions ORDER BY id")
    return {LineId(r[0], r[1], r[2]): r[3] for r in rows}


@dataclass(frozen=True)
class EffectiveMatch:
    """A line's match as exports and the report see it: a person's verdict if any, else the machine's."""

    status: str
    voter_id: str
    score: float
    by_human: bool


def effective_matches(workspace: Workspace, version: int) -> dict[LineId, EffectiveMatch]:
    """Per line: the latest human verdict (a voter of this version: matched; '': not_found; a voter this
    version lacks: review), else the machine's match against this version."""
    from pipeline.store.voters import voters_by_id

    found = {line: EffectiveMatch(m.status, m.voter_id, m.score, False)
             for line, m in stored_matches(workspace, version).items()}
    decided = latest_match_decisions(workspace)
    on_file = voters_by_id(workspace, version, [v for v in decided.values() if v])
    for line, voter_id in decided.items():
        if not voter_id:
            found[line] = EffectiveMatch("not_found", "", 1.0, True)
        elif voter_id in on_file:
            found[line] = EffectiveMatch("matched", voter_id, 1.0, True)
        else:
            found[line] = EffectiveMatch("review", "", 0.0, True)
    return found
