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


def _reading(*frames: dict[str, float]):
    """A v6-small matrix (folded as the matcher folds it): one frame per character, {character: probability}
    (the rest of each frame blank), with a blank frame between characters so that doubled letters read."""
    import numpy as np

    from scanner import ctc, pp_ocr
    from scanner.handwriting import CHARSETS
    from scanner.ocr import TextKind

    alphabet = pp_ocr.alphabet(pp_ocr.Model.V6_SMALL)
    column = {c: i for i, c in enumerate(alphabet) if i}
    probs = np.full((2 * len(frames) + 1, len(alphabet)), 1e-7, dtype=np.float32)
    probs[0::2, 0] = 1.0
    for index, weights in enumerate(frames):
        for char, weight in weights.items():
            probs[2 * index + 1, column[char]] = weight
        probs[2 * index + 1, 0] = max(1e-7, 1.0 - sum(weights.values()))
    lines = pp_ocr.LineProbabilities(pp_ocr.Model.V6_SMALL, probs / probs.sum(axis=1, keepdims=True), alphabet)
    return ctc.fold_matrix(lines, CHARSETS[TextKind.NAME])


def _plain(text: str):
    return _reading(*({c: 1.0} for c in text))


def _gap(matrix, reading: str, voter: Voter, **written) -> float:
    ((gap, _),) = CropScorer().gaps(matrix, reading, [voter], [True], **written)
    return gap


def test_a_period_the_reader_tidied_away_costs_no_candidate_anything():
    """The crop says "Em Diaz Jr." and the reader keeps "Em Diaz Jr" (a final period is no part of a name). The
    recognizer's best path, the bar a differing candidate is measured against, is tidied the same way: EMMA DIAZ,
    written with the nickname and suffix the line shows, explains the crop as well as the reading does (it was
    13 nats short, the period's whole weight)."""
    matrix = _plain("Em Diaz Jr.")
    assert _gap(matrix, "Em Diaz Jr", _voter("EMMA", "DIAZ"), first="Em", suffix="Jr") < 0.5


def test_a_bar_at_a_words_start_is_i_or_l_for_the_voters_name():
    """A capital I and a small l are one bare bar: a crop read "Imani lyer" explains IMANI IYER as well as its
    reading, and a bar read "I" explains LUIS as "luis"; a letter the crop shows plainly is still refused."""
    assert _gap(_plain("Imani lyer"), "Imani lyer", _voter("IMANI", "IYER")) < 0.5
    assert _gap(_plain("Iuis Soto"), "Iuis Soto", _voter("LUIS", "SOTO")) < 0.5
    assert _gap(_plain("Imani Ayer"), "Imani Ayer", _voter("IMANI", "IYER")) > 10.0


def test_a_middle_name_is_written_without_the_initials_the_file_adds():
    """The file holds MARÍA, middle JOSÉ A. LÓPEZ, AVENDAÑO; she signs "María José López Avendaño"."""
    voter = Voter("x", 2, "MARÍA", "JOSÉ A. LÓPEZ", "AVENDAÑO", "", "", "", "", None, "maria", "avendano")
    reading = "Maria José López Avendaño"
    assert _gap(_plain(reading), reading, voter) < 0.5
