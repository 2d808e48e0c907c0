"""rows.csv gains voter_id, match_status, match_score; the roster merges lines matched to one voter."""

from __future__ import annotations

import csv

import pytest

from pipeline.dedupe import Person, dedupe
from pipeline.export import ROSTER_COLUMNS, build_roster, effective_lines, rows_export, write_table
from pipeline.match import match_workspace
from pipeline.names import parse_name
from pipeline.rows import ROW_COLUMNS
from tests.pipeline.voters.support import make_workspace


@pytest.fixture
def workspace(tmp_path):
    store = make_workspace(tmp_path / "ws")
    match_workspace(store, pixels=False)
    yield store
    store.close()


def test_rows_csv_ends_with_the_match_columns_and_keeps_leading_zeros(workspace, tmp_path):
    path = tmp_path / "rows.csv"
    write_table(rows_export(effective_lines(workspace)), path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:len(ROW_COLUMNS)] == ROW_COLUMNS
    assert header[-3:] == ["voter_id", "match_status", "match_score"]
    first = rows[0]
    assert (first["voter_id"], first["match_status"], first["zip"]) == ("100", "matched", "02134")
    assert float(first["match_score"]) > 0.9
    assert rows[-1]["match_status"] == ""  # the name-only line is not matched


def test_the_roster_gains_voter_id(workspace):
    roster, _ = build_roster(workspace)
    assert list(roster.columns[:len(ROSTER_COLUMNS)]) == ROSTER_COLUMNS and roster.columns[-1] == "voter_id"
    assert set(roster["voter_id"]) >= {"100", "200", "400"}


def test_without_a_voter_file_rows_and_roster_are_as_before(tmp_path):
    from pipeline.store import Workspace
    from tests.pipeline.voters.support import FILE_SHA, page

    store = Workspace.open(tmp_path / "plain")
    store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="ok")
    store.save_page(FILE_SHA, page())
    assert "voter_id" not in rows_export(effective_lines(store)).columns
    assert "voter_id" not in build_roster(store)[0].columns
    store.close()


def test_two_lines_matched_to_one_voter_are_one_signer_and_two_voters_are_two():
    def person(line: int, name: str, voter_id: str) -> Person:
        return Person(id=f"line:{'ab' * 32}:1:{line}", name=parse_name(name), voter_id=voter_id)

    same_voter = dedupe([person(1, "Koa Mensah", "100"), person(2, "Kofi Mensa", "100")])
    assert len(same_voter.clusters) == 1
    namesakes = dedupe([person(1, "Imani Vargas", "200"), person(2, "Imani Vargas", "201")])
    assert len(namesakes.clusters) == 2
    assert [p.reasons for p in namesakes.possible] and "voter_differs" in namesakes.possible[0].reasons
