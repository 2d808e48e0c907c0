"""Read many files: triage every file, read pages concurrently, report per file and page (after OCRmyPDF)."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path

from scanner import ingest
from scanner.errors import SheetError
from scanner.form import Form
from scanner.read import ReadSettings, read_file_page
from scanner.types import PageRef, PageResult, PageStatus

DEFAULT_PDF_DPI = 200
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class PoolOwner:
    """Who made a worker pool, passed to each worker so that it can tie its life to the owner's."""

    pid: int
    # Linux's parent-death signal fires when the *thread* that forked the worker ends, not its process: it is
    # only safe when that thread lives as long as the process (the main thread), or is a forkserver's.
    main_thread: bool


def worker_pool(workers: int, context: BaseContext | None = None) -> ProcessPoolExecutor:
    """Processes that read pages. Each dies with the process that made the pool: a `petition add` killed with
    kill -9 would otherwise leave its workers (~190 MB each, models loaded) running forever, waiting for work."""
    owner = PoolOwner(os.getpid(), threading.current_thread() is threading.main_thread())
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker, initargs=(owner,))


def init_worker(owner: PoolOwner | None = None) -> None:
    """Tesseract's OpenMP threads oversubscribe cores when several workers run (datashare #2234)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if owner is not None:
        _die_with_parent(owner)


def _die_with_parent(owner: PoolOwner) -> None:
    """Two ties, because either alone has a gap. The kernel's parent-death signal (Linux) kills the worker
    even when it is busy in C code holding the GIL, but it follows the direct parent: for a forkserver's
    worker that is the forkserver (which exits when the app does, so the signal still comes). The watchdog
    waits on multiprocessing's parent sentinel, a pipe end the owner holds (through a forkserver too), which
    reads end-of-file the moment the owner dies, on any platform, including before this function ran."""
    parent = multiprocessing.parent_process()
    forked_by_owner = os.getppid() == owner.pid
    if owner.main_thread or not forked_by_owner:
        _set_parent_death_signal()
    if parent is None:
        return
    if not parent.is_alive():  # the owner died before the death signal was set: it will never come
        os._exit(1)
    threading.Thread(target=_exit_when_gone, args=(parent.sentinel,), name="petition-parent-watch",
                     daemon=True).start()


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl in this libc: the watchdog still ties the worker
        pass


def _exit_when_gone(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def triage(paths: list[Path], *, pdf_dpi: int) -> tuple[list[PageRef], list[PageResult]]:
    """Every page to read, and a failed PageResult for every file that cannot even be opened."""
    refs: list[PageRef] = []
    failed: list[PageResult] = []
    for path in ingest.discover(paths):
        name = ingest.display_name(path)
        try:
            refs.extend(ingest.page_refs(path, pdf_dpi=pdf_dpi))
        except SheetError as exc:
            failed.append(PageResult(PageRef(str(path), name, 0, "unknown", 0), exc.status, str(exc)))
        except Exception:  # noqa: BLE001 - a bug in opening one file fails that file, never the batch
            log.debug("opening %s failed", name, exc_info=True)
            failed.append(PageResult(PageRef(str(path), name, 0, "unknown", 0), PageStatus.FAILED,
                                     f"{name}: internal error while opening the file; please report it"))
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
    order = {ingest.display_name(path): i for i, path in enumerate(ingest.discover(paths))}
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
    with worker_pool(workers) as pool:
        yield from pool.map(_read_one, refs, [job] * len(refs), chunksize=1)


def _read_one(ref: PageRef, job: ReadJob) -> PageResult:
    """One page in a worker; an unexpected bug in one page becomes that page's failure, not the batch's."""
    try:
        return read_file_page(ref, settings=job.settings, form=job.form, debug_dir=job.debug_dir)
    except Exception:  # noqa: BLE001 - report, never crash the batch; the details are for a developer's log
        log.debug("reading %s page %s failed", ref.file_name, ref.page, exc_info=True)
        return PageResult(ref, PageStatus.FAILED,
                          f"{ref.file_name} page {ref.page}: internal error while reading this page; please report it")
