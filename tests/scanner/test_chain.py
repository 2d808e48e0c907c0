"""The reading chain over one PageContext (normalize → layout → ink → lines), with fake OCR: the scale, cell
addresses, typed stage results, and debug overlays for pages that fail."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from scanner import ingest
from scanner.debug import DebugWriter
from scanner.fields import Recognizer
from scanner.form import form_from_layout
from scanner.grid import Masks, NumberSide, find_table, number_column_side
from scanner.ink import find_ink
from scanner.layout import find_layout, upright_table
from scanner.normalize import WORK_SHORT_SIDE, level
from scanner.ocr import OcrResult, TextKind
from scanner.read import ReadSettings, read_file_page, read_page
from scanner.scale import REFERENCE_SHORT_SIDE, WORK_UNIT, Scale, area_px, odd_px, px
from scanner.types import (
    Box,
    CellRef,
    FieldSpec,
    LineBox,
    LineStatus,
    PageStatus,
    ReviewReason,
    Role,
    SheetLayout,
    TextRead,
)
from tests.scanner.fakes import FakeOcrEngine, FakeReader, context_for
from tests.support import DPI, blank_form, page_from_array, text_page, to_gray

# Without Tesseract no printed word is read: the layout's roles are guessed by position, and say so.
NO_OCR = ReadSettings(recognizer=Recognizer.TESSERACT)


def _read(gray: np.ndarray, reader: FakeReader | None = None, engine: FakeOcrEngine | None = None, **kwargs):
    return read_page(page_from_array(gray), settings=NO_OCR, debug=DebugWriter.off(), engine=engine or FakeOcrEngine(),
                     reader=reader or FakeReader(), **kwargs)


def _layout() -> SheetLayout:
    lines = (LineBox(1, 100, 160), LineBox(2, 160, 222), LineBox(3, 222, 282))
    fields = (FieldSpec(Role.LINE_NUMBER, 50, 100), FieldSpec(Role.NAME, 100, 500),
              FieldSpec(Role.SIGNATURE, 500, 850, 0.0, 0.5), FieldSpec(Role.SIGNATURE, 500, 850, 0.5, 1.0))
    return SheetLayout(Box(50, 100, 850, 282), lines, fields, None, 3, "detected")


def test_the_working_resolution_is_the_reference_so_every_derived_size_is_todays_constant():
    assert WORK_SHORT_SIDE == REFERENCE_SHORT_SIDE and WORK_UNIT == 1.0
    for constant in (1, 2, 3, 4, 6, 9, 10, 15, 20):
        assert px(constant) == constant
    assert area_px(10) == 10 and area_px(20) == 20
    assert odd_px(2) == 3 and odd_px(5) == 5 and odd_px(15) == 15  # the 3x3, 5x5 and 15x15 kernels


def test_derived_sizes_follow_the_unit():
    """A page worked at 300 dpi instead of 200 would get 1.5 times the pixel sizes, and 2.25 times the areas."""
    scale = Scale(1.5, 4, 120.0)
    assert scale.px(4) == 6 and scale.px(2) == 3 and scale.area_px(20) == 45 and scale.odd_px(5) == 9
    assert px(1, 0.1) == 1  # never below a pixel


def test_scale_is_measured_from_the_layout():
    scale = Scale.of_layout(_layout())
    assert scale == Scale(WORK_UNIT, 3, 60.0)  # median of 60, 62, 60
    assert scale.row_px == 60


def test_cell_refs_address_every_cell_line_by_line():
    layout = _layout()
    refs = layout.cell_refs()
    assert len(refs) == 3 * 4 and refs[0] == CellRef(0, 0) and refs[5] == CellRef(1, 1) and list(refs) == sorted(refs)
    for ref in refs:
        assert layout.box(ref) == layout.cell(layout.lines[ref.line], layout.fields[ref.field])
    assert layout.cell_ref(2, Role.SIGNATURE) == CellRef(2, 2)  # the first field with the role
    assert layout.box(CellRef(2, 3)) == Box(500, 252, 850, 282)  # the lower half of the line
    assert layout.cell_ref(0, Role.EMAIL) is None


def test_the_page_context_is_frozen():
    empty = np.zeros((400, 900), np.uint8)
    context = context_for(Masks(empty, empty, empty, empty), _layout())
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.layout = _layout()  # type: ignore[misc]
    ink = find_ink(context)
    assert ink.strokes.cells == _layout().cell_refs() and not ink.writing.any()


def test_number_column_side_is_typed_and_turns_with_the_page():
    page = level(page_from_array(to_gray(blank_form("seed")[0])))
    upright = find_table(page.gray).grid
    turned = find_table(np.ascontiguousarray(page.gray[::-1, ::-1])).grid
    assert number_column_side(upright) is NumberSide.LEFT
    assert number_column_side(turned) is NumberSide.RIGHT


def test_an_upside_down_sheet_is_turned_by_its_line_numbers():
    gray = to_gray(blank_form("seed")[0])
    found = upright_table(page_from_array(np.ascontiguousarray(gray[::-1, ::-1])), settings=NO_OCR)
    assert found.upright.quarter_turns == 2
    assert number_column_side(found.table.grid) is NumberSide.LEFT


def test_a_blank_form_reads_blank_with_fake_ocr():
    engine, reader = FakeOcrEngine(), FakeReader()
    result = _read(to_gray(blank_form("seed")[0]), reader, engine)
    assert [r.status for r in result.lines] == [LineStatus.BLANK] * 15
    assert {r.review_reasons for r in result.lines} == {(ReviewReason.LAYOUT_GUESSED,)}
    printed = {TextKind.LABEL, TextKind.LABEL_WORD, TextKind.LINE_NUMBER}  # Tesseract reads only what is printed
    assert engine.calls and {kind for kind, _ in engine.calls} <= printed
    assert reader.crops == []  # nothing handwritten, nothing read


def test_a_filled_sheet_gives_each_named_line_one_clean_crop(sheets):
    _, truth = sheets.sheet("seed", 1)
    reader = FakeReader({TextKind.NAME: TextRead("Ana Reyes", 0.95)})
    result = _read(sheets.gray("seed", 1), reader)
    assert [r.status.value for r in result.lines] == [t.status for t in truth.lines]
    named = [r for r in result.lines if r.name_ink.presence.value != "absent" and not r.struck]
    assert named and all(r.name.text == "Ana Reyes" for r in named)
    assert [kind for kind, _ in reader.crops] == [TextKind.NAME] * len(named)
    for _, crop in reader.crops:  # white paper around the strokes: no ruling, no label, no neighbour
        assert crop.ndim == 2 and crop.max() == 255 and crop.min() < 128


def test_the_form_path_runs_the_same_chain(sheets):
    blank = page_from_array(to_gray(blank_form("seed")[0]))
    detected = find_layout(blank, settings=NO_OCR, engine=FakeOcrEngine())
    form = form_from_layout(detected.layout, detected.upright.gray.shape, "seed")
    result = _read(sheets.gray("seed", 1), form=form)
    auto = _read(sheets.gray("seed", 1))
    assert [r.status for r in result.lines] == [r.status for r in auto.lines]


def _page_file(tmp_path, gray: np.ndarray, name: str):
    path = tmp_path / name
    cv2.imwrite(str(path), gray)
    return ingest.page_refs(path, pdf_dpi=DPI)[0]


def test_a_page_without_a_table_leaves_a_debug_overlay_of_the_rules_it_had(tmp_path):
    gray = to_gray(text_page()).copy()
    for y in (700, 1300):  # two long rules: a table needs three
        gray[y : y + 3, 150:1550] = 0
    ref = _page_file(tmp_path, gray, "two_rules.png")
    debug = tmp_path / "debug"
    result = read_file_page(ref, settings=NO_OCR, debug_dir=str(debug), engine=FakeOcrEngine())
    assert result.status is PageStatus.NO_TABLE
    assert sorted(p.name for p in debug.iterdir()) == ["two_rules_p001_no_table.png"]
    overlay = cv2.imread(str(debug / "two_rules_p001_no_table.png"))
    assert overlay.shape[:2] == level(ingest.load_page(ref)).gray.shape  # the leveled page the search saw
    red = (overlay[:, :, 2] > 200) & (overlay[:, :, 1] < 40) & (overlay[:, :, 0] < 40)
    rows = np.flatnonzero(red[:, 800])
    assert any(abs(row - 701) <= 4 for row in rows) and any(abs(row - 1301) <= 4 for row in rows)


def test_without_a_debug_dir_a_failing_page_writes_nothing(tmp_path):
    ref = _page_file(tmp_path, to_gray(text_page()), "text.png")
    before = set(tmp_path.rglob("*"))
    assert read_file_page(ref, settings=NO_OCR, engine=FakeOcrEngine()).status is PageStatus.NO_TABLE
    assert set(tmp_path.rglob("*")) == before


class _CrashOnNames(FakeOcrEngine):
    def read_line(self, image: np.ndarray, *, kind: TextKind) -> OcrResult:
        if kind is TextKind.NAME:
            raise RuntimeError("engine crashed")
        return super().read_line(image, kind=kind)


def test_a_page_that_fails_after_its_layout_keeps_its_layout_overlays(tmp_path, sheets):
    ref = _page_file(tmp_path, sheets.gray("seed", 1), "filled.png")
    debug = tmp_path / "debug"
    result = read_file_page(ref, settings=NO_OCR, debug_dir=str(debug), engine=_CrashOnNames())
    assert result.status is PageStatus.FAILED
    assert sorted(p.name for p in debug.iterdir()) == ["filled_p001_cells.png", "filled_p001_lines.png"]


def test_a_speck_in_an_empty_text_field_is_not_read():
    """An address, date or ward cell is read only when it holds a stroke of writing size: a speck of dust or
    toner there was read as "o" or "." and reached rows.csv."""
    from scanner.grid import ruling_masks
    from scanner.lines import read_lines

    gray = np.full((400, 900), 255, np.uint8)
    layout = SheetLayout(Box(50, 100, 850, 282), (LineBox(1, 100, 160), LineBox(2, 160, 222), LineBox(3, 222, 282)),
                         (FieldSpec(Role.LINE_NUMBER, 50, 100), FieldSpec(Role.NAME, 100, 400),
                          FieldSpec(Role.SIGNATURE, 400, 650), FieldSpec(Role.ADDRESS, 650, 850)),
                         None, 3, "detected")
    for y in (100, 160, 222, 282):
        gray[y - 1 : y + 2, 50:851] = 0
    for x in (50, 100, 400, 650, 850):
        gray[99:284, x - 1 : x + 2] = 0
    gray[128:131, 740:743] = 40  # line 1: a speck in the address cell
    cv2.putText(gray, "12 Elm", (665, 205), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 30, 2)  # line 2: an address
    reader = FakeReader({TextKind.ADDRESS: TextRead("12 Elm", 0.9)})
    context = context_for(ruling_masks(gray), layout, gray=gray, reader=reader)
    readings = read_lines(context, find_ink(context))
    assert [kind for kind, _ in reader.crops] == [TextKind.ADDRESS]
    assert [r.fields[Role.ADDRESS].text for r in readings] == ["", "12 Elm", ""]
