"""Find input files, list their pages, and decode one page at a time (never a whole PDF in memory)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence

from scanner.errors import EncryptedPdf, InputTooLarge, UnreadableInput
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


def discover(paths: Iterable[Path]) -> list[Path]:
    """Expand folders to the supported files inside them (sorted); keep named files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        else:
            found.append(path)
    return found


def sniff(path: Path) -> str:
    """The file's kind from its first bytes, never from its name."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise UnreadableInput(f"{path.name}: cannot open ({exc.strerror})") from exc
    if size == 0:
        raise UnreadableInput(f"{path.name}: the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise InputTooLarge(f"{path.name}: {size / 1024**3:.1f} GiB is larger than the {MAX_FILE_BYTES // 1024**3} GiB limit")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    raise UnreadableInput(f"{path.name}: not a PDF, TIFF, JPEG or PNG (content does not match any of them)")


def page_refs(path: Path, *, pdf_dpi: int) -> list[PageRef]:
    """One reference per page of the file, found without decoding the pages."""
    kind = sniff(path)
    count = _pdf_page_count(path) if kind == "pdf" else _image_frame_count(path)
    if count > MAX_PAGES:
        raise InputTooLarge(f"{path.name}: {count} pages is more than the {MAX_PAGES}-page limit")
    dpi = pdf_dpi if kind == "pdf" else 0
    return [PageRef(str(path), path.name, number, kind, dpi) for number in range(1, count + 1)]


def load_page(ref: PageRef) -> Page:
    """Decode exactly one page to 8-bit gray."""
    if ref.kind == "pdf":
        gray, dpi = _render_pdf_page(ref), float(ref.dpi)
    else:
        gray, dpi = _decode_image_frame(ref)
    digest = hashlib.sha256(f"{gray.shape}".encode() + gray.tobytes()).hexdigest()
    return Page(ref=ref, gray=gray, dpi=dpi, sha256=digest)


def _pdf_page_count(path: Path) -> int:
    from pdf2image import pdfinfo_from_path
    from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFPopplerTimeoutError

    try:
        info = pdfinfo_from_path(str(path), timeout=PDF_TIMEOUT_S)
    except PDFInfoNotInstalledError as exc:
        raise UnreadableInput(f"{path.name}: poppler (pdfinfo) is not installed; run 'make setup'") from exc
    except (PDFPageCountError, PDFPopplerTimeoutError, ValueError) as exc:
        if _pdf_is_encrypted(path):
            raise EncryptedPdf(f"{path.name}: the PDF is encrypted") from exc
        raise UnreadableInput(f"{path.name}: the PDF cannot be parsed") from exc
    pages = int(info.get("Pages", 0))
    if pages < 1:
        raise UnreadableInput(f"{path.name}: the PDF has no pages")
    return pages


def _pdf_is_encrypted(path: Path) -> bool:
    """Only used to word an error: poppler has already refused the file."""
    try:
        from pypdf import PdfReader

        return bool(PdfReader(str(path), strict=False).is_encrypted)
    except Exception:  # noqa: BLE001 - a damaged file is simply "not known to be encrypted"
        return False


def _render_pdf_page(ref: PageRef) -> np.ndarray:
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFPageCountError, PDFPopplerTimeoutError

    _check_pdf_page_size(ref)
    try:
        images = convert_from_path(
            ref.path, dpi=ref.dpi, first_page=ref.page, last_page=ref.page, grayscale=True, timeout=PDF_TIMEOUT_S
        )
    except PDFPopplerTimeoutError as exc:
        raise UnreadableInput(f"{ref.file_name} page {ref.page}: rendering took longer than {PDF_TIMEOUT_S} s") from exc
    except (PDFPageCountError, OSError, ValueError) as exc:
        raise UnreadableInput(f"{ref.file_name} page {ref.page}: poppler could not render it") from exc
    if not images:
        raise UnreadableInput(f"{ref.file_name} page {ref.page}: poppler rendered nothing")
    return np.asarray(images[0].convert("L"))


def _check_pdf_page_size(ref: PageRef) -> None:
    """Refuse absurd page sizes before poppler allocates them."""
    from pdf2image import pdfinfo_from_path

    try:
        info = pdfinfo_from_path(ref.path, first_page=ref.page, last_page=ref.page, timeout=PDF_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - rendering will report the real problem
        return
    size = str(info.get(f"Page {ref.page:4d} size", info.get("Page size", "")))
    parts = size.split()
    if len(parts) >= 3 and parts[1] == "x":
        width_pt, height_pt = float(parts[0]), float(parts[2])
        pixels = (width_pt / 72 * ref.dpi) * (height_pt / 72 * ref.dpi)
        if pixels > MAX_PAGE_PIXELS:
            raise InputTooLarge(f"{ref.file_name} page {ref.page}: {width_pt / 72:.0f}x{height_pt / 72:.0f} in at {ref.dpi} dpi is too large")


def _open_image(path: Path) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_PAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path, formats=["TIFF", "JPEG", "PNG"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputTooLarge(f"{path.name}: the image is too large to be a scanned page") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnreadableInput(f"{path.name}: the image cannot be decoded") from exc


def _image_frame_count(path: Path) -> int:
    with _open_image(path) as image:
        return int(getattr(image, "n_frames", 1))


def _decode_image_frame(ref: PageRef) -> tuple[np.ndarray, float]:
    path = Path(ref.path)
    with _open_image(path) as image:
        try:
            frame = ImageSequence.Iterator(image)[ref.page - 1]
            if frame.width * frame.height > MAX_PAGE_PIXELS:
                raise InputTooLarge(f"{ref.file_name} page {ref.page}: {frame.width}x{frame.height} pixels is too large")
            frame = ImageOps.exif_transpose(frame) if frame.format == "JPEG" or image.format == "JPEG" else frame
            gray = _to_gray(frame)
        except (OSError, ValueError, SyntaxError, IndexError, EOFError) as exc:
            raise UnreadableInput(f"{ref.file_name} page {ref.page}: the image data is damaged") from exc
        dpi = _dpi_of(image)
    return gray, dpi


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
