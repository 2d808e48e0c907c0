"""A page → its LineReadings: normalize, find the table, measure ink, read names, decide each line."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from scanner import ingest
from scanner.debug import DebugWriter
from scanner.errors import PageTimedOut, SetupError, SheetError
from scanner.fields import FieldReader, Recognizer, TesseractFieldReader, field_reader
from scanner.grid import Grid, Masks, find_table, number_column_side, ruling_masks
from scanner.ink import (InkThresholds, Strokes, cell_pixels, find_strike, group_strokes, grow_into_pale, measure,
                         writing_masks)
from scanner.normalize import Settings as NormalizeSettings
from scanner.normalize import half_turn, level, needs_half_turn, normalize
from scanner.ocr import OcrEngine, TextKind, default_engine
from scanner.roles import build_layout
from scanner.types import (
    TEXT_ROLES, Box, InkMeasure, LineCrops, LineReading, LineStatus, Page, PageRef, PageResult, PageStatus, Presence,
    ReviewReason, Role, SheetLayout, TextRead, UprightPage,
)

log = logging.getLogger(__name__)

_KIND_OF_ROLE = {Role.ADDRESS: TextKind.ADDRESS, Role.ZIP: TextKind.ZIP, Role.DATE: TextKind.DATE,
                 Role.EMAIL: TextKind.EMAIL, Role.WARD: TextKind.ADDRESS}


@dataclass(frozen=True)
class ReadSettings:
    """Everything that tunes reading; one object instead of long parameter lists."""

    ink: InkThresholds = field(default_factory=InkThresholds)
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    keep_crops: bool = False  # PNG crops per line, for the workspace and the review app
    page_timeout_s: float = 0.0  # 0 = no limit; otherwise a page that takes longer becomes TIMED_OUT
    recognizer: Recognizer = Recognizer.PP_OCR  # what reads handwriting; printed text is always Tesseract's
    accept_name_confidence: float | None = None  # None: the recognizer's calibrated threshold (>= 99% precise)


def read_file_page(ref: PageRef, *, settings: ReadSettings = ReadSettings(), form=None,
                   debug_dir: str | None = None, engine: OcrEngine | None = None) -> PageResult:
    """Load and read one page; every failure becomes a PageResult with a status and a message.

    `engine` reads printed text (Tesseract in this process unless given); with the Tesseract recognizer it
    reads the handwriting too (the naive baseline in `make bench` passes a process-per-call engine)."""
    started = time.perf_counter()
    try:
        with _time_limit(settings.page_timeout_s, ref):
            page = ingest.load_page(ref)
            engine = engine or default_engine()
            result = read_page(page, settings=settings, form=form, debug=DebugWriter.for_page(debug_dir, ref),
                               engine=engine, reader=reader_for(settings, engine))
    except SetupError as exc:
        result = PageResult(ref, PageStatus.FAILED, f"{ref.file_name} page {ref.page}: {exc}")
    except SheetError as exc:
        message = str(exc) if str(exc).startswith(ref.file_name) else f"{ref.file_name} page {ref.page}: {exc}"
        result = PageResult(ref, exc.status, message)
    except MemoryError:
        result = PageResult(ref, PageStatus.TOO_LARGE, f"{ref.file_name} page {ref.page}: out of memory while reading")
    except Exception:  # noqa: BLE001 - a bug or an engine crash fails this page, never the batch
        # The user gets what happened and what to do; the details (for a bug report) go to the debug log.
        log.debug("page %s of %s failed", ref.page, ref.file_name, exc_info=True)
        result = PageResult(ref, PageStatus.FAILED,
                            f"{ref.file_name} page {ref.page}: the reader failed on this page (a bug, not a problem "
                            "with the scan); the other pages are unaffected. Please report it.")
    return _with_seconds(result, time.perf_counter() - started)


@contextlib.contextmanager
def _time_limit(seconds: float, ref: PageRef):
    """Per-page time limit (after OCRmyPDF): SIGALRM interrupts Python between OCR calls. Only in a main
    thread on POSIX (a pool worker's task runs there); elsewhere the page simply runs to the end."""
    usable = seconds > 0 and hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(_signum, _frame):
        raise PageTimedOut(f"{ref.file_name} page {ref.page}: not read within {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def reader_for(settings: ReadSettings, engine: OcrEngine) -> FieldReader:
    """The handwriting reader settings ask for; Tesseract's uses the given engine (the bench's baseline)."""
    if settings.recognizer is Recognizer.TESSERACT:
        return TesseractFieldReader(engine)
    return field_reader(settings.recognizer)


def read_page(page: Page, *, settings: ReadSettings, form=None, debug: DebugWriter, engine: OcrEngine,
              reader: FieldReader) -> PageResult:
    """The reading of one decoded page (raises SheetError subclasses for pages that have no table)."""
    if form is not None:
        upright = normalize(page, settings=settings.normalize)
        masks = ruling_masks(upright.gray)
        layout = form.fit(upright.gray.shape, masks)
    else:
        upright, masks, grid = _upright_with_grid(page, settings)
        layout = build_layout(upright.gray, masks, grid, engine)
    gray = upright.gray
    ink = masks.ink
    found = writing_masks(ink, masks, layout)
    strokes = group_strokes(found.writing, layout, pale=found.pale)
    readings = tuple(_read_line(i, gray, found.writing, strokes, layout, settings, reader)
                     for i in range(len(layout.lines)))
    debug.overlays(gray, layout, readings)
    roles = tuple(dict.fromkeys(f.role for f in layout.fields if f.role in TEXT_ROLES))
    crops = line_crops(gray, layout) if settings.keep_crops else ()
    return PageResult(page.ref, PageStatus.OK, "", page.sha256, readings, roles,
                      orientation=upright.quarter_turns * 90, skew_deg=upright.skew_deg, crops=crops)


def _upright_with_grid(page: Page, settings: ReadSettings) -> tuple[UprightPage, Masks, Grid]:
    """Level the page, find its table, and turn it right way up by where the line numbers are."""
    upright = level(page, settings=settings.normalize)
    masks, grid = find_table(upright.gray)
    side = number_column_side(grid)
    flip = side == "right" if side else (settings.normalize.use_osd and needs_half_turn(upright.gray))
    if not flip:
        return upright, masks, grid
    upright = half_turn(upright)
    masks, grid = find_table(upright.gray)
    return upright, masks, grid


def _read_line(index: int, gray, writing, strokes: Strokes, layout: SheetLayout, settings: ReadSettings,
               reader: FieldReader) -> LineReading:
    line = layout.lines[index]
    name_index = _field_index(layout, Role.NAME)
    signature_index = _field_index(layout, Role.SIGNATURE)
    name_ink = _measure(strokes, layout, index, name_index, settings)
    signature = _measure(strokes, layout, index, signature_index, settings)
    struck = find_strike(writing, layout, index)
    name = TextRead("", 0.0)
    if name_ink.presence is not Presence.ABSENT and not struck:
        name = _read_text(gray, strokes, layout, index, name_index, TextKind.NAME, reader)
    fields: dict[Role, TextRead] = {}
    for role in TEXT_ROLES:
        field_index = _field_index(layout, role)
        if field_index is not None:
            fields[role] = _read_text(gray, strokes, layout, index, field_index, _KIND_OF_ROLE[role], reader)
    status = decide_status(name_ink.presence, signature.presence, struck)
    accept_at = settings.accept_name_confidence if settings.accept_name_confidence is not None else reader.accept_name_at
    reasons = review_reasons(status, name_ink.presence, signature.presence, name, accept_at)
    if layout.guessed_roles:
        reasons += (ReviewReason.LAYOUT_GUESSED,)
    return LineReading(line.number, status, name, fields, signature, name_ink, struck, bool(reasons), reasons)


def decide_status(name: Presence, signature: Presence, struck: bool) -> LineStatus:
    """The line's status from the two ink verdicts; anything marginal stays uncertain."""
    if struck:
        return LineStatus.STRUCK
    if Presence.MARGINAL in (name, signature):
        return LineStatus.UNCERTAIN
    match (name is Presence.PRESENT, signature is Presence.PRESENT):
        case (True, True):
            return LineStatus.SIGNED
        case (True, False):
            return LineStatus.NAME_ONLY
        case (False, True):
            return LineStatus.SIGNATURE_ONLY
        case _:
            return LineStatus.BLANK


def review_reasons(status: LineStatus, name: Presence, signature: Presence, read: TextRead,
                   accept_at: float) -> tuple[ReviewReason, ...]:
    """Why a volunteer should look at this line (empty: the machine's verdict stands)."""
    reasons: list[ReviewReason] = []
    if signature is Presence.MARGINAL:
        reasons.append(ReviewReason.MARGINAL_SIGNATURE)
    if name is Presence.MARGINAL:
        reasons.append(ReviewReason.MARGINAL_NAME)
    match status:
        case LineStatus.STRUCK:
            reasons.append(ReviewReason.STRUCK)
        case LineStatus.NAME_ONLY:
            reasons.append(ReviewReason.NAME_WITHOUT_SIGNATURE)
        case LineStatus.SIGNATURE_ONLY:
            reasons.append(ReviewReason.SIGNATURE_WITHOUT_NAME)
        case LineStatus.SIGNED | LineStatus.UNCERTAIN | LineStatus.BLANK:
            pass
    if status in (LineStatus.SIGNED, LineStatus.NAME_ONLY, LineStatus.UNCERTAIN) and name is not Presence.ABSENT:
        if read.confidence < accept_at:
            reasons.append(ReviewReason.LOW_NAME_CONFIDENCE)
    return tuple(reasons)


def _field_index(layout: SheetLayout, role: Role) -> int | None:
    return next((i for i, f in enumerate(layout.fields) if f.role is role), None)


def _measure(strokes: Strokes, layout: SheetLayout, line_index: int, field_index: int | None,
             settings: ReadSettings) -> InkMeasure:
    if field_index is None:
        return InkMeasure(Presence.ABSENT, 0.0, 0.0)
    cell_index = line_index * len(layout.fields) + field_index
    box = layout.cell(layout.lines[line_index], layout.fields[field_index])
    return measure(strokes, cell_index, box, settings.ink)


def _read_text(gray, strokes: Strokes, layout: SheetLayout, line_index: int, field_index: int | None,
               kind: TextKind, reader: FieldReader) -> TextRead:
    if field_index is None:
        return TextRead("", 0.0)
    cell_index = line_index * len(layout.fields) + field_index
    # Small marks stay in the crop: accents and i-dots are letters' parts (specks far from the writing are
    # dropped later, with the crop's main line of writing).
    found = cell_pixels(strokes, cell_index, min_size=0.02 * strokes.row_height)
    if found is None:
        return TextRead("", 0.0)
    mask, box = found
    if strokes.pale is not None:
        # Pale pixels within a stroke's length of the writing: about an eighth of a line (measured scale).
        mask, box = grow_into_pale(mask, box, strokes.pale, steps=max(2, round(strokes.row_height / 8)))
    return reader.read(_clean_crop(gray, mask, box), kind)


def _clean_crop(gray: np.ndarray, mask: np.ndarray, box) -> np.ndarray:
    """The cell's gray pixels where its own strokes are, white everywhere else (no ruling, labels or neighbours)."""
    window = gray[box.y0 : box.y1, box.x0 : box.x1]
    keep = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    crop = np.full_like(window, 255)
    crop[keep] = window[keep]
    return crop


def _with_seconds(result: PageResult, seconds: float) -> PageResult:
    return dataclasses.replace(result, seconds=round(seconds, 3))


def line_crops(gray: np.ndarray, layout: SheetLayout) -> tuple[LineCrops, ...]:
    """What a reviewer is shown: each line with a third of a line of context above and below (overflowing
    signatures), and its name and signature cells."""
    name = layout.field(Role.NAME)
    signature = layout.field(Role.SIGNATURE)
    crops = []
    for line in layout.lines:
        margin = (line.y1 - line.y0) // 3
        whole = Box(layout.table.x0, max(0, line.y0 - margin), layout.table.x1, min(gray.shape[0], line.y1 + margin))
        crops.append(LineCrops(_jpeg(gray, whole), _jpeg(gray, layout.cell(line, name)) if name else b"",
                               _jpeg(gray, layout.cell(line, signature)) if signature else b""))
    return tuple(crops)


def _jpeg(gray: np.ndarray, box: Box) -> bytes:
    """JPEG at quality 80: 40x faster to encode than WebP (which cost 0.2 s a page) at twice the size."""
    ok, encoded = cv2.imencode(".jpg", gray[box.y0 : box.y1, box.x0 : box.x1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    return encoded.tobytes() if ok else b""
