"""Read many files: triage every file, read pages concurrently, report per file and page (after OCRmyPDF)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scanner import ingest
from scanner.errors import SheetError
from scanner.form import Form
from scanner.read import ReadSettings, read_file_page
from scanner.types import PageRef, PageResult, PageStatus

DEFAULT_PDF_DPI = 200


@dataclass(frozen=True)
class ReadJob:
    """The small picklable context each page task carries."""

    settings: ReadSettings = field(default_factory=ReadSettings)
    form: Form | None = None
    debug_dir: str | None = None


@dataclass(frozen=True)
class BatchReport:
    pages: tuple[PageResult, ...]

    @property
    def ok(self) -> bool:
        return bool(self.pages) and all(p.status is PageStatus.OK for p in self.pages)

    @property
    def any_ok(self) -> bool:
        return any(p.status is PageStatus.OK for p in self.pages)


def init_worker() -> None:
    """Tesseract's OpenMP threads oversubscribe cores when several workers run (datashare #2234)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"


def triage(paths: list[Path], *, pdf_dpi: int) -> tuple[list[PageRef], list[PageResult]]:
    """Every page to read, and a failed PageResult for every file that cannot even be opened."""
    refs: list[PageRef] = []
    failed: list[PageResult] = []
    for path in ingest.discover(paths):
        try:
            refs.extend(ingest.page_refs(path, pdf_dpi=pdf_dpi))
        except SheetError as exc:
            failed.append(PageResult(PageRef(str(path), path.name, 0, "unknown", 0), exc.status, str(exc)))
    return refs, failed


def read_paths(paths: list[Path], *, job: ReadJob = ReadJob(), workers: int = 1, pdf_dpi: int = DEFAULT_PDF_DPI,
               progress: Callable[[PageResult], None] | None = None, executor: Executor | None = None) -> BatchReport:
    """Triage → read pages concurrently → one report, pages in input order."""
    refs, failed = triage(paths, pdf_dpi=pdf_dpi)
    results = list(failed)
    for result in _read_all(refs, job, workers, executor):
        results.append(result)
        if progress:
            progress(result)
    order = {path.name: i for i, path in enumerate(ingest.discover(paths))}
    results.sort(key=lambda r: (order.get(r.ref.file_name, len(order)), r.ref.file_name, r.ref.page))
    return BatchReport(tuple(results))


def _read_all(refs: list[PageRef], job: ReadJob, workers: int, executor: Executor | None) -> Iterator[PageResult]:
    if executor is not None:
        yield from executor.map(_read_one, refs, [job] * len(refs))
        return
    if workers <= 1 or len(refs) <= 1:
        init_worker()
        yield from (_read_one(ref, job) for ref in refs)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=init_worker) as pool:
        yield from pool.map(_read_one, refs, [job] * len(refs), chunksize=1)


def _read_one(ref: PageRef, job: ReadJob) -> PageResult:
    """One page in a worker; an unexpected bug in one page becomes that page's failure, not the batch's."""
    try:
        return read_file_page(ref, settings=job.settings, form=job.form, debug_dir=job.debug_dir)
    except Exception as exc:  # noqa: BLE001 - report, never crash the batch
        return PageResult(ref, PageStatus.FAILED, f"{ref.file_name} page {ref.page}: internal error {type(exc).__name__}: {exc}")
