"""Find input files, list their pages, and decode one page at a time (never a whole PDF in memory)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, ImageSequence

from scanner.errors import EncryptedPdf, InputTooLarge, SheetError, UnreadableInput
from scanner.types import Page, PageRef

SUPPORTED_SUFFIXES = frozenset({".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"})
MAX_FILE_BYTES = 2 * 1024**3
# 600-dpi tabloid is ~67 Mpx; anything far beyond that is a mistake or a decompression bomb.
MAX_PAGE_PIXELS = 120_000_000
MAX_PAGES = 2000
PDF_TIMEOUT_S = 120

_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"II*\x00", "image"),
    (b"MM\x00*", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"\x89PNG\r\n\x1a\n", "image"),
)


class NotARegularFile(UnreadableInput):
    """A named pipe, socket or device given as a scan: opening a pipe blocks until something writes to it, a
    device may never end, so it is refused from its metadata alone."""

    advice = "give the scan as a saved file (a pipe, socket or device is never opened)"


_SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                  (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a folder"))


def display_name(path: Path | str) -> str:
    """The file's base name as shown and stored (CSV, SQLite, terminal). A name that is not UTF-8 reaches
    Python with its bad bytes as surrogate escapes, which no UTF-8 writer accepts: they become U+FFFD."""
    name = os.path.basename(os.fsdecode(path))
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def discover(paths: Iterable[Path]) -> list[Path]:
    """Expand folders to the files inside them whose names say scan (sorted); keep named files as given.
    Pipes, sockets and devices with such names are kept too, so that they are reported, not silently lost."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*"))
                         if p.suffix.lower() in SUPPORTED_SUFFIXES and not p.is_dir())
        else:
            found.append(path)
    return found


def open_regular(path: Path) -> BinaryIO:
    """Open a file for reading only if it is a regular file. The check is made on stat() before opening (a
    pipe would block open() itself) and again on the opened descriptor, in case the name changed between."""
    name = display_name(path)
    _refuse_special(os.stat(path).st_mode, name)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags)
    try:
        _refuse_special(os.fstat(descriptor).st_mode, name)
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _refuse_special(mode: int, name: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((kind for test, kind in _SPECIAL_KINDS if test(mode)), "not a file")
    raise NotARegularFile(f"{name}: not a regular file ({kind})")


def sniff(path: Path) -> str:
    """The file's kind from its first bytes, never from its name."""
    name = display_name(path)
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(16)
    except OSError as exc:
        raise UnreadableInput(f"{name}: cannot open ({exc.strerror})") from exc
    if size == 0:
        raise UnreadableInput(f"{name}: the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise InputTooLarge(f"{name}: {size / 1024**3:.1f} GiB is larger than the {MAX_FILE_BYTES // 1024**3} GiB limit")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    raise UnreadableInput(f"{name}: not a PDF, TIFF, JPEG or PNG (content does not match any of them)")


def page_refs(path: Path, *, pdf_dpi: int) -> list[PageRef]:
    """One reference per page of the file, found without decoding the pages."""
    kind = sniff(path)
    count = _pdf_page_count(path) if kind == "pdf" else _image_frame_count(path)
    name = display_name(path)
    if count > MAX_PAGES:
        raise InputTooLarge(f"{name}: {count} pages is more than the {MAX_PAGES}-page limit")
    dpi = pdf_dpi if kind == "pdf" else 0
    return [PageRef(str(path), name, number, kind, dpi) for number in range(1, count + 1)]


def load_page(ref: PageRef) -> Page:
    """Decode exactly one page to 8-bit gray."""
    if ref.kind == "pdf":
        gray, dpi = _render_pdf_page(ref), float(ref.dpi)
    else:
        gray, dpi = _decode_image_frame(ref)
    digest = hashlib.sha256(f"{gray.shape}".encode() + gray.tobytes()).hexdigest()
    return Page(ref=ref, gray=gray, dpi=dpi, sha256=digest)


@contextlib.contextmanager
def _decoding(where: str, damaged: str) -> Iterator[None]:
    """Run a decoder over untrusted bytes. Whatever it raises becomes UnreadableInput(f"{where}: {damaged}"):
    on a damaged file Pillow alone raises OSError, ValueError, SyntaxError, TypeError, KeyError,
    struct.error..., and to a user each means the same thing. Its warnings ("Corrupt EXIF data") are not shown
    either: the page is still read, or its status says why not. A decompression bomb is too large, not damaged."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (SheetError, MemoryError):
        raise  # already worded (too large, a time limit), or about this machine's memory, not the file
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputTooLarge(f"{where}: the image is too large to be a scanned page") from exc
    except Exception as exc:  # noqa: BLE001 - see above
        raise UnreadableInput(f"{where}: {damaged}") from exc


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Silence a library's log (its child loggers too) for one call: with no handler configured, Python prints
    its warnings (pypdf's are exception reprs) straight to the user's terminal."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(before)


def _pdf_page_count(path: Path) -> int:
    from pdf2image import pdfinfo_from_path
    from pdf2image.exceptions import PDFInfoNotInstalledError

    name = display_name(path)
    try:
        with _decoding(name, "the PDF cannot be parsed"):
            pages = int(pdfinfo_from_path(str(path), timeout=PDF_TIMEOUT_S).get("Pages", 0))
    except UnreadableInput as exc:
        if isinstance(exc.__cause__, PDFInfoNotInstalledError):
            raise UnreadableInput(f"{name}: poppler (pdfinfo) is not installed; run 'make setup'") from exc.__cause__
        if _pdf_is_encrypted(path):
            raise EncryptedPdf(f"{name}: the PDF is encrypted") from exc.__cause__
        raise
    if pages < 1:
        raise UnreadableInput(f"{name}: the PDF has no pages")
    return pages


def _pdf_is_encrypted(path: Path) -> bool:
    """Only used to word an error: poppler has already refused the file."""
    try:
        from pypdf import PdfReader

        with _quiet_logger("pypdf"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(PdfReader(str(path), strict=False).is_encrypted)
    except Exception:  # noqa: BLE001 - a damaged file is simply "not known to be encrypted"
        return False


def _render_pdf_page(ref: PageRef) -> np.ndarray:
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFPopplerTimeoutError

    _check_pdf_page_size(ref)
    with _decoding(f"{ref.file_name} page {ref.page}", "poppler could not render it"):
        try:
            images = convert_from_path(
                ref.path, dpi=ref.dpi, first_page=ref.page, last_page=ref.page, grayscale=True, timeout=PDF_TIMEOUT_S
            )
        except PDFPopplerTimeoutError as exc:
            raise UnreadableInput(f"{ref.file_name} page {ref.page}: rendering took longer than {PDF_TIMEOUT_S} s") from exc
        if not images:
            raise UnreadableInput(f"{ref.file_name} page {ref.page}: poppler rendered nothing")
        return np.asarray(images[0].convert("L"))


def _check_pdf_page_size(ref: PageRef) -> None:
    """Refuse absurd page sizes before poppler allocates them."""
    from pdf2image import pdfinfo_from_path

    try:
        info = pdfinfo_from_path(ref.path, first_page=ref.page, last_page=ref.page, timeout=PDF_TIMEOUT_S)
        size = str(info.get(f"Page {ref.page:4d} size", info.get("Page size", "")))
        parts = size.split()
        width_pt, height_pt = float(parts[0]), float(parts[2])
    except SheetError:
        raise  # the page's time limit, raised inside pdfinfo's wait
    except Exception:  # noqa: BLE001 - rendering will report the real problem
        return
    if parts[1] == "x":
        pixels = (width_pt / 72 * ref.dpi) * (height_pt / 72 * ref.dpi)
        if pixels > MAX_PAGE_PIXELS:
            raise InputTooLarge(f"{ref.file_name} page {ref.page}: {width_pt / 72:.0f}x{height_pt / 72:.0f} in at {ref.dpi} dpi is too large")


@contextlib.contextmanager
def _open_image(path: Path) -> Iterator[Image.Image]:
    """The image, opened through open_regular (never a pipe or a device, even one swapped in after triage)."""
    Image.MAX_IMAGE_PIXELS = MAX_PAGE_PIXELS
    name = display_name(path)
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise UnreadableInput(f"{name}: cannot open ({exc.strerror})") from exc
    with handle:
        with _decoding(name, "the image cannot be decoded"):
            image = Image.open(handle, formats=["TIFF", "JPEG", "PNG"])
        with image:
            yield image


def _image_frame_count(path: Path) -> int:
    with _open_image(path) as image, _decoding(display_name(path), "the image cannot be decoded"):
        return int(getattr(image, "n_frames", 1))


def _decode_image_frame(ref: PageRef) -> tuple[np.ndarray, float]:
    where = f"{ref.file_name} page {ref.page}"
    with _open_image(Path(ref.path)) as image, _decoding(where, "the image data is damaged"):
        frame = ImageSequence.Iterator(image)[ref.page - 1]
        if frame.width * frame.height > MAX_PAGE_PIXELS:
            raise InputTooLarge(f"{ref.file_name} page {ref.page}: {frame.width}x{frame.height} pixels is too large")
        frame = ImageOps.exif_transpose(frame) if frame.format == "JPEG" or image.format == "JPEG" else frame
        return _to_gray(frame), _dpi_of(image)


def _to_gray(frame: Image.Image) -> np.ndarray:
    if frame.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(frame, dtype=np.float64)
        top = max(float(wide.max()), 1.0)
        return (wide * (255.0 / top)).astype(np.uint8)
    if frame.mode in ("RGBA", "LA", "P", "PA"):
        frame = frame.convert("RGBA")
        white = Image.new("RGBA", frame.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, frame)
    return np.asarray(frame if frame.mode == "L" else frame.convert("L"))


def _dpi_of(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    if isinstance(dpi, tuple) and dpi and float(dpi[0]) >= 50:
        return float(dpi[0])
    return 0.0
