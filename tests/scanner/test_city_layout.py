"""The city petition (samples/city_form.py) laid out without a form: its lines, sub-rows and roles found from the
blank sheet, a skewed scan and a phone photo; its printed in-cell labels never read as writing."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from samples import city_form, render
from scanner.form import load_form
from scanner.layout import find_layout
from scanner.ocr import default_engine
from scanner.read import ReadSettings
from scanner.types import LineStatus, Role, SheetLayout
from tests.support import DPI, page_from_array, read_gray, to_gray

ROLES = {Role.LINE_NUMBER, Role.SIGNATURE, Role.ADDRESS, Role.NAME, Role.DATE, Role.WARD}
# A box is right within a tenth of a line's height (0.055 in on this form): far less than a sub-row.
TOLERANCE = 0.1


@dataclass(frozen=True)
class Cell:
    """Where a role's cell is on the form: x range in pixels, and its share of the line's height."""

    x0: float
    x1: float
    top: float
    bottom: float


def _expected() -> dict[Role, Cell]:
    """What the form's designer means: number, name, date and ward span the whole line; the left cell is split
    into a SIGNATURE sub-row over an ADDRESS sub-row."""
    line = city_form.city_form_layout(DPI).lines[0]
    cells, height = line.cells, line.box.h
    split = (cells["signature"].y1 - line.box.y0) / height
    left, right = cells["number"].x1, cells["name_across"].x0
    return {Role.LINE_NUMBER: Cell(cells["number"].x0, cells["number"].x1, 0.0, 1.0),
            Role.SIGNATURE: Cell(left, right, 0.0, split),
            Role.ADDRESS: Cell(left, right, split, 1.0),
            Role.NAME: Cell(cells["name_across"].x0, cells["name_across"].x1, 0.0, 1.0),
            Role.DATE: Cell(cells["date"].x0, cells["date"].x1, 0.0, 1.0),
            Role.WARD: Cell(cells["ward"].x0, cells["ward"].x1, 0.0, 1.0)}


def _check(layout: SheetLayout) -> None:
    """Five lines of the form's height; every role once, in its place relative to the table (the page may be
    leveled, shifted or slightly rescaled)."""
    form = city_form.city_form_layout(DPI)
    assert len(layout.lines) == len(form.lines)
    heights = [ln.y1 - ln.y0 for ln in layout.lines]
    expected_height = form.lines[0].box.h
    scale = layout.table.width / form.table.w
    tolerance = TOLERANCE * expected_height
    assert max(heights) - min(heights) <= tolerance
    roles = [f.role for f in layout.fields if f.role is not Role.OTHER]
    assert sorted(roles) == sorted(ROLES), roles
    assert not layout.guessed_roles
    for role, cell in _expected().items():
        field = layout.field(role)
        assert field is not None
        for found, wanted in ((field.x0, cell.x0), (field.x1, cell.x1)):
            assert abs((found - layout.table.x0) / scale - (wanted - form.table.x0)) <= tolerance, role
        assert abs(field.top - cell.top) * expected_height <= tolerance, role
        assert abs(field.bottom - cell.bottom) * expected_height <= tolerance, role


def _layout(gray: np.ndarray) -> SheetLayout:
    return find_layout(page_from_array(gray), settings=ReadSettings(), engine=default_engine()).layout


@functools.cache
def _sheet(kind: str, *, seed: int, blank: bool) -> np.ndarray:
    """A city sheet as the sample set writes them: a slightly skewed grey scan or a phone photo."""
    image, truth = city_form.render_city_sheet(seed=seed, dpi=DPI, blank=blank)
    if kind == "photo":
        image, _ = render.degrade(image, truth, seed=seed + 7, photo=True)
    else:
        image, _ = render.degrade(image, truth, seed=seed + 7, skew_deg=-1.8, noise=True)
    return to_gray(image)


@functools.cache
def _filled(kind: str, seed: int, statuses: tuple[str, ...]) -> tuple[np.ndarray, render.SheetTruth]:
    image, truth = city_form.render_city_sheet(seed=seed, dpi=DPI, statuses=statuses)
    if kind == "photo":
        image, truth = render.degrade(image, truth, seed=seed + 7, photo=True)
    else:
        image, truth = render.degrade(image, truth, seed=seed + 7, skew_deg=1.4, noise=True)
    return to_gray(image), truth


def test_the_blank_form_is_laid_out_without_a_form():
    _check(_layout(to_gray(city_form.blank_form(DPI))))


def test_form_detect_on_the_blank_form_needs_no_hand_edits(tmp_path: Path):
    """`petition form detect`'s file, read back: the roles and boxes a reader then uses."""
    from pipeline.forms import detect_form

    blank = tmp_path / "city_blank.png"
    city_form.blank_form(DPI).save(blank, dpi=(DPI, DPI))
    path = tmp_path / "city.toml"
    path.write_text(detect_form(blank, template=tmp_path / "city_sheet.png"), encoding="utf-8")
    form = load_form(path)
    width = city_form.blank_form(DPI).width
    expected = _expected()
    tolerance = TOLERANCE * city_form.ROW_IN * DPI / width
    named = {f.role: f for f in form.fields if f.role is not Role.OTHER}
    assert set(named) == ROLES and len(named) == len([f for f in form.fields if f.role is not Role.OTHER])
    for role, cell in expected.items():
        assert abs(named[role].x0 - cell.x0 / width) <= tolerance, role
        assert abs(named[role].x1 - cell.x1 / width) <= tolerance, role
        assert (named[role].top, named[role].bottom) == pytest.approx((cell.top, cell.bottom), abs=TOLERANCE)
    assert len(form.line_bounds) == city_form.ROWS + 1


@pytest.mark.parametrize("seed", [3, 8])
def test_a_skewed_blank_scan_is_laid_out_like_the_form(seed):
    _check(_layout(_sheet("scan", seed=seed, blank=True)))


def test_a_phone_photo_is_laid_out_like_the_form():
    """The photo's pale, blurred ruling and print: no extra line from the notice below the table, and the roles
    from the header where the small in-cell labels do not read."""
    _check(_layout(_sheet("photo", seed=4, blank=True)))


@pytest.mark.parametrize(("kind", "seed"), [("scan", 3), ("scan", 8), ("photo", 4)])
def test_every_line_of_a_blank_copy_reads_blank(kind, seed):
    result = read_gray(_sheet(kind, seed=seed, blank=True))
    assert [r.status for r in result.lines] == [LineStatus.BLANK] * city_form.ROWS
    assert not any(r.name.text for r in result.lines)
    assert not any(r.needs_review for r in result.lines)


@pytest.mark.parametrize("kind", ["scan", "photo"])
def test_the_printed_label_is_never_read_as_a_name(kind):
    """Lines without a written name hold only the printed "PRINTED NAME OF SIGNER": no name there, and the
    written names below the label are seen."""
    statuses = ("signed", "signature_only", "blank", "name_only", "signature_only")
    gray, truth = _filled(kind, 21, statuses)
    result = read_gray(gray)
    for reading, line in zip(result.lines, truth.lines):
        assert "SIGNER" not in reading.name.text.upper() and "PRINTED" not in reading.name.text.upper()
        if line.status in ("signature_only", "blank"):
            assert reading.name_ink.presence.value == "absent", (kind, line.line)
        else:
            assert reading.name_ink.presence.value == "present", (kind, line.line)


def test_date_and_ward_are_read_from_their_own_columns():
    """DATE and WARD are whole-line cells named by the header: their writing is read, not the rules beside it."""
    gray, truth = _filled("scan", 21, ("signed", "signed", "name_only", "signed", "blank"))
    result = read_gray(gray)
    assert {Role.DATE, Role.WARD, Role.ADDRESS} <= set(result.roles)
    for reading, line in zip(result.lines, truth.lines):
        for role in (Role.DATE, Role.WARD):
            written = line.fields[role.value]
            read = reading.fields[role].text
            if not written:
                assert read == "", (line.line, role)
            else:
                # The handwriting reader may slip on a digit; a divider read as "1" would add one.
                assert len(read) <= len(written), (line.line, role, read, written)


@pytest.mark.parametrize("kind", ["scan", "photo"])
def test_a_strike_along_the_signature_address_rule_strikes_the_line(kind):
    """A circulator strikes a line at mid-height, where the SIGNATURE/ADDRESS rule runs: in the left cell the
    stroke lies on the rule and goes with it, but it runs on through the name, date and ward. The other
    lines' sub-row rules alone strike nothing."""
    from PIL import ImageDraw

    image, truth = city_form.render_city_sheet(seed=21, dpi=DPI, statuses=("signed", "signed", "name_only",
                                                                           "signed", "blank"))
    form = city_form.city_form_layout(DPI)
    line = form.lines[1].box
    rule = form.lines[1].cells["address"].y0
    # Freehand, drifting half a degree off the rule, from just inside the table to the middle of WARD: without
    # its left-cell part it would cross less than half the table.
    ward = form.lines[1].cells["ward"]
    end = (ward.x0 + ward.x1) / 2
    ImageDraw.Draw(image).line([(form.table.x0 + 25, rule + 2), (end, rule - 8)], fill=30, width=4)
    if kind == "photo":
        image, truth = render.degrade(image, truth, seed=28, photo=True)
    else:
        image, truth = render.degrade(image, truth, seed=28, skew_deg=1.2, noise=True)
    result = read_gray(to_gray(image))
    assert line.y0 < rule < line.y1
    assert [r.status is LineStatus.STRUCK for r in result.lines] == [False, True, False, False, False]


def test_a_signature_spilling_from_the_address_sub_row_leaves_the_next_line_blank():
    """Line 4 is signed low, in its ADDRESS sub-row, and the J's loop crosses the rule into line 5's SIGNATURE
    sub-row (city set seed 31, sheet 15): the loop goes with line 4, and line 5 stays blank."""
    statuses = ["blank", "blank", "signed", "struck", "blank"]
    image, _ = city_form.render_city_sheet(seed=31 * 1_000_003 + 14, dpi=200, name_font="indie-flower",
                                           statuses=statuses)
    blank, _ = city_form.render_city_sheet(seed=31 * 1_000_003 + 14, dpi=200, blank=True)
    cell = city_form.city_form_layout(200).lines[4].cells["signature"]
    window = (slice(round(cell.y0), round(cell.y1)), slice(round(cell.x0), round(cell.x1)))
    spilled = int((to_gray(image)[window] < 128).sum()) - int((to_gray(blank)[window] < 128).sum())
    assert spilled > 50  # the loop really is in line 5's signature sub-row
    assert [line.status.value for line in read_gray(to_gray(image)).lines] == statuses
