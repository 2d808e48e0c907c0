"""The voter-match page: lines the matcher left `ambiguous` or `review`, one at a time, with their crops and up
to three candidate voters; keys 1-3 pick one, N says "not on the voter file". Each verdict is an append-only
match decision (pipeline/store/matches.py) that wins over the machine's match on every export and the report.

A line is leased while it is on someone's screen (the review_leases table, item "match:<line id>"), as lines
and pairs are; verdicts are not in the volunteers' action log, whose undo knows only line decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from pipeline.review import auth
from pipeline.review.claims import LeaseLost, hold_for_submit
from pipeline.review.web import clock, csrf_session, render, session, settings_of, workspace
from pipeline.store import EffectiveLine, LineId, Workspace, leases
from pipeline.store import lines as stored_lines
from pipeline.store import matches as stored_matches
from pipeline.store import voters as stored_voters
from pipeline.store.voters import Voter

PREFIX = "match:"
OPEN = ("ambiguous", "review")
NOT_ON_FILE = "none"
router = APIRouter()


@dataclass(frozen=True)
class MatchItem:
    item: str
    line: EffectiveLine
    status: str
    candidates: tuple[tuple[Voter, float], ...]  # best first, at most three


def next_match(store: Workspace, user: str, *, now: float, lease_seconds: float) -> MatchItem | None:
    """Lease and return the first open match nobody else holds (its lines in file, page, line order)."""
    current = stored_voters.current_version(store)
    if current is None:
        return None
    found = stored_matches.stored_matches(store, current.version)
    decided = stored_matches.latest_match_decisions(store)
    open_lines = sorted((m for m in found.values() if m.status in OPEN and m.line not in decided),
                        key=lambda m: (m.line.file_sha256, m.line.page_no, m.line.line_no))
    with store.transaction():
        for match in open_lines:
            item = PREFIX + str(match.line)
            lease = leases.lease_of(store, item)
            if lease is None or lease.expires_at <= now or lease.holder == user:
                leases.take_lease(store, item, user, now=now, until=now + lease_seconds)
                return _item(store, current.version, item, match)
    return None


def _item(store: Workspace, version: int, item: str, match: stored_matches.StoredMatch) -> MatchItem | None:
    line = stored_lines.get_line(store, match.line)
    if line is None:
        return None
    voters = stored_voters.voters_by_id(store, version, [v for v, _ in match.candidates])
    candidates = tuple((voters[v], score) for v, score in match.candidates if v in voters)
    return MatchItem(item, line, match.status, candidates[:3])


def decide_match(store: Workspace, item: str, user: str, choice: str, *, now: float) -> None:
    """Store the verdict: a candidate's voter id, or NOT_ON_FILE. Only the live lease holder may decide."""
    if not item.startswith(PREFIX):
        raise ValueError("not a match item")
    line = LineId.parse(item[len(PREFIX):])
    current = stored_voters.current_version(store)
    stored = stored_matches.stored_matches(store, current.version).get(line) if current else None
    allowed = {v for v, _ in stored.candidates} if stored else set()
    if choice != NOT_ON_FILE and choice not in allowed:
        raise ValueError("pick one of the line's candidates, or none")
    with store.transaction(durable=True):
        hold_for_submit(store, item, user, now=now)
        stored_matches.append_match_decision(store, line, "" if choice == NOT_ON_FILE else choice, decided_by=user)
        leases.release_lease(store, item, user)


@router.get("/voters")
def voters_page(request: Request, current: auth.Session = Depends(session)) -> Response:
    item = next_match(workspace(request), current.user.name, now=clock(request),
                      lease_seconds=settings_of(request).lease_seconds)
    return render(request, "voters.html", current, match=item)


@router.post("/voters/decide")
def voters_decide(request: Request, item: str = Form(...), voter: str = Form(...),
                  current: auth.Session = Depends(csrf_session)) -> Response:
    try:
        decide_match(workspace(request), item, current.user.name, voter, now=clock(request))
    except LeaseLost as exc:
        raise HTTPException(409, "this line is no longer yours; take the next one") from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return RedirectResponse("/voters", status_code=303)
