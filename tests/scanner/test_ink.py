"""Ink: stray marks and overflowing signatures on otherwise blank lines (drawn on a blank rendered form)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from PIL import Image

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


# ---------------------------------------------------------------- sub-rows only where they are (the city form)


def _city_page():
    from samples import city_form

    return city_form.blank_form(DPI), city_form.city_form_layout(DPI)


def _context(gray: np.ndarray):
    from scanner.context import PageContext
    from scanner.debug import DebugWriter
    from scanner.layout import find_layout
    from scanner.ocr import default_engine
    from scanner.read import ReadSettings, reader_for
    from tests.support import page_from_array

    settings, engine = ReadSettings(), default_engine()
    found = find_layout(page_from_array(gray), settings=settings, engine=engine)
    return PageContext(found.upright.gray, found.masks, found.layout, found.scale, settings,
                       reader_for(settings, engine), DebugWriter.off())


def test_a_name_across_the_middle_of_a_whole_line_cell_keeps_its_strokes():
    """The left cell's sub-row rule is no rule in the name column: a level stroke of a name written across the
    line's middle there (a joined script's connector, a T's bar) stays writing. It was erased as that rule's,
    leaving "G.... Valcourt"."""
    from PIL import ImageDraw

    from scanner.ink import writing_masks

    page, form = _city_page()
    blank = _context(to_gray(page)).gray  # as upright as the written page will be
    line = form.lines[1]
    cell = line.cells["name"]
    split = line.cells["signature"].y1  # the height of the left cell's sub-row rule
    middle = render.Box(cell.x0, line.box.y0 + 0.25 * line.box.h, cell.x1, line.box.y1 - 0.1 * line.box.h)
    render._write_text(page, random.Random(4), "kalam", "Guerline Valcourt", middle, 0.55, 30, 0)
    ImageDraw.Draw(page).line([(cell.x0 + 60, split), (cell.x0 + 200, split)], fill=30, width=3)
    context = _context(to_gray(page))
    written = (context.gray < 128) & (blank >= 200)
    kept = writing_masks(context).writing > 0
    assert np.count_nonzero(written) > 0
    assert np.count_nonzero(written & kept) >= 0.97 * np.count_nonzero(written)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_signature_mostly_in_the_address_sub_row_still_signs_its_line(seed):
    """A big signature that starts in the SIGNATURE sub-row and runs on into the ADDRESS sub-row below: the
    line is signed, not blank; an address alone in its sub-row signs nothing."""
    page, form = _city_page()
    before = to_gray(page).copy()
    rng = random.Random(seed)
    line, other = form.lines[2], form.lines[3]
    cell, height = line.cells["signature"], line.box.h
    low = render.Box(cell.x0, line.box.y0 + 0.15 * height, cell.x1, line.box.y1 - 0.05 * height)
    render._write_signature(page, rng, "Marites Mercado", low, 0, 20)
    render._write_text(page, rng, "kalam", "2800 Grand Ct", other.cells["address"], 0.5, 20, 0)
    gray = to_gray(page)
    new = (gray < 128) & (before >= 200)
    split = round(cell.y1)
    upper = np.count_nonzero(new[round(line.box.y0) : split])
    lower = np.count_nonzero(new[split : round(line.box.y1)])
    assert 0 < upper < lower  # the signature really lies mostly in the ADDRESS sub-row
    statuses = [r.status for r in read_gray(gray).lines]
    assert statuses == [LineStatus.BLANK, LineStatus.BLANK, LineStatus.SIGNATURE_ONLY, LineStatus.BLANK,
                        LineStatus.BLANK]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_line_struck_through_the_sub_row_rule_is_struck(seed):
    """The city form's strike runs along the left cell's sub-row rule (erased with it) and through the narrow
    DATE and WARD cells, whose dividers cut it into pieces shorter than a level run: still a strike."""
    page, form = _city_page()
    rng = random.Random(seed)
    line = form.lines[1]
    render._write_text(page, rng, "kalam", "Rodel Ito", line.cells["name"], 0.4, 25, 0)
    render._write_signature(page, rng, "Rodel Ito", line.cells["signature"], 0, 25)
    render._write_text(page, rng, "kalam", "2/22/26", line.cells["date"], 0.28, 25, 0)
    render._strike(page, rng, line, 25, DPI)
    statuses = [r.status for r in read_gray(to_gray(page)).lines]
    assert statuses == [LineStatus.BLANK, LineStatus.STRUCK, LineStatus.BLANK, LineStatus.BLANK, LineStatus.BLANK]


def test_a_signature_touching_a_heavier_one_above_stays_its_own(tmp_path):
    """Calibration-font sheet (seed 41, the first): line 5's short signature "kojo fall" touches the rule
    under line 4's long one, which reaches down to it. Writing a third of its cell tall is the line's own
    however heavy the stroke above it: line 5 stays signed (moved up as a tail, it read name-only)."""
    from samples.handwriting import write_handwriting_eval_set

    paths = write_handwriting_eval_set(tmp_path, 1, split="calibration", seed=41, repeat_share=0.3)
    truth = json.loads((tmp_path / "truth.json").read_text())["files"][paths[0].name]["pages"][0]["lines"]
    assert truth[4]["status"] == "signed"
    statuses = {r.line: r.status.value for r in read_gray(np.asarray(Image.open(paths[0]).convert("L"))).lines}
    assert statuses[5] == "signed"
    assert statuses[4] == truth[3]["status"]


def test_a_struck_lines_fields_are_read_cell_by_cell():
    """The strike through line 11 of the sample ballot batch joins its zip and date into one stroke with the
    strike's piece over the date: handed whole to the date cell, they read as one date "830003/20/26" and the
    zip as nothing. A struck line's cells are read each from its own pixels."""
    from pipeline.batch import ReadJob, triage
    from scanner.read import read_file_page
    from scanner.types import Role
    from tests.support import SCANS

    job = ReadJob(workers=1)
    page = next(ref for file in triage([SCANS / "ballot_batch.pdf"], job) for ref in file.pages)
    line = next(reading for reading in read_file_page(page, settings=job.settings).lines if reading.line == 11)
    assert line.status is LineStatus.STRUCK
    assert {role: read.text for role, read in line.fields.items()} == {
        Role.ADDRESS: "9801 Cherry Ave", Role.ZIP: "83000", Role.DATE: "3/20/26"}


def test_a_line_written_all_in_pale_ink_goes_to_a_person_not_blank():
    """A worn ballpoint: the name and the signature of line 5 are both lighter than the ink threshold (grey 215
    on white: 84% of the paper). Called blank, the signer would be dropped with no one looking; the line is
    uncertain and goes to review. Pale ink beside dark writing (a stroke's anti-aliased edge) counts for
    nothing: the other lines, written dark, keep their verdicts, and the blank lines stay blank."""
    page, lines = blank_form("seed")
    rng = random.Random(5)
    pale, dark = lines[4], lines[1]
    render._write_text(page, rng, "kalam", "Travis Whitaker", pale.cells["name"], 0.4, 215, 0)
    render._write_signature(page, rng, "Travis Whitaker", pale.cells["signature"], 0, 215)
    render._write_text(page, rng, "kalam", "Rodel Ito", dark.cells["name"], 0.4, 25, 0)
    render._write_signature(page, rng, "Rodel Ito", dark.cells["signature"], 0, 25)
    gray = to_gray(page)
    for cell in (pale.cells["name"], pale.cells["signature"]):  # no pixel of the writing as dark as ink
        assert gray[round(cell.y0) + 4 : round(cell.y1) - 4, round(cell.x0) + 4 : round(cell.x1) - 4].min() >= 200
    result = read_gray(gray)
    statuses = {r.line: r.status for r in result.lines}
    assert statuses[5] is LineStatus.UNCERTAIN and result.lines[4].needs_review
    assert statuses[2] is LineStatus.SIGNED
    assert all(status is LineStatus.BLANK for line, status in statuses.items() if line not in (2, 5))
