"""Scoring against truth: the calibration (reliability) table, and both recognizers side by side."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.evaluate import reliability, report, score
from tests.support import SCANS


def _frames(rows: list[tuple[str, str, float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    truth = pd.DataFrame({"file": "a.png", "page": 1, "line": range(1, len(rows) + 1),
                          "truth_name": [t for t, _, _ in rows], "truth_status": "signed"})
    read = pd.DataFrame({"file": "a.png", "page": "1", "line": [str(i) for i in range(1, len(rows) + 1)],
                         "name": [r for _, r, _ in rows], "name_confidence": [f"{c:.3f}" for _, _, c in rows]})
    return read, truth


def test_reliability_bins_predicted_against_observed():
    rows = [("Ana Reyes", "Ana Reyes", 0.995)] * 9 + [("Ana Reyes", "Ana Reves", 0.995)]
    rows += [("Li Wu", "Li Wu", 0.6), ("Li Wu", "Li Vu", 0.6)]
    read, truth = _frames(rows)
    table = reliability(read, truth)
    assert "0.99-1.00      10      0.995     0.900" in table
    assert "0.50-0.80       2      0.600     0.500" in table
    # ECE = (10 * |0.995 - 0.9| + 2 * |0.6 - 0.5|) / 12
    assert f"ECE {(10 * 0.095 + 2 * 0.1) / 12:.3f}" in table


def test_reliability_ignores_names_not_read():
    read, truth = _frames([("Ana Reyes", "", 0.0)])
    assert reliability(read, truth) == "calibration: no names read"


@pytest.mark.slow
def test_eval_prints_both_recognizers_side_by_side(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "seed_clean.png").write_bytes((SCANS / "seed_clean.png").read_bytes())
    import json

    truth = json.loads((SCANS / "truth.json").read_text(encoding="utf-8"))
    truth["files"] = {"seed_clean.png": truth["files"]["seed_clean.png"]}
    (folder / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(folder), "--recognizer", "both"])
    assert result.exit_code == 0, result.output
    assert "== recognizer: pp-ocr ==" in result.output and "== recognizer: tesseract ==" in result.output
    assert result.output.count("name exact match") == 2
    assert result.output.count("name confidence calibration") == 2


def test_review_rate_on_signed_and_blank_lines_leaves_out_lines_that_always_go():
    from pipeline.evaluate import score

    truth = pd.DataFrame({"file": "a.png", "page": 1, "line": [1, 2, 3, 4],
                          "truth_status": ["signed", "blank", "name_only", "struck"],
                          "truth_name": ["Ana Reyes", "", "Li Wu", "Bo Kim"]})
    rows = pd.DataFrame({"file": "a.png", "page": "1", "line": ["1", "2", "3", "4"],
                         "status": ["signed", "blank", "name_only", "struck"], "name": ["Ana Reyes", "", "Li Wu", ""],
                         "needs_review": ["true", "false", "true", "true"]})
    scores = score(rows, truth)
    assert scores.review_rate == 0.75
    assert scores.review_rate_plain == 0.5


def test_names_seen_and_exact_with_accents_aside():
    from pipeline.evaluate import report, score

    truth = pd.DataFrame({"file": "a.png", "page": 1, "line": [1, 2, 3, 4],
                          "truth_status": ["signed"] * 4,
                          "truth_name": ["José López", "Inès Roy", "Li Wu", "Bo Kim"]})
    rows = pd.DataFrame({"file": "a.png", "page": "1", "line": ["1", "2", "3", "4"],
                         "status": ["signed", "signed", "signature_only", "signed"],
                         "name": ["Jose Lopez", "Inès Roy", "", "Bo Kin"], "needs_review": "true"})
    scores = score(rows, truth)
    assert (scores.names_seen, scores.names_exact, scores.names_exact_unaccented) == (3, 1, 2)
    assert "name seen as writing      75.0% (3/4)" in report(scores)
    assert "name exact, accents aside 50.0% (2/4)" in report(scores)


def test_blank_lines_called_written_are_counted_and_the_silent_ones_apart():
    truth = pd.DataFrame({"file": "a.png", "page": 1, "line": [1, 2, 3, 4, 5], "truth_name": ["Ana Reyes", "", "", "", ""],
                          "truth_status": ["signed", "blank", "blank", "blank", "blank"]})
    read = pd.DataFrame({"file": "a.png", "page": "1", "line": ["1", "2", "3", "4", "5"],
                         "status": ["signed", "blank", "signed", "uncertain", "blank"],
                         "name": ["Ana Reyes", "", "", "", "PRINTED NAME"],
                         "needs_review": ["false", "false", "false", "true", "true"]})
    scores = score(read, truth)
    assert (scores.blank_lines, scores.blank_kept_blank) == (4, 2)
    # line 3 is called signed without review; line 5 has the printed label read as a name (sent to review)
    assert (scores.blank_called_written, scores.blank_called_written_silently) == (2, 1)
    assert "blank lines kept blank    50.0% (2/4); called written 2, silently 1" in report(scores)


def test_names_accepted_without_review_but_wrong_are_listed_with_where_they_are():
    from pipeline.evaluate import accepted_misses

    truth = pd.DataFrame({"file": "a.png", "page": 1, "line": [1, 2, 3, 4, 5],
                          "truth_status": ["signed", "signed", "signed", "struck", "signed"],
                          "truth_name": ["Ana Reyes", "Li Wu", "Bo Kim", "Eva Ng", "Rui Sá"]})
    rows = pd.DataFrame({"file": "a.png", "page": "1", "line": ["1", "2", "3", "4", "5"],
                         "name": ["Ana Reyes", "Li Vu", "Bo Kin", "Eve Ng", "Rui Sa"],
                         "name_confidence": ["0.995", "0.990", "0.400", "0.990", "0.980"],
                         "needs_review": ["false", "false", "true", "false", "false"]})
    listing = accepted_misses(rows, truth).splitlines()
    # line 3 went to review and line 4 is struck out: neither was accepted as a signer's name
    assert listing[0] == "names accepted without review but wrong (2 of 3 accepted)"
    assert listing[1:] == ["  a.png page 1 line 2: read 'Li Vu', truth 'Li Wu', confidence 0.990",
                           "  a.png page 1 line 5: read 'Rui Sa', truth 'Rui Sá', confidence 0.980"]
    rows.loc[1, "name"], rows.loc[4, "name"] = "Li Wu", "Rui Sá"
    assert accepted_misses(rows, truth) == ""


def test_fields_are_scored_exactly_on_signers_lines_only():
    truth = pd.DataFrame({"file": "a.png", "page": 1, "line": [1, 2, 3, 4], "truth_name": ["Ana Reyes"] * 4,
                          "truth_status": ["signed", "signed", "signed", "struck"],
                          "truth_fields": [{"zip": "02134", "address": "12 Elm St"}, {"zip": "07001", "address": ""},
                                           {"zip": "", "address": "9 Oak Av"}, {"zip": "11111", "address": "1 Main"}]})
    read = pd.DataFrame({"file": "a.png", "page": "1", "line": ["1", "2", "3", "4"], "name": ["Ana Reyes"] * 4,
                         "name_confidence": "0.5", "needs_review": "true", "status": "signed",
                         "zip": ["02134", "7001", "", "11111"], "address": ["12  ELM st", "", "9 Oak Ave", "1 Main"]})
    scores = score(read, truth)
    # the zip that lost its leading zero is wrong; empty truths and the struck line are not counted
    assert dict((f, (e, t)) for f, e, t in scores.fields_exact) == {"address": (1, 2), "zip": (1, 2)}
    assert "fields exact              address 50.0% (1/2), zip 50.0% (1/2)" in report(scores)
