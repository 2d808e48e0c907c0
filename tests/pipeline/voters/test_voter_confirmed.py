"""A line whose only doubt is its name's spelling leaves the review queue while the voter file matches it; every
other doubt stays, a person's "not on the file" reopens it, and status, the queue, exports and the stored roster
agree on which lines are open (real SQLite, the real matcher on typed lines)."""

from __future__ import annotations

import pytest

from pipeline import roster
from pipeline.export import effective_lines
from pipeline.match import match_workspace
from pipeline.status import format_status, workspace_status
from pipeline.store import LineId, Workspace
from pipeline.store import matches as stored_matches
from pipeline.store import review as review_queue
from pipeline.store import roster as stored_roster
from pipeline.voter_import import import_voter_file
from scanner.types import (InkMeasure, LineReading, LineStatus, PageRef, PageResult, PageStatus, Presence,
                           ReviewReason, Role, TextRead)
from tests.pipeline.voters.support import FILE_SHA, VOTERS

LOW = (ReviewReason.LOW_NAME_CONFIDENCE,)
# line -> (name, address, zip, the machine's review reasons)
LINES = {
    1: ("Koa Mensah", "12 Oak St", "02134", LOW),  # matched: the voter file answers the spelling
    2: ("Bob Smith", "5 Pine Rd", "60601", (*LOW, ReviewReason.LAYOUT_GUESSED)),  # matched, but the layout is a guess
    3: ("Imani Vargas", "", "", LOW),  # two namesakes: ambiguous, still open
    4: ("Tess Ali", "", "", LOW),  # nobody near: still open
    5: ("Imani Vargas", "4871 Forest Blvd", "22863", ()),  # the machine was sure: never asked
}


def _page() -> PageResult:
    ink = InkMeasure(Presence.PRESENT, 0.1, 0.6)
    readings = tuple(
        LineReading(line=number, status=LineStatus.SIGNED, name=TextRead(name, 0.5 if reasons else 0.99),
                    fields={Role.ADDRESS: TextRead(address, 0.9), Role.ZIP: TextRead(zip_code, 0.9)},
                    signature=ink, name_ink=ink, struck=False, needs_review=bool(reasons), review_reasons=reasons)
        for number, (name, address, zip_code, reasons) in LINES.items())
    return PageResult(ref=PageRef(path="sheet.png", file_name="sheet.png", page=1, kind="image", dpi=0),
                      status=PageStatus.OK, sha256="1e" * 32, lines=readings, roles=(Role.ADDRESS, Role.ZIP))


@pytest.fixture
def workspace(tmp_path):
    store = Workspace.open(tmp_path / "ws")
    store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="ok")
    store.save_page(FILE_SHA, _page())
    roster.update(store)  # built before the voter file: matching must refresh the stored rows
    yield store
    store.close()


def _import(store: Workspace, tmp_path, text: str) -> None:
    path = tmp_path / "voters.csv"
    path.write_text(text, encoding="utf-8")
    import_voter_file(store, path)


def _open_lines(store: Workspace) -> set[int]:
    return {line.line_no for line in review_queue.open_lines(store)}


def _queue(store: Workspace, user: str) -> list[int]:
    """Every line the queue offers this volunteer, in order (each skipped so that the next is offered)."""
    offered = []
    while (line := review_queue.worst_free_line(store, user, now=0.0)) is not None:
        offered.append(line.line_no)
        store.db.execute("INSERT INTO review_actions (item, kind, user_name, at, day) VALUES (?, 'skip', ?, 0, '')",
                         (str(line), user))
    return offered


def _assert_every_reader_agrees(store: Workspace) -> None:
    """The view, the line counts' fast path, the stored roster's members and its rendered rows say the same."""
    roster.update(store)
    frame = effective_lines(store)
    view = {int(r.line): bool(r.needs_review) for r in frame.itertuples()}
    assert stored_roster.line_counts(store).to_review == sum(view.values())
    members = {m.line_no: bool(m.needs_review) for m in stored_roster.members(store, _version(store))}
    assert members == view
    states = {}  # per source line, what its signer's row says of it
    for row in stored_roster.stored_rows(store, stored_roster.ROW_COLUMNS):
        for source, state in zip(row[5].split(";"), row[6].split(";")):
            states[int(source.rsplit(":", 1)[1])] = state
    people = {int(r.line) for r in frame.itertuples() if r.human_confirmed}
    assert states == {k: "human" if k in people else "review" if v else "auto" for k, v in view.items()}


def _version(store: Workspace) -> int | None:
    row = store.db.execute("SELECT max(version) FROM voter_files WHERE state = 'loaded'").fetchone()
    return row[0]


def test_only_a_name_spelling_the_voter_file_matches_leaves_the_queue(workspace, tmp_path):
    assert _open_lines(workspace) == {1, 2, 3, 4}
    _import(workspace, tmp_path, VOTERS)
    assert _open_lines(workspace) == {1, 2, 3, 4}  # imported, not yet matched: nothing answered
    match_workspace(workspace, pixels=False)
    version = _version(workspace)
    found = {line.line_no: m.status for line, m in stored_matches.effective_matches(workspace, version).items()}
    assert (found[1], found[2], found[3], found[4]) == ("matched", "matched", "ambiguous", "not_found")
    assert _open_lines(workspace) == {2, 3, 4}
    assert sorted(_queue(workspace, "vol")) == [2, 3, 4]
    counts = stored_roster.line_counts(workspace)
    assert (counts.to_review, counts.voter_confirmed) == (3, 1)
    assert "answered by the voter file" in format_status(workspace_status(workspace))
    rows = effective_lines(workspace).set_index("line")
    assert not rows.loc[1, "needs_review"] and rows.loc[1, "name"] == "Koa Mensah"  # the sheet's reading is kept
    assert rows.loc[1, "review_reasons"] == "LOW_NAME_CONFIDENCE"  # why the machine asked stays on record
    _assert_every_reader_agrees(workspace)


def test_a_persons_match_verdict_opens_or_closes_the_line(workspace, tmp_path):
    _import(workspace, tmp_path, VOTERS)
    match_workspace(workspace, pixels=False)
    with workspace.transaction():
        stored_matches.append_match_decision(workspace, LineId(FILE_SHA, 1, 1), "", decided_by="vol")
        stored_matches.append_match_decision(workspace, LineId(FILE_SHA, 1, 3), "201", decided_by="vol")
    assert _open_lines(workspace) == {1, 2, 4}  # "not on the file" reopens 1; the pick answers 3
    _assert_every_reader_agrees(workspace)
    with workspace.transaction():  # the latest verdict wins: a voter again closes it
        stored_matches.append_match_decision(workspace, LineId(FILE_SHA, 1, 1), "100", decided_by="vol2")
    assert _open_lines(workspace) == {2, 4}
    _assert_every_reader_agrees(workspace)


def test_a_new_voter_file_without_the_voter_reopens_the_line(workspace, tmp_path):
    _import(workspace, tmp_path, VOTERS)
    match_workspace(workspace, pixels=False)
    assert 1 not in _open_lines(workspace)
    without_mensah = "\n".join(line for line in VOTERS.splitlines() if "MENSAH" not in line) + "\n"
    _import(workspace, tmp_path, without_mensah)
    assert 1 in _open_lines(workspace)  # the old version's match answers nothing now
    match_workspace(workspace, pixels=False)
    assert 1 in _open_lines(workspace)
    _assert_every_reader_agrees(workspace)


def test_a_person_confirming_the_line_still_counts_as_a_person(workspace, tmp_path):
    _import(workspace, tmp_path, VOTERS)
    match_workspace(workspace, pixels=False)
    workspace.record_decision(file_sha256=FILE_SHA, page_no=1, line_no=1, field="reviewed", value="yes",
                              decided_by="vol")
    counts = stored_roster.line_counts(workspace)
    assert (counts.human_decided, counts.voter_confirmed) == (1, 0)
    _assert_every_reader_agrees(workspace)
