"""Ink: stray marks and overflowing signatures on otherwise blank lines (drawn on a blank rendered form)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from samples import render
from scanner.types import LineStatus
from tests.support import DPI, blank_form, read_gray, to_gray


def _box_ink(gray: np.ndarray, box: render.Box, *, below: float = 0.0, above: float = 0.0) -> int:
    y0, y1 = round(box.y0 - above), round(box.y1 + below)
    return int(np.count_nonzero(gray[y0:y1, round(box.x0) : round(box.x1)] < 128))


def test_blank_form_reads_all_blank_without_review():
    image, lines = blank_form("seed")
    result = read_gray(to_gray(image))
    assert [r.status for r in result.lines] == [LineStatus.BLANK] * len(lines)
    assert not any(r.needs_review for r in result.lines)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stray_marks_on_blank_lines_stay_blank(seed):
    image, lines = blank_form("seed")
    before = to_gray(image).copy()
    rng = random.Random(seed)
    marked = {3: "name", 8: "signature", 12: "name", 14: "signature"}
    for number, role in marked.items():
        render._stray_mark(image, rng, lines[number - 1].cells[role], 20, DPI)
    after = to_gray(image)
    for number, role in marked.items():  # the marks are really there
        cell = lines[number - 1].cells[role]
        assert _box_ink(after, cell) > _box_ink(before, cell)
    result = read_gray(after)
    assert [r.status for r in result.lines] == [LineStatus.BLANK] * len(lines)


@pytest.mark.parametrize(("owner", "spill"), [(5, +1), (10, -1)])
def test_signature_overflowing_into_blank_neighbour_leaves_it_blank(owner, spill):
    image, lines = blank_form("seed")
    line = lines[owner - 1]
    rng = random.Random(owner)
    render._write_text(image, rng, "patrick-hand", "Maria Lopez", line.cells["name"], 0.55, 20, 0)
    before = to_gray(image).copy()
    render._write_signature(image, rng, "Maria Lopez", line.cells["signature"], spill, 20)
    after = to_gray(image)
    neighbour = lines[owner - 1 + spill]
    # The signature really crosses the rule into the neighbour's signature cell.
    assert _box_ink(after, neighbour.cells["signature"]) > _box_ink(before, neighbour.cells["signature"]) + 20
    statuses = {r.line: r.status for r in read_gray(after).lines}
    assert statuses[owner] is LineStatus.SIGNED
    assert statuses[neighbour.number] is LineStatus.BLANK
    others = {n: s for n, s in statuses.items() if n != owner}
    assert set(others.values()) == {LineStatus.BLANK}


def test_two_neighbours_both_signed_stay_signed_when_one_overflows():
    """The overflow rule must not eat a neighbour's own signature."""
    image, lines = blank_form("seed")
    rng = random.Random(7)
    for number, spill in ((6, +1), (7, 0)):
        cells = lines[number - 1].cells
        render._write_text(image, rng, "kalam", "Ana Reyes", cells["name"], 0.55, 25, 0)
        render._write_signature(image, rng, "Ana Reyes", cells["signature"], spill, 25)
    statuses = {r.line: r.status for r in read_gray(to_gray(image)).lines}
    assert statuses[6] is LineStatus.SIGNED and statuses[7] is LineStatus.SIGNED
    assert statuses[5] is LineStatus.BLANK and statuses[8] is LineStatus.BLANK


def test_rendered_sheet_statuses_match_truth(sheets):
    _, truth = sheets.sheet("seed", 1)
    result = sheets.reading("seed", 1)
    assert [r.status.value for r in result.lines] == [t.status for t in truth.lines]


def _strokes_in_cell(letter_height: int, row_height: int) -> tuple:
    """One line split into two sub-rows; the top sub-row holds spaced capitals of the given height."""
    from scanner.ink import Strokes
    from scanner.types import CellRef

    labels = np.zeros((row_height, 400), np.int32)
    stats = [[0, 0, 0, 0, 0]]
    for i, x in enumerate(range(20, 380, 40), start=1):  # "D A V I D  E D W A R D S": one component a letter
        labels[10 : 10 + letter_height, x : x + 14] = i
        stats.append([x, 10, 14, letter_height, 14 * letter_height])
    cell_of = np.array([-1] + [0] * (len(stats) - 1))
    return Strokes(labels, np.array(stats, np.int32), cell_of, (CellRef(0, 0),), row_height)


def test_spaced_capitals_in_a_sub_row_are_writing_not_stray_marks():
    from scanner.ink import InkThresholds, measure
    from scanner.types import Box, CellRef, Presence

    row_height = 200
    sub_row = Box(0, 0, 400, row_height // 2)
    # Letters a sixth of the line tall: below the stray-mark size of a whole line, well above a sub-row's.
    strokes = _strokes_in_cell(row_height // 6, row_height)
    assert measure(strokes, CellRef(0, 0), sub_row, InkThresholds()).presence is Presence.PRESENT
    # A dot-sized mark in the same sub-row is still a stray mark.
    specks = _strokes_in_cell(row_height // 25, row_height)
    assert measure(specks, CellRef(0, 0), sub_row, InkThresholds()).presence is Presence.ABSENT
