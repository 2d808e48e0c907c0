"""The one orchestrator (after OCRmyPDF's _pipelines/ocr.py): triage every file → read its pages through one
pool of workers → hand each page to a sink as it finishes → the sink's report. `petition read`, `eval` and the
benchmarks use CsvSink (pipeline/sinks.py); `petition add` and the review app's uploads use WorkspaceSink
(pipeline/add.py). A bad file or page becomes a result with a reason; a worker that dies is replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

from pipeline.job import ReadJob
from pipeline.pool import LocalPool, PoolFactory, TaskExecutor, TaskRaised, WorkerDied, worker_pool
from scanner import ingest
from scanner.errors import SheetError
from scanner.read import read_file_page
from scanner.types import PageRef, PageResult, PageStatus

__all__ = ["Opened", "Progress", "ReadJob", "Sink", "open_file", "read_one", "read_pages", "run", "triage",
           "worker_pool"]  # ReadJob and worker_pool live in job.py and pool.py; callers know them from here

log = logging.getLogger(__name__)
Report_co = TypeVar("Report_co", covariant=True)
Progress = Callable[[PageResult, int, int], None]  # (page just read, pages read so far, pages to read)


@dataclass(frozen=True)
class Opened:
    """One input file after triage: its pages, or (`failed`, one result) why it cannot be opened."""

    path: Path
    name: str
    pages: tuple[PageRef, ...] = ()
    failed: tuple[PageResult, ...] = ()


class Sink(Protocol[Report_co]):
    """Where pages go. Called in order: `plan` once per input file, `page` for every page read (in the order
    they finish), `report` once at the end."""

    def plan(self, path: Path, job: ReadJob) -> tuple[PageRef, ...]:
        """Triage one file: the pages of it to read now."""

    def page(self, result: PageResult) -> None:
        """Keep one page's result."""

    def report(self, *, interrupted: bool) -> Report_co:
        """What this run did; `interrupted`: Ctrl-C stopped the reading."""


def run(paths: Iterable[Path], job: ReadJob, sink: Sink[Report_co], *, progress: Progress | None = None,
        make_pool: PoolFactory = worker_pool, executor: TaskExecutor | None = None) -> Report_co:
    """Triage → read pages through one pool (a worker that dies is replaced) → the sink, page by page → report.
    `executor`: where pages are read (default: this machine's processes, made by `make_pool`; or a
    pipeline.cluster.DaskCluster)."""
    to_read = [ref for path in ingest.discover(list(paths)) for ref in sink.plan(path, job)]
    interrupted = False
    try:
        for done, result in enumerate(read_pages(to_read, job, make_pool=make_pool, executor=executor), start=1):
            sink.page(result)
            if progress:
                progress(result, done, len(to_read))
    except KeyboardInterrupt:  # every page the sink has is kept; its report says the run was cut short
        interrupted = True
    return sink.report(interrupted=interrupted)


def open_file(path: Path, *, pdf_dpi: int) -> Opened:
    """A file's pages, found without decoding them; a file that cannot be opened gets a failed result."""
    name = ingest.display_name(path)
    try:
        return Opened(path, name, tuple(ingest.page_refs(path, pdf_dpi=pdf_dpi)))
    except SheetError as exc:
        return Opened(path, name, failed=(_file_failed(path, name, exc.status, str(exc)),))
    except Exception:  # noqa: BLE001 - a bug in opening one file fails that file, never the batch
        log.debug("opening %s failed", name, exc_info=True)
        message = f"{name}: internal error while opening the file; please report it"
        return Opened(path, name, failed=(_file_failed(path, name, PageStatus.FAILED, message),))


def triage(paths: Iterable[Path], job: ReadJob) -> list[Opened]:
    """Every input file opened (folders expanded), in input order."""
    return [open_file(path, pdf_dpi=job.pdf_dpi) for path in ingest.discover(list(paths))]


def _file_failed(path: Path, name: str, status: PageStatus, message: str) -> PageResult:
    return PageResult(PageRef(str(path), name, 0, "unknown", 0), status, message)


def read_pages(refs: list[PageRef], job: ReadJob, *, make_pool: PoolFactory = worker_pool,
               executor: TaskExecutor | None = None) -> Iterator[PageResult]:
    """Every page's result as it finishes, always in worker processes: a page that kills its process (out of
    memory, a crash in C code) takes down that worker, never this one. Workers on another machine are sent
    each page's bytes (pipeline/cluster_pages.py) instead of its path."""
    executor = executor or LocalPool(make_pool)
    if executor.shares_files:
        outcomes = executor.run(partial(read_one, job=job), refs, workers=job.workers)
    else:
        from pipeline.cluster_pages import ShippedPages, read_shipped, ship_job

        outcomes = executor.run(partial(read_shipped, job=ship_job(job)), ShippedPages(refs), workers=job.workers)
    for index, outcome in outcomes:
        yield _no_result(refs[index], outcome) if isinstance(outcome, (WorkerDied, TaskRaised)) else outcome


def read_one(ref: PageRef, job: ReadJob) -> PageResult:
    """One page in a worker; an unexpected bug in one page becomes that page's failure, not the batch's."""
    try:
        return read_file_page(ref, settings=job.settings, form=job.form, debug_dir=job.debug_dir)
    except Exception:  # noqa: BLE001 - report, never crash the batch; the details are for a developer's log
        log.debug("reading %s page %s failed", ref.file_name, ref.page, exc_info=True)
        return _internal_error(ref)


def _internal_error(ref: PageRef) -> PageResult:
    return PageResult(ref, PageStatus.FAILED,
                      f"{ref.file_name} page {ref.page}: internal error while reading this page; please report it")


def _no_result(ref: PageRef, outcome: WorkerDied | TaskRaised) -> PageResult:
    if isinstance(outcome, TaskRaised):
        return _internal_error(ref)
    return PageResult(ref, PageStatus.FAILED,
                      f"{ref.file_name} page {ref.page}: the process reading this page stopped {outcome.tries} times"
                      " (out of memory, or killed); the other pages are unaffected. Scan it again at 300 dpi or"
                      " lower, or read it alone with --workers 1")
