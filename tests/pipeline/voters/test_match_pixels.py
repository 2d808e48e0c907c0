"""The pixels decide: a sample sheet read by the machine, its name crops scored against candidate names, and the
sheet matched end to end against a voter file rendered from its truth (samples/voter_file.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.add import add_paths
from pipeline.job import ReadJob
from pipeline.match import match_workspace, signed_lines
from pipeline.match_eval import evaluate_matches
from pipeline.match_pixels import CropScorer
from pipeline.store import Workspace
from pipeline.store.voters import Voter
from pipeline.voter_import import import_voter_file
from samples.voter_file import write_voter_file
from scanner.read import ReadSettings
from tests.support import SCANS

SHEET = "seed_clean.png"


@pytest.fixture(scope="module")
def read_sheet(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pixels") / "ws"
    store = Workspace.open(root)
    report = add_paths(store, [SCANS / SHEET], job=ReadJob(settings=replace(ReadSettings(), keep_crops=True)))
    assert report.all_read
    store.close()
    return root


def _voter(first: str, last: str) -> Voter:
    return Voter("x", 2, first, "", last, "", "", "", "", None, first.lower(), last.lower())


def test_the_crop_explains_the_written_name_and_refuses_one_letter_off(read_sheet):
    store = Workspace.open(read_sheet, create=False)
    line = next(x for x in signed_lines(store) if x.id.line_no == 1)  # KOA MENSAH on the sheet
    scorer = CropScorer()
    matrix = scorer.matrix(store.crop_path(line.name_crop))
    voters = [_voter("Koa", "Mensah"), _voter("Koa", "Nensah"), _voter("Kofi", "Mensah")]
    (right, _), (off, _), (other, _) = scorer.gaps(matrix, line.name, voters, [False, True, True])
    store.close()
    assert right < 1.0 and off > right + 5.0 and other > right + 5.0


def test_the_sheet_matched_against_a_voter_file_with_decoys(read_sheet, tmp_path):
    truth = json.loads((SCANS / "truth.json").read_text(encoding="utf-8"))
    own = tmp_path / "truth.json"
    own.write_text(json.dumps({"version": 1, "files": {SHEET: truth["files"][SHEET]}}), encoding="utf-8")
    voters = tmp_path / "voters.csv"
    write_voter_file(own, voters, records=2_000, seed=3)
    store = Workspace.open(read_sheet, create=False)
    import_voter_file(store, voters)
    match_workspace(store)
    result = evaluate_matches(store, voters.with_name("voters.csv.truth.json"))
    store.close()
    assert result.lines >= 6 and result.unregistered_auto == 0
    assert result.precision == 1.0 and result.recall >= 0.8, result.report()
