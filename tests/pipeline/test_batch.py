"""Batch reading: every broken file gets its own result; the good pages are all read; one crash stays one page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline import batch
from pipeline.batch import ReadJob, run
from pipeline.sinks import BatchReport, CsvSink
from scanner import ingest, read
from scanner.ocr import OcrResult, TextKind
from scanner.read import read_file_page
from scanner.types import PageResult, PageStatus
from tests.pipeline.conftest import BAD_FILES, GOOD_FILE
from tests.support import SCANS


def read_paths(paths: list, job: ReadJob = ReadJob()) -> BatchReport:
    """The one orchestrator as `petition read` runs it."""
    return run(paths, job, CsvSink())


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
    result = batch.read_one(_ref(), ReadJob())
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


# The one orchestrator: the same triage, pool and pages for every sink ---------------------------------------


@pytest.fixture()
def quick_reader(monkeypatch):
    """Every page 'read' at once (no lines): for what the orchestrator does around reading. The pool's workers
    are forked, so they inherit the patch; the pages each worker saw are counted in a file beside the scans."""

    def read_file_page(ref, **_kwargs):
        with open(Path(ref.path).parent / "reads.log", "a", encoding="utf-8") as log:
            log.write(f"{ref.file_name}:{ref.page}\n")
        return PageResult(ref, PageStatus.OK, "", sha256=f"{ref.file_name}:{ref.page}")

    monkeypatch.setattr(batch, "read_file_page", read_file_page)


def _reads(folder: Path) -> list[str]:
    log = folder / "reads.log"
    return sorted(log.read_text(encoding="utf-8").split()) if log.exists() else []


@pytest.fixture()
def three_scans(tmp_path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("seed_rotated.tif", "seed_clean.png", "stacked_scan.png"):
        shutil.copy(SCANS / name, folder / name)
    return folder


def test_read_reports_pages_in_input_order_whatever_order_workers_finish(quick_reader, three_scans, bad_dir):
    inputs = [three_scans / "stacked_scan.png", bad_dir / "empty.png", three_scans / "seed_rotated.tif",
              three_scans / "seed_clean.png"]
    report = read_paths(inputs, ReadJob(workers=2))
    assert [(p.ref.file_name, p.ref.page) for p in report.pages] == [
        ("stacked_scan.png", 1), ("empty.png", 0), ("seed_rotated.tif", 1), ("seed_rotated.tif", 2),
        ("seed_clean.png", 1)]
    assert report.any_ok and not report.ok and not report.interrupted


def test_add_reads_only_what_the_workspace_lacks(quick_reader, three_scans, tmp_path):
    from pipeline.add import WorkspaceSink
    from pipeline.store import Workspace

    workspace = Workspace.open(tmp_path / "ws")
    try:
        first = run([three_scans], ReadJob(), WorkspaceSink(workspace))
        read_once = _reads(three_scans)
        shutil.copy(three_scans / "seed_clean.png", three_scans / "renamed-copy.png")
        again = run([three_scans], ReadJob(), WorkspaceSink(workspace))
    finally:
        workspace.close()
    assert read_once == ["seed_clean.png:1", "seed_rotated.tif:1", "seed_rotated.tif:2", "stacked_scan.png:1"]
    assert _reads(three_scans) == read_once  # nothing read twice, not even the renamed copy
    assert [f.status for f in first.files] == ["new", "new", "new"] and first.all_read
    assert {f.name: f.status for f in again.files} == {
        "renamed-copy.png": "already added", "seed_clean.png": "already added",
        "seed_rotated.tif": "already added", "stacked_scan.png": "already added"}


def test_the_same_content_twice_in_one_add_is_read_once(quick_reader, three_scans, tmp_path):
    from pipeline.add import WorkspaceSink
    from pipeline.store import Workspace

    shutil.copy(three_scans / "seed_clean.png", three_scans / "copy.png")
    workspace = Workspace.open(tmp_path / "ws")
    try:
        report = run([three_scans / "copy.png", three_scans / "seed_clean.png"], ReadJob(), WorkspaceSink(workspace))
        names = sorted(r[0] for r in workspace.db.execute("SELECT name FROM file_names"))
    finally:
        workspace.close()
    assert _reads(three_scans) == ["copy.png:1"]
    assert [(f.name, f.status, len(f.pages)) for f in report.files] == [
        ("copy.png", "new", 1), ("seed_clean.png", "already added", 0)]
    assert names == ["copy.png", "seed_clean.png"]


class _CtrlCOnSecondPage(CsvSink):
    """Ctrl-C arrives while the second page is being kept."""

    pages_kept = 0

    def page(self, result: PageResult) -> None:
        super().page(result)
        self.pages_kept += 1
        if self.pages_kept == 2:
            raise KeyboardInterrupt


def test_ctrl_c_while_pages_are_read_keeps_what_the_sink_has_and_says_so(quick_reader, three_scans):
    report = run([three_scans], ReadJob(), _CtrlCOnSecondPage())
    assert report.interrupted and len(report.pages) == 2


@pytest.mark.slow
def test_read_and_add_give_the_same_rows_for_the_same_scans(tmp_path):
    """`petition read` and `petition add` are one orchestrator with two sinks: the same lines come out, and
    the workspace stores exactly them."""
    from pipeline.add import WorkspaceSink
    from pipeline.rows import rows_frame
    from pipeline.store import Workspace

    scans = [SCANS / "seed_rotated.tif", SCANS / "stacked_scan.png"]
    read = read_paths(scans, ReadJob(workers=2)).rows()
    workspace = Workspace.open(tmp_path / "ws")
    try:
        added = run(scans, ReadJob(workers=2).with_settings(keep_crops=True), WorkspaceSink(workspace))
        stored = workspace.db.execute(
            "SELECT f.name, p.page_no, l.line_no, l.status, l.name, l.needs_review FROM lines l JOIN pages p"
            " ON p.id = l.page_id JOIN files f ON f.sha256 = p.file_sha256 ORDER BY 1, 2, 3").fetchall()
    finally:
        workspace.close()
    assert added.all_read and len(read) == 15 + 15 + 8
    pages = tuple(page for outcome in added.files for page in outcome.pages)
    assert rows_frame(pages).equals(read)
    expected = sorted((r.file, int(r.page), int(r.line), r.status, r.name, int(r.needs_review == "true"))
                      for r in read.itertuples())
    assert [tuple(row) for row in stored] == expected
