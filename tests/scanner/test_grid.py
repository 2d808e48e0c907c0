"""Grid: the ruled table's physical lines and sub-rows on each sample layout; no table on a text page."""

from __future__ import annotations

import numpy as np
import pytest

from scanner.errors import NoTableFound
from scanner.grid import find_grid, find_table, ruling_masks
from scanner.settings import LayoutSettings
from scanner.normalize import normalize
from scanner.ocr import default_engine
from scanner.roles import build_layout
from scanner.types import Role
from tests.support import (
    DPI,
    blank_form,
    page_from_array,
    read_gray,
    text_page,
    to_gray,
)


def _upright(gray: np.ndarray) -> np.ndarray:
    """As the reader sees the page: after normalize (a level sheet may still get a 0.1 degree turn)."""
    return normalize(page_from_array(gray)).gray


def _grid(gray: np.ndarray):
    return find_grid(ruling_masks(_upright(gray)))


def _layout(gray: np.ndarray):
    upright = _upright(gray)
    masks = ruling_masks(upright)
    return build_layout(upright, masks, find_grid(masks), default_engine())


def _evenly_spaced(ys) -> bool:
    gaps = np.diff(ys)
    return bool(gaps.min() > 0.85 * np.median(gaps) and gaps.max() < 1.15 * np.median(gaps))


@pytest.mark.parametrize("seed", [1, 2])
def test_seed_sheet_has_16_rules_and_15_lines(sheets, seed):
    grid = _grid(sheets.gray("seed", seed))
    assert len(grid.line_rules) == 16
    assert grid.slot_bounds == (0.0, 1.0)
    assert len(grid.slot_columns[0]) == 4  # table edges + NAME and SIGNATURE dividers
    assert _evenly_spaced(grid.line_rules)


# Seed 1's ballot sheet has a rule with two print gaps close together (the renderer's worn-photocopy rules).
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ballot_sheet_has_12_lines(sheets, seed):
    layout = _layout(sheets.gray("ballot", seed))
    assert len(layout.lines) == 12
    assert _evenly_spaced([ln.y0 for ln in layout.lines] + [layout.lines[-1].y1])
    assert layout.header is not None and layout.header.y1 <= layout.lines[0].y0 + 3


# Seed 3's stacked sheet has two struck lines: long level strokes next to the half-width sub-row rules.
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stacked_sheet_has_8_lines_of_two_slots(sheets, seed):
    grid = _grid(sheets.gray("stacked", seed))
    assert len(grid.line_rules) == 9
    assert len(grid.slot_bounds) == 3
    assert grid.slot_bounds[1] == pytest.approx(0.5, abs=0.05)
    # Top slot: number | name | email; bottom slot: number | signature | address (dividers at different x).
    top, bottom = grid.slot_columns
    assert len(top) == 4 and len(bottom) == 4
    assert top[2] != pytest.approx(bottom[2], abs=20)


def test_blank_sheets_have_their_drawn_number_of_lines():
    for layout, expected in (("seed", 15), ("ballot", 12), ("stacked", 8)):
        image, lines = blank_form(layout)
        assert len(lines) == expected
        found = _layout(to_gray(image))
        assert len(found.lines) == expected, layout
        # Found line boundaries sit on the drawn rules (the upright page may be a few px larger).
        drawn = [ln.box.y0 for ln in lines]
        assert np.abs(np.array([ln.y0 for ln in found.lines]) - np.array(drawn)).max() < 8, layout


def test_text_only_page_has_no_table():
    with pytest.raises(NoTableFound):
        find_grid(ruling_masks(to_gray(text_page())))


def test_blank_white_page_has_no_table():
    with pytest.raises(NoTableFound):
        find_grid(ruling_masks(np.full((2200, 1700), 255, np.uint8)))


def _faded(gray: np.ndarray, *, darkness: float, seed: int) -> np.ndarray:
    """The page as a washed-out photo shows it: every printed pixel `darkness` as far from the paper (240) as it
    was from white, with the sensor's noise (2 grey levels) on top."""
    rng = np.random.default_rng(seed)
    faded = 240.0 - (255.0 - gray.astype(np.float64)) * darkness * 240.0 / 255.0
    return np.clip(faded + rng.normal(0.0, 2.0, gray.shape), 0, 255).astype(np.uint8)


def _write_dark_words(gray: np.ndarray, lines, *, seed: int) -> None:
    """Dark words in most cells of most lines, each starting at the same x of its cell (left-aligned writing
    lines up down the page as a divider does)."""
    from PIL import Image, ImageDraw, ImageFont

    from tests.support import FONTS

    rng = np.random.default_rng(seed)
    image = Image.fromarray(gray)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        if index % 4 == 3:
            continue
        for cell in list(line.cells.values())[1:]:
            font = ImageFont.truetype(str(FONTS / "roboto-regular.woff"), int(cell.h * 0.45))
            word = "".join(rng.choice(list("Hamiltonbrdekyp"), size=int(rng.integers(4, 9))))
            draw.text((cell.x0 + 10, cell.y0 + cell.h * 0.25), word, font=font, fill=40)
    gray[:] = np.asarray(image)


def test_ruling_too_faint_for_any_pixel_threshold_is_found_averaged_along_the_rules():
    """A ballot sheet whose rules and dividers a washed-out photo left about 3% darker than the paper, with the
    noise of a phone's sensor: no single pixel of a rule stands out, so both per-pixel looks find no table; the
    third look averages the page along each rule and finds every line and every column. The dark writing in
    the cells, averaged, would pass for ruling: it is left out of the averages."""
    page, lines = blank_form("ballot")
    sharp = _grid(to_gray(page))
    gray = _faded(to_gray(page), darkness=0.1, seed=3)
    _write_dark_words(gray, lines, seed=4)
    upright = _upright(gray)
    with pytest.raises(NoTableFound):
        find_grid(ruling_masks(upright, settings=LayoutSettings(faint_contrast=LayoutSettings().retry_faint_contrast)))
    grid = find_table(upright).grid
    assert len(sharp.line_rules) >= len(lines) + 1  # the header band is one more at this stage
    assert len(grid.line_rules) == len(sharp.line_rules)
    assert np.abs(np.array(grid.line_rules) - np.array(sharp.line_rules)).max() <= 4
    assert len(grid.slot_columns[0]) == len(sharp.slot_columns[0]), grid.slot_columns
    found, drawn = np.array(grid.slot_columns[0]), np.array(sharp.slot_columns[0])
    assert np.abs(found[1:-1] - drawn[1:-1]).max() <= 3  # the dividers
    # This sheet has no side borders: its edges are where the rules end, and averaging along a rule carries its
    # end out by up to half the averaging length (a fortieth of the page's width); a few pixels of paper more
    # in the edge columns.
    assert np.abs(found[[0, -1]] - drawn[[0, -1]]).max() <= min(upright.shape) // 80


@pytest.mark.parametrize("page", ["blank", "text", "writing"])
def test_the_averaged_look_finds_no_table_in_paper_noise_print_or_writing(page):
    """The third look is the most sensitive: on a noisy photo of a blank page, of a text page, or of writing in
    a table that is not there (no ruling at all), it still finds none."""
    if page == "text":
        gray = _faded(to_gray(text_page()), darkness=1.0, seed=5)
    else:
        gray = _faded(np.full((3300, 2550), 255, np.uint8), darkness=1.0, seed=6)
        if page == "writing":
            _write_dark_words(gray, blank_form("ballot")[1], seed=7)
    with pytest.raises(NoTableFound):
        find_table(_upright(gray))


def test_reading_text_only_page_reports_no_table_status():
    from scanner.types import PageStatus

    with pytest.raises(NoTableFound) as raised:
        read_gray(to_gray(text_page()))
    assert raised.value.status is PageStatus.NO_TABLE


def test_layout_roles_of_each_sample_layout():
    expected = {
        "seed": {Role.LINE_NUMBER, Role.NAME, Role.SIGNATURE},
        "ballot": {Role.LINE_NUMBER, Role.NAME, Role.SIGNATURE, Role.ADDRESS, Role.ZIP, Role.DATE},
        "stacked": {Role.LINE_NUMBER, Role.NAME, Role.SIGNATURE, Role.EMAIL, Role.ADDRESS},
    }
    for layout, roles in expected.items():
        found = _layout(to_gray(blank_form(layout)[0]))
        # The stacked number column spans both sub-rows: one field, no half of it left OTHER.
        assert {f.role for f in found.fields} == roles, layout
        assert sum(f.role is Role.NAME for f in found.fields) == 1
        assert sum(f.role is Role.SIGNATURE for f in found.fields) == 1


@pytest.mark.slow
def test_a_phone_photo_of_faint_broken_ruling_still_finds_every_line(tmp_path):
    from samples.render import write_eval_set
    from scanner import ingest
    from scanner.read import read_file_page
    from scanner.types import PageStatus

    # The second sheet of eval seed 7 is a ballot photo whose pale, dashed rules the first look misses.
    photo = write_eval_set(tmp_path, 2, seed=7)[1]
    result = read_file_page(ingest.page_refs(photo, pdf_dpi=200)[0])
    assert result.status is PageStatus.OK, result.message
    assert len(result.lines) == 12


def test_stacked_sub_rows_are_split_right_of_the_number_column_only(sheets):
    """The stacked sheet's sub-row rule starts right of the number column: that column spans the whole line."""
    grid = _grid(sheets.gray("stacked", 1))
    whole = [s for s in grid.slots if (s.top, s.bottom) == (0.0, 1.0)]
    assert len(whole) == 1 and whole[0].x0 == grid.table.x0  # the number column
    split = grid.slot_bounds[1]
    assert sorted((s.slot, s.top, s.bottom) for s in grid.slots if s not in whole) == [
        (0, 0.0, split), (0, 0.0, split), (1, split, 1.0), (1, split, 1.0)]


def _city():
    from samples import city_form

    return city_form.blank_form(DPI), city_form.city_form_layout(DPI)


def test_city_sub_rows_split_only_the_cell_that_carries_the_partial_rule():
    """SIGNATURE over ADDRESS in the left cell; number, printed name, date and ward span the whole line."""
    page, form = _city()
    grid = _grid(to_gray(page))
    assert len(grid.line_rules) == len(form.lines) + 1
    left = form.lines[0].cells["address"]
    split = [s for s in grid.slots if (s.top, s.bottom) != (0.0, 1.0)]
    assert len(split) == 2 and {s.slot for s in split} == {0, 1}
    for slot in split:
        assert abs(slot.x1 - left.x1) < 8  # the left cell's right divider
        assert abs(slot.x0 - form.lines[0].cells["number"].x1) < 8
    assert len(grid.slots) == 6  # number, name, date, ward whole; the left cell twice


def test_a_full_width_rule_one_spacing_below_the_table_is_not_a_line():
    """The dividers stop at the table's bottom: a box's rule below the table at a line's spacing (the city
    photo's affidavit box, a dense line of print) is not one more line."""
    from PIL import ImageDraw

    page, form = _city()
    bottom, row = form.table.y1, form.lines[0].box.h
    ImageDraw.Draw(page).line([(form.table.x0, bottom + row), (form.table.x1, bottom + row)], fill=20, width=3)
    grid = _grid(to_gray(page))
    assert len(grid.line_rules) == len(form.lines) + 1
    assert abs(grid.line_rules[-1] - bottom) < 8


def test_a_pale_divider_that_wavers_a_pixel_either_way_is_still_a_column():
    """A phone photo's resampled divider runs a pixel left or right of its mean from one stretch to the next;
    its votes are not split between neighbouring x (the held-out ballot photo lost NAME | SIGNATURE so)."""
    rng = np.random.default_rng(5)
    gray = np.full((2200, 1700), 235, np.uint8)
    left, right, top, spacing, lines = 100, 1600, 300, 100, 12
    bottom = top + spacing * lines
    for y in range(top, bottom + 1, spacing):
        gray[y - 1 : y + 2, left:right] = 60
    gray[top:bottom, left - 1 : left + 2] = 60
    gray[top:bottom, right - 1 : right + 2] = 60
    dividers = (180, 580, 960, 1340)
    for x in dividers:
        for y in range(top, bottom, 50):  # a pale 1-px divider that steps a pixel either way every 50 rows
            gray[y : y + 50, x + int(rng.integers(-1, 2))] = 190
    columns = _grid(gray).slot_columns[0]
    assert len(columns) == len(dividers) + 2, columns
    assert all(min(abs(c - x) for c in columns) <= 3 for x in dividers)


def test_a_rule_a_signature_is_written_across_is_still_a_rule():
    """A signature written over its line's bottom rule joins it into one band as tall as lettering, which was
    taken for lettering: the run of lines stopped there and the lines below were lost (a calibration-split
    stacked photo read 4 of its 8 lines). The rule's own rows run the table's whole width: still a rule."""
    import cv2

    gray = np.full((2200, 1700), 235, np.uint8)
    left, right, top, spacing, lines = 100, 1600, 300, 100, 12
    bottom = top + spacing * lines
    for y in range(top, bottom + 1, spacing):
        gray[y : y + 3, left:right] = 60
    for x in (left, 180, 900, right):
        gray[top:bottom, x : x + 3] = 60
    crossed = top + 4 * spacing
    # A signature's long level flourishes just under the rule, and a stroke down across it.
    for dy, x0 in ((6, 260), (11, 320), (16, 280), (21, 360)):
        cv2.line(gray, (x0, crossed + dy), (x0 + 450, crossed + dy + 1), 30, 3)
    cv2.line(gray, (300, crossed - 20), (310, crossed + 22), 30, 3)
    grid = _grid(gray)
    assert len(grid.line_rules) == lines + 1, grid.line_rules
    assert any(abs(y - crossed - 1) <= 3 for y in grid.line_rules)


def test_rules_faded_at_one_end_below_the_first_lines_still_make_lines():
    """A scan faded along one side: below the first few lines every rule's right end is pale, too pale for the
    first look, so those rules are not table-wide there and the run of lines stopped after three (a
    calibration-split ballot scan read 2 of its 12 lines). Their rules, seen at the table's own spacing past the
    run, send the page to the more sensitive look, whose longer table is kept."""
    _assert_the_second_look_finds_every_line(lambda index: 1.0 if index <= 3 else 0.85, first_look_rules=4)


def test_a_table_whose_every_third_rule_alone_is_dark_still_has_all_its_lines():
    """Only every third rule dark enough for the first look: its run of lines is three lines tall each, four of
    them (a calibration-split ballot scan read 2 of its 12 lines so). So few lines get the second look, whose
    table holds every one of them and the lines between."""
    _assert_the_second_look_finds_every_line(lambda index: 1.0 if index % 3 == 0 else 0.0, first_look_rules=5)


def _assert_the_second_look_finds_every_line(dark_share, *, first_look_rules: int) -> None:
    """A 12-line table on paper at 235 whose rule `index` is dark (60) over the first dark_share(index) of its
    width and pale beyond (220: under 0.95 of the paper, over 0.92, so only the second look sees it); the first
    look alone finds `first_look_rules` rules of a table, find_table every one."""
    gray = np.full((2200, 1700), 235, np.uint8)
    left, right, top, spacing, lines = 100, 1600, 300, 100, 12
    bottom = top + spacing * lines
    for index, y in enumerate(range(top, bottom + 1, spacing)):
        gray[y : y + 2, left:right] = 220
        if dark_share(index) > 0:
            gray[y : y + 2, left : left + int(dark_share(index) * (right - left))] = 60
    for x in (left, 180, 900, right):
        gray[top:bottom, x : x + 3] = 60
    upright = _upright(gray)
    assert len(find_grid(ruling_masks(upright)).line_rules) == first_look_rules
    grid = find_table(upright).grid
    assert len(grid.line_rules) == lines + 1, grid.line_rules
    assert _evenly_spaced(grid.line_rules)


def test_dividers_paler_than_the_rules_are_columns_and_pale_writing_is_not():
    """A leveled photo's 1-px dividers come out paler than its horizontal rules (6% darker than the paper here,
    where the rules are 20%): they are columns (the calibration split's ballot photos lost NAME | SIGNATURE |
    ADDRESS so). Pale handwriting as dark as those dividers, upright strokes in a few lines, makes none."""
    gray = np.full((2200, 1700), 235, np.uint8)
    left, right, top, spacing, lines = 100, 1600, 300, 100, 12
    bottom = top + spacing * lines
    for y in range(top, bottom + 1, spacing):
        gray[y : y + 2, left:right] = 188
    gray[top:bottom, left : left + 2] = 188
    gray[top:bottom, right : right + 2] = 188
    dividers = (180, 580, 960, 1340)
    for x in dividers:
        gray[top:bottom, x : x + 2] = 221
    for line in (2, 5, 6, 9):  # tall pale strokes at one x in four lines: writing, not a divider
        y = top + line * spacing
        gray[y + 15 : y + 85, 760 : 763] = 221
    columns = _grid(gray).slot_columns[0]
    assert len(columns) == len(dividers) + 2, columns
    assert all(min(abs(c - x) for c in columns) <= 3 for x in dividers)


def test_a_line_struck_through_at_its_sub_row_rule_does_not_halve_the_lines():
    """A circulator's edge-to-edge strike, slanting across the SIGNATURE/ADDRESS rule of a city line, is a long
    level run as well; counted as a table rule, a chain at half the spacing through the sub-row rules won."""
    from PIL import ImageDraw

    page, form = _city()
    line = form.lines[3].box
    middle = (line.y0 + line.y1) / 2
    ImageDraw.Draw(page).line([(form.table.x0 + 20, middle - 6), (form.table.x1 + 8, middle + 6)], fill=25, width=4)
    grid = _grid(to_gray(page))
    assert len(grid.line_rules) == len(form.lines) + 1
    assert len([s for s in grid.slots if (s.top, s.bottom) != (0.0, 1.0)]) == 2  # SIGNATURE over ADDRESS


def test_a_short_rule_one_spacing_above_the_header_opens_no_line():
    """A full rule two spacings above the first line (the warning box's) and a shorter one a spacing above it
    (under the warning's print) chain on into the table: once the band no divider crosses is cut off, the
    short stand-in left on top opens no line (the city photo read its header as a line)."""
    from PIL import ImageDraw

    page, form = _city()
    first = form.lines[0].box
    spacing = first.h
    draw = ImageDraw.Draw(page)
    draw.line([(form.table.x0, first.y0 - 2 * spacing), (form.table.x1, first.y0 - 2 * spacing)], fill=20, width=3)
    stand_in = first.y0 - spacing - 8
    draw.line([(form.table.x0 + 5, stand_in), ((form.table.x0 + form.table.x1) / 2, stand_in)], fill=20, width=3)
    grid = _grid(to_gray(page))
    assert len(grid.line_rules) == len(form.lines) + 1, grid.line_rules
    assert abs(grid.line_rules[0] - first.y0) < 8
