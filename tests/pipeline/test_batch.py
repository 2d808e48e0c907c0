"""Batch reading: every broken file gets its own result; the good pages are all read; one crash stays one page."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline import batch
from pipeline.batch import ReadJob, read_paths
from scanner import ingest, read
from scanner.ocr import OcrResult, TextKind
from scanner.read import read_file_page
from scanner.types import PageStatus
from tests.pipeline.conftest import BAD_FILES, GOOD_FILE
from tests.support import SCANS


def _truth_lines(file_name: str) -> int:
    truth = json.loads((SCANS / "truth.json").read_text(encoding="utf-8"))
    return sum(len(p["lines"]) for p in truth["files"][file_name]["pages"])


@pytest.fixture(scope="module")
def mixed_report(bad_dir, good_file):
    return read_paths([bad_dir, good_file])


@pytest.mark.slow
def test_every_bad_file_gets_its_own_status(mixed_report):
    statuses = {p.ref.file_name: p.status for p in mixed_report.pages if p.ref.file_name != GOOD_FILE}
    assert statuses == BAD_FILES
    assert len([p for p in mixed_report.pages if p.ref.file_name in BAD_FILES]) == len(BAD_FILES)


@pytest.mark.slow
def test_failed_pages_say_why(mixed_report):
    for page in mixed_report.pages:
        if page.status is not PageStatus.OK:
            assert page.message and not page.lines


@pytest.mark.slow
def test_good_file_is_read_completely_among_bad_ones(mixed_report):
    good = [p for p in mixed_report.pages if p.ref.file_name == GOOD_FILE]
    assert [p.status for p in good] == [PageStatus.OK]
    assert [ln.line for ln in good[0].lines] == list(range(1, _truth_lines(GOOD_FILE) + 1))
    assert mixed_report.any_ok and not mixed_report.ok


def test_bad_files_alone_give_nothing_ok(bad_dir):
    report = read_paths([bad_dir / name for name in BAD_FILES if name != "no_table.png"])
    assert not report.any_ok and not report.ok
    assert len(report.pages) == len(BAD_FILES) - 1


def test_no_inputs_is_not_ok():
    report = read_paths([])
    assert report.pages == () and not report.ok


class CrashingEngine:
    """An OCR engine with a bug: every call raises."""

    calls = 0

    def read_line(self, image: np.ndarray, *, kind: TextKind) -> OcrResult:
        CrashingEngine.calls += 1
        raise RuntimeError("engine exploded")


def _ref():
    return ingest.page_refs(SCANS / GOOD_FILE, pdf_dpi=200)[0]


def test_crashing_engine_becomes_a_failed_page_in_a_batch_worker(monkeypatch):
    monkeypatch.setattr(read, "default_engine", lambda: CrashingEngine())
    before = CrashingEngine.calls
    result = batch._read_one(_ref(), ReadJob())
    assert CrashingEngine.calls > before  # the fake was really used
    assert result.status is PageStatus.FAILED
    assert result.message and not result.lines


def test_crashing_engine_does_not_stop_the_batch(monkeypatch, bad_dir):
    monkeypatch.setattr(read, "default_engine", lambda: CrashingEngine())
    report = read_paths([SCANS / GOOD_FILE, bad_dir / "empty.png"])
    assert {p.ref.file_name: p.status for p in report.pages} == {
        GOOD_FILE: PageStatus.FAILED, "empty.png": PageStatus.UNREADABLE}


def test_read_file_page_turns_an_engine_crash_into_a_page_result():
    """read_file_page promises that every failure becomes a PageResult with a status and a message."""
    result = read_file_page(_ref(), engine=CrashingEngine())
    assert result.status is PageStatus.FAILED
    assert result.message
