"""A page → its LineReadings. The chain, over one frozen PageContext:

    normalize → layout (auto or form) → ink → read lines

`layout.find_layout` turns the page upright and finds its table (or fits a form) and measures its scale; the
ink stage (`ink.find_ink`) separates handwriting and gives each stroke to a cell; `lines.read_lines` decides
each line. Errors (SheetError) become a PageResult with a status here, never in the stages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
import time

import cv2
import numpy as np

from scanner import ingest
from scanner.context import PageContext
from scanner.debug import DebugWriter
from scanner.errors import PageTimedOut, SetupError, SheetError
from scanner.fields import FieldReader, Recognizer, TesseractFieldReader, field_reader
from scanner.ink import find_ink
from scanner.layout import PageLayout, find_layout
from scanner.lines import decide_status, read_lines, review_reasons
from scanner.ocr import OcrEngine, default_engine
from scanner.settings import ReadSettings
from scanner.types import (
    TEXT_ROLES, Box, LineCrops, LineReading, Page, PageRef, PageResult, PageStatus, ReviewReason, Role,
    SheetLayout,
)

# Callers import these from here: the entry points keep their home while the stages live in their own modules.
__all__ = ["ReadSettings", "decide_status", "line_crops", "read_file_page", "read_page", "reader_for",
           "review_reasons"]

log = logging.getLogger(__name__)
_DEFAULT_SETTINGS = ReadSettings()


def read_file_page(ref: PageRef, *, settings: ReadSettings = _DEFAULT_SETTINGS, form=None,
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
    found = find_layout(page, settings=settings, form=form, engine=engine, debug=debug)
    context = PageContext(found.upright.gray, found.masks, found.layout, found.scale, settings, reader, debug)
    debug.layout(context.gray, context.layout)
    ink = find_ink(context)
    readings = read_lines(context, ink)
    if found.registration is not None and not found.registration.ok:
        readings = tuple(_to_review(reading, ReviewReason.NOT_REGISTERED) for reading in readings)
    debug.verdicts(context.gray, context.layout, readings)
    return _page_result(found, context, readings)


def _to_review(reading: LineReading, reason: ReviewReason) -> LineReading:
    return dataclasses.replace(reading, needs_review=True, review_reasons=(*reading.review_reasons, reason))


def _page_result(found: PageLayout, context: PageContext, readings: tuple[LineReading, ...]) -> PageResult:
    page, layout, registration = found.upright.page, context.layout, found.registration
    roles = tuple(dict.fromkeys(f.role for f in layout.fields if f.role in TEXT_ROLES))
    crops = line_crops(context.gray, layout) if context.settings.keep_crops else ()
    message = "" if registration is None or registration.ok else (
        f"{page.ref.file_name} page {page.ref.page}: not lined up with the form's blank sheet "
        f"({registration.message}); every line goes to review. Is this page from another form?")
    return PageResult(page.ref, PageStatus.OK, message, page.sha256, readings, roles,
                      orientation=found.upright.quarter_turns * 90, skew_deg=found.upright.skew_deg, crops=crops,
                      registration=None if registration is None else registration.quality)


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
