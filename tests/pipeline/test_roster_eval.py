"""Roster evaluation: pairwise precision/recall of the machine's roster against truth person ids (no OCR here)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.evaluate import truth_frame
from pipeline.roster_eval import (RosterScores, evaluate_roster, misses, person_frame, roster_report,
                                  roster_section, truth_rows, with_persons)

ROW_COLUMNS = ["file", "page", "line", "status", "name", "name_confidence", "needs_review", "review_reasons", "zip",
               "email"]


def write_truth(folder: Path, lines: dict[str, list[tuple]], *, persons: bool = True) -> Path:
    """truth.json with one page per file; each line (status, name, person, zip)."""
    files = {}
    for file_name, entries in lines.items():
        page_lines = []
        for number, (status, name, person, zip_code) in enumerate(entries, start=1):
            line = {"line": number, "status": status, "name": name, "fields": {"zip": zip_code} if zip_code else {}}
            if persons:
                line["person"], line["repeat"] = person, ""
            page_lines.append(line)
        files[file_name] = {"pages": [{"page": 1, "layout": "ballot", "name_font": "x", "name_style": "print",
                                       "lines": page_lines}]}
    path = folder / "truth.json"
    path.write_text(json.dumps({"version": 1, "files": files}), encoding="utf-8")
    return path


def rows(entries: list[tuple]) -> pd.DataFrame:
    """A rows.csv frame as read back (all strings); each entry (file, line, status, name, zip)."""
    return pd.DataFrame([{"file": f, "page": "1", "line": str(n), "status": s, "name": name, "name_confidence": "0.900",
                          "needs_review": "true", "review_reasons": "", "zip": z, "email": ""}
                         for f, n, s, name, z in entries], columns=ROW_COLUMNS)


def truth_of(path: Path) -> pd.DataFrame:
    return with_persons(truth_frame(path), person_frame(path))


# Two true pairs (Maria Lopez twice; Kwame Mensah twice) and two namesakes (different people, same name).
TRUTH = {
    "a.png": [("signed", "Maria Lopez", "p1", ""), ("signed", "Kwame Mensah", "p2", ""),
              ("signed", "Dolores Quintanilla", "p3", ""), ("blank", "", "", "")],
    "b.png": [("signed", "MARIA LOPEZ", "p1", ""), ("signed", "Kwame Mensah", "p2", ""),
              ("signed", "Dolores Quintanilla", "p4", ""), ("name_only", "Ottoline Vasquez-Brandt", "p5", "")],
}


def test_one_pair_found_one_missed_one_false_merge(tmp_path):
    truth = truth_of(write_truth(tmp_path, TRUTH))
    read = rows([("a.png", 1, "signed", "Maria Lopez", ""), ("a.png", 2, "signed", "Kwame Mensah", ""),
                 ("a.png", 3, "signed", "Dolores Quintanilla", ""), ("a.png", 4, "blank", "", ""),
                 ("b.png", 1, "signed", "MARIA LOPEZ", ""),
                 ("b.png", 2, "name_only", "Kwame Mensah", ""),  # not called signed: off the roster, pair missed
                 ("b.png", 3, "signed", "Dolores Quintanilla", ""),  # a namesake: merged, wrongly
                 ("b.png", 4, "name_only", "Ottoline Vasquez-Brandt", "")])
    evaluation = evaluate_roster(read, truth)
    s = evaluation.scores
    assert (s.truth_pairs, s.found, s.merged_pairs, s.right, s.offered) == (2, 1, 2, 1, 0)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(0.5) and s.f1 == pytest.approx(0.5)
    assert roster_report(s) == ("roster: 2 repeat pairs in truth; found 1 (recall 0.500), 2 merged pairs, 1 right "
                                "(precision 0.500), F1 0.500; 0 more offered for review (of 0 offered)")
    why = misses(read, truth, evaluation).set_index("kind")["why"].to_dict()
    assert why == {"missed": "not read as signed", "wrong merge": "different people merged"}


def test_lines_the_machine_did_not_read_count_as_missed(tmp_path):
    truth = truth_of(write_truth(tmp_path, TRUTH))
    read = rows([("a.png", 1, "signed", "Maria Lopez", "")])  # b.png failed: no lines at all
    s = evaluate_roster(read, truth).scores
    assert (s.truth_pairs, s.found, s.merged_pairs) == (2, 0, 0)
    assert s.recall == 0.0 and s.f1 == 0.0


def test_a_one_letter_misread_with_the_same_zip_still_pairs(tmp_path):
    truth = truth_of(write_truth(tmp_path, {
        "a.png": [("signed", "John Smith", "p1", "20001"), ("signed", "Ana Ruiz", "p2", "")],
        "b.png": [("signed", "John Smith", "p1", "20001"), ("signed", "Ana Ruiz", "p2", "")]}))
    # Smith is common: a misspelt first name needs a zip to confirm it (pipeline/dedupe.py), and here it has one.
    read = rows([("a.png", 1, "signed", "John Smith", "20001"), ("b.png", 1, "signed", "Jahn Smith", "20001"),
                 ("a.png", 2, "signed", "Ana Ruiz", ""), ("b.png", 2, "signed", "Ana Ruiz", "")])
    s = evaluate_roster(read, truth).scores
    assert (s.truth_pairs, s.found, s.merged_pairs, s.right) == (2, 2, 2, 2)
    assert s.f1 == pytest.approx(1.0)
    # Without the zip the same misread is only offered for review: missed, but counted as offered.
    unconfirmed = read.assign(zip="")
    s = evaluate_roster(unconfirmed, truth).scores
    assert (s.found, s.merged_pairs, s.offered, s.offered_all) == (1, 1, 1, 1)
    assert s.recall == pytest.approx(0.5) and s.precision == pytest.approx(1.0)


def test_three_sightings_are_three_pairs_and_truth_rows_read_perfectly(tmp_path):
    truth = truth_of(write_truth(tmp_path, {name: [("signed", "Wilhelmina Zabriskie", "p7", "")]
                                            for name in ("a.png", "b.png", "c.png")}))
    s = evaluate_roster(truth_rows(truth), truth).scores
    assert s == RosterScores(truth_pairs=3, found=3, merged_pairs=3, right=3, offered=0, offered_all=0)


def test_section_is_empty_without_person_ids_or_repeat_pairs(tmp_path):
    path = write_truth(tmp_path, TRUTH, persons=False)
    assert person_frame(path) is None
    assert roster_section(rows([]), truth_frame(path), path) == ""
    single = write_truth(tmp_path, {"a.png": [("signed", "Maria Lopez", "p1", "")],
                                    "b.png": [("signed", "Kwame Mensah", "p2", "")]})
    assert roster_section(rows([]), truth_frame(single), single) == ""


def test_petition_eval_prints_the_roster_block_after_the_other_figures(tmp_path):
    write_truth(tmp_path, TRUTH)
    read = rows([("a.png", 1, "signed", "Maria Lopez", ""), ("b.png", 1, "signed", "Maria Lopez", ""),
                 ("a.png", 2, "signed", "Kwame Mensah", ""), ("b.png", 2, "signed", "Kwame Mensah", "")])
    read.to_csv(tmp_path / "rows.csv", index=False)
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--rows", str(tmp_path / "rows.csv")])
    assert result.exit_code == 0, result.output
    out = result.output.rstrip("\n").split("\n")
    assert out[-1] == ("roster: 2 repeat pairs in truth; found 2 (recall 1.000), 2 merged pairs, 2 right "
                       "(precision 1.000), F1 1.000; 0 more offered for review (of 0 offered)")
    assert out[0].startswith("lines found") and any(line.startswith("ECE ") for line in out)
    # Without person ids the output is what it always was: no roster line.
    write_truth(tmp_path, TRUTH, persons=False)
    plain = CliRunner().invoke(app, ["eval", str(tmp_path), "--rows", str(tmp_path / "rows.csv")])
    assert plain.exit_code == 0 and "roster:" not in plain.output
    assert plain.output.split("\n") == result.output.split("\n")[:-3] + [""]


def test_misses_say_why_a_pair_read_right_stayed_apart(tmp_path):
    truth = truth_of(write_truth(tmp_path, {"a.png": [("signed", "José Echeverría", "p1", "")],
                                            "b.png": [("signed", "Pepe Echeverría", "p1", "")]}))
    read = rows([("a.png", 1, "signed", "JOSÉ ECHEVERRIA", ""), ("b.png", 1, "signed", "Pepe Echeverría", "")])
    evaluation = evaluate_roster(read, truth)
    assert evaluation.scores.found == 0
    (why,) = misses(read, truth, evaluation)["why"]
    assert why == "read right, not matched (first names 'José'/'Pepe' not linked by the nickname table)"
