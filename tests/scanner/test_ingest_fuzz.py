"""Fuzzing ingest: small valid PDF, TIFF, PNG and JPEG files, damaged the ways files get damaged (cut short,
bytes flipped, garbage spliced in, header zeroed), go through the same steps a batch takes: triage (does the
file open, how many pages), then each page decoded and read. Whatever the bytes, nothing raises, and every
file or page ends in a status the README documents with a message that names the file and shows no Python
internals."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import tempfile
import warnings
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from pipeline.batch import triage
from pipeline.job import ReadJob
from scanner import ingest
from scanner.errors import SheetError
from scanner.read import ReadSettings, read_file_page
from scanner.types import PageStatus
from tests.support import ROOT

PYTHON_INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception|Warning)\b|\.py\b|site-packages|<class ")
# A file that cannot be opened at all ends in one of these; a page in any documented status but `failed`,
# which means a bug in the tool, not in the input.
FILE_STATUSES = {PageStatus.UNREADABLE, PageStatus.ENCRYPTED, PageStatus.TOO_LARGE}
PAGE_STATUSES = set(PageStatus) - {PageStatus.FAILED}
SETTINGS = ReadSettings(page_timeout_s=60)


def _documented_page_statuses() -> set[str]:
    """The statuses README.md lists for pages.csv."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = readme[readme.index("`pages.csv`, written beside it"):]
    sentence = sentence[: sentence.index("with a message")]
    return set(re.findall(r"`([a-z_]+)`", sentence)) - {"pages"}


def test_the_readme_documents_every_page_status():
    assert _documented_page_statuses() == {status.value for status in PageStatus}


@cache
def _seeds() -> dict[str, bytes]:
    """Tiny valid files of every supported kind (a gray gradient with a dark bar, so they are not blank)."""
    gray = np.tile(np.linspace(40, 250, 48, dtype=np.uint8), (36, 1))
    gray[10:14, 5:40] = 0
    image = Image.fromarray(gray)
    seeds = {".png": cv2.imencode(".png", gray)[1].tobytes(), ".jpg": cv2.imencode(".jpg", gray)[1].tobytes()}
    for kind, extra in ((".tif", {}), ("-multi.tif", {"save_all": True, "append_images": [image.rotate(90)]}),
                        (".pdf", {"resolution": 72.0})):
        buffer = io.BytesIO()
        image.save(buffer, format="PDF" if kind == ".pdf" else "TIFF", **extra)
        seeds[kind] = buffer.getvalue()
    return seeds


@st.composite
def _mutation(draw, length: int):
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "zero_header"]))
    at = draw(st.integers(0, max(length - 1, 0)))
    if kind == "truncate":
        return ("truncate", at, b"")
    if kind == "flip":
        return ("flip", at, draw(st.binary(min_size=1, max_size=8)))
    if kind == "splice":
        return ("splice", at, draw(st.binary(min_size=1, max_size=64)))
    return ("zero_header", draw(st.integers(1, 16)), b"")


def _mutate(data: bytes, mutation: tuple[str, int, bytes]) -> bytes:
    kind, at, payload = mutation
    at = min(at, len(data))
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        return data[:at] + payload + data[at + len(payload):]
    if kind == "splice":
        return data[:at] + payload + data[at:]
    return b"\x00" * at + data[at:]


@st.composite
def damaged_files(draw) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from(sorted(_seeds())))
    data = _seeds()[suffix]
    for _ in range(draw(st.integers(1, 3))):
        data = _mutate(data, draw(_mutation(len(data))))
    return suffix, data


def _assert_plain(message: str, name: str) -> None:
    assert message.startswith(name), message
    assert not PYTHON_INTERNALS.search(message), message


def _second_frame_without_width() -> tuple[str, bytes]:
    """Found by this test: Pillow raised TypeError counting the frames, and the batch crashed."""
    data = _seeds()["-multi.tif"]
    width_tag = data.rindex(b"\x00\x01\x04\x00")  # tag 256 (ImageWidth), LONG, little-endian
    return "-multi.tif", data[:width_tag] + b"\xe7\x03" + data[width_tag + 2:]


def _pdf_trailer_damaged() -> tuple[str, bytes]:
    """Found by this test: pypdf, asked whether the file is encrypted, printed its exception reprs."""
    data = _seeds()[".pdf"]
    trailer = data.rindex(b"trailer")
    return ".pdf", data[:trailer] + data[trailer:].replace(b"/Root", b"\xdbRoot")


@contextlib.contextmanager
def _nothing_printed_or_warned():
    """Ingest speaks through statuses and messages only: no warnings, no library log lines on stderr."""
    printed, logged = io.StringIO(), _Collect()
    root = logging.getLogger()
    root.addHandler(logged)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(printed):
            warnings.simplefilter("always")
            yield
    finally:
        root.removeHandler(logged)
    assert not [str(w.message) for w in caught]
    assert not logged.messages  # without a handler, Python prints these to stderr, reprs and all
    assert printed.getvalue() == ""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_files())
@example(_second_frame_without_width())
@example(_pdf_trailer_damaged())
def test_a_damaged_file_ends_in_a_documented_status_and_never_raises(damaged):
    suffix, data = damaged
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"damaged{suffix}"
        path.write_bytes(data)
        with _nothing_printed_or_warned():
            refs, failed = _triage(path)
        assert len(failed) + bool(refs) == 1  # every file: pages to read, or one status saying why not
        for result in failed:
            assert result.status in FILE_STATUSES
            _assert_plain(result.message, path.name)
        for ref in refs[:2]:
            with _nothing_printed_or_warned():
                try:
                    ingest.load_page(ref)
                except SheetError as exc:
                    assert exc.status in FILE_STATUSES
                    _assert_plain(str(exc), path.name)
            result = read_file_page(ref, settings=SETTINGS)  # the whole page, as a worker reads it
            assert result.status in PAGE_STATUSES, result.message
            if result.status is not PageStatus.OK:
                _assert_plain(result.message, path.name)


def _triage(path: Path) -> tuple[list, list]:
    """The file's pages and, when it cannot be opened, the one result that says why (as `petition read` sees it)."""
    opened = triage([path], ReadJob(pdf_dpi=72))
    return [ref for file in opened for ref in file.pages], [result for file in opened for result in file.failed]


def test_the_undamaged_seeds_are_read_as_pages():
    """The fuzzing starts from files that do open: otherwise it would only ever test the sniffing."""
    with tempfile.TemporaryDirectory() as folder:
        for suffix, data in _seeds().items():
            path = Path(folder) / f"seed{suffix}"
            path.write_bytes(data)
            refs, failed = _triage(path)
            assert not failed and len(refs) == (2 if suffix == "-multi.tif" else 1), suffix
