"""The normalize + layout stage, one function for reading and for `form detect`: a page turned upright, its
table found (or a form fitted) and its roles named, and the page's scale measured."""

from __future__ import annotations

from dataclasses import dataclass, replace


from scanner.debug import DebugWriter
from scanner.errors import NoTableFound
from scanner.fields import Recognizer
from scanner.form import Form, form_on_page, table_rows
from scanner.grid import (
    FEW_LINES,
    Masks,
    NumberSide,
    Table,
    find_table,
    number_column_side,
    rules_seen,
    ruling_masks,
)
from scanner.normalize import half_turn, level, needs_half_turn, normalize
from scanner.ocr import OcrEngine
from scanner.register import Registration, Template, drop_print, labels_on_page, load_template, register
from scanner.roles import build_layout
from scanner.scale import WORK_UNIT, Scale
from scanner.settings import LayoutSettings, ReadSettings
from scanner.types import Page, SheetLayout, UprightPage

_NO_DEBUG = DebugWriter.off()


@dataclass(frozen=True)
class PageLayout:
    """The layout stage's result: the upright page, the masks its table was found in, the table, the scale."""

    upright: UprightPage
    masks: Masks
    layout: SheetLayout
    scale: Scale
    registration: Registration | None = None  # with a form that has a blank sheet: how the page lined up


@dataclass(frozen=True)
class UprightTable:
    """A leveled page turned right way up by its table, and the table found on it."""

    upright: UprightPage
    table: Table


def find_layout(page: Page, *, settings: ReadSettings, engine: OcrEngine, form: Form | None = None,
                debug: DebugWriter = _NO_DEBUG) -> PageLayout:
    """The page upright with its layout: fitted from a form file when one is given, else detected (the table's
    rules, roles from printed words read by `engine`). Raises NoTableFound for a page without a table."""
    if form is not None:
        return _fit_form(page, form, settings)
    found = upright_table(page, settings=settings, debug=debug)
    masks, grid = found.table.masks, found.table.grid
    layout = build_layout(found.upright.gray, masks, grid, engine, settings=settings.layout, unit=WORK_UNIT,
                          header_fallback=_header_fallback(settings))
    return PageLayout(found.upright, masks, layout, Scale.of_layout(layout, unit=WORK_UNIT))


def _header_fallback(settings: ReadSettings) -> OcrEngine | None:
    """With the handwriting recognizer, its v6-small reads the headers Tesseract cannot; the first version's
    Tesseract reader (`--recognizer tesseract`, the bench's baseline) keeps Tesseract alone."""
    if settings.recognizer is not Recognizer.PP_OCR:
        return None
    from scanner.handwriting import PpOcrEngine
    from scanner.pp_ocr import shared_recognizer

    return PpOcrEngine(shared_recognizer())


def upright_table(page: Page, *, settings: ReadSettings, debug: DebugWriter = _NO_DEBUG) -> UprightTable:
    """Level the page, find its table, and turn it right way up by where the line numbers are."""
    upright, table = _leveled_table(page, settings, debug)
    if not _upside_down(table, upright, settings):
        return UprightTable(upright, table)
    upright = half_turn(upright)
    return UprightTable(upright, _table(upright, settings.layout, debug))


def _leveled_table(page: Page, settings: ReadSettings, debug: DebugWriter) -> tuple[UprightPage, Table]:
    """The page leveled on the axis the projection test prefers, with its table; on the other axis too when that
    finds none or only a few lines, kept when it has twice as many. A table's rules and dividers can make the two
    axes' profiles all but equally sharp (a calibration-split ballot sheet turned a quarter, shadowed and skewed
    3.9 degrees scored 8.74 against 8.67 the wrong way round), and only the table can tell: on the wrong axis
    the dividers are the only long rules, a table of a line or two at best."""
    upright = level(page, settings=settings.normalize)
    try:
        table: Table | None = _table(upright, settings.layout, debug)
    except NoTableFound:
        table = None
    if table is not None and len(table.grid.line_rules) - 1 > FEW_LINES:
        return upright, table
    across = level(page, settings=settings.normalize, quarter_turns=1 - upright.quarter_turns % 2)
    try:
        other = _table(across, settings.layout, _NO_DEBUG)  # a page with no table shows the preferred axis's rules
    except NoTableFound:
        if table is None:
            raise
        return upright, table
    # Twice the lines at least: a real table of a few lines has its dividers on the other axis too.
    if table is None or len(other.grid.line_rules) - 1 >= 2 * (len(table.grid.line_rules) - 1):
        return across, other
    return upright, table


def _upside_down(table: Table, upright: UprightPage, settings: ReadSettings) -> bool:
    """Petitions number their lines at the left; only when the table does not show it is Tesseract asked."""
    match number_column_side(table.grid, settings=settings.layout):
        case NumberSide.LEFT:
            return False
        case NumberSide.RIGHT:
            return True
        case NumberSide.UNCLEAR:
            return settings.normalize.use_osd and needs_half_turn(upright.gray)


def _table(upright: UprightPage, settings: LayoutSettings, debug: DebugWriter) -> Table:
    """The page's table; for a page without one, the debug overlay shows the leveled page and the rules seen."""
    try:
        return find_table(upright.gray, settings=settings, unit=WORK_UNIT)
    except NoTableFound:
        if debug.enabled:
            debug.no_table(upright.gray, rules_seen(upright.gray, settings=settings, unit=WORK_UNIT))
        raise


def _fit_form(page: Page, form: Form, settings: ReadSettings) -> PageLayout:
    """A form's layout on the page: registered to its blank sheet when it has one, else snapped to the rules."""
    if form.template is None:
        return _snap_form(page, form, settings)
    return _registered_form(page, form, settings)


def _registered_form(page: Page, form: Form, settings: ReadSettings) -> PageLayout:
    """The form placed on the page through its blank sheet, whose printed labels drop out of the page's ink.

    The page is never resampled (its pixels are read as scanned): the form's boxes and the sheet's labels are
    carried onto it instead. A page that does not line up is read as a form without a blank sheet is, and
    says so: its lines all go to review (NOT_REGISTERED), never a silently wrong reading.
    """
    template = load_template(form.template)
    upright, masks, fit = _register_upright(level(page, settings=settings.normalize), template, settings)
    if not fit.ok:
        return replace(_snap_form(page, form, settings), registration=fit)
    placed = form_on_page(form, fit.homography, template.shape, upright.gray.shape)
    printed = labels_on_page(template, fit.homography, upright.gray.shape, ink=masks.faint,
                             rows=table_rows(placed, upright.gray.shape))
    masks = replace(masks, ink=drop_print(masks.ink, printed), faint=drop_print(masks.faint, printed))
    layout = placed.fit(upright.gray.shape, masks, settings=settings.layout, unit=WORK_UNIT)
    return PageLayout(upright, masks, layout, Scale.of_layout(layout, unit=WORK_UNIT), fit)


def _register_upright(leveled: UprightPage, template: Template, settings: ReadSettings
                      ) -> tuple[UprightPage, Masks, Registration]:
    """Register the leveled page; one that fits only turned upside down (features match at any rotation) is
    turned and registered again, so the page it returns is upright."""
    masks = ruling_masks(leveled.gray, settings=settings.layout, unit=WORK_UNIT)
    fit = register(leveled.gray, masks.ink > 0, template)
    if not (fit.ok and fit.homography[0, 0] < 0 and fit.homography[1, 1] < 0):
        return leveled, masks, fit
    turned = half_turn(leveled)
    masks = ruling_masks(turned.gray, settings=settings.layout, unit=WORK_UNIT)
    return turned, masks, register(turned.gray, masks.ink > 0, template)


def _snap_form(page: Page, form: Form, settings: ReadSettings) -> PageLayout:
    """A form file's layout snapped to the page's rules; up and down from Tesseract (there is no grid to ask)."""
    upright = normalize(page, settings=settings.normalize)
    masks = ruling_masks(upright.gray, settings=settings.layout, unit=WORK_UNIT)
    layout = form.fit(upright.gray.shape, masks, settings=settings.layout, unit=WORK_UNIT)
    return PageLayout(upright, masks, layout, Scale.of_layout(layout, unit=WORK_UNIT))
