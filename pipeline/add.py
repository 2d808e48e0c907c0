"""`petition add`: put scans into the workspace. Triage every file, read the pages not yet stored, save each
page as it finishes. Killed at any point, the same command finishes the job and the result equals an
uninterrupted run: a page is stored whole or not at all, files and crops are keyed by content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.batch import ReadJob, _read_one, worker_pool
from pipeline.store import Workspace
from scanner import ingest
from scanner.errors import SheetError
from scanner.types import PageRef, PageResult, PageStatus

WORKER_CRASH_RETRIES = 1


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one input file in this run."""

    path: str
    name: str
    sha256: str
    status: str  # "new", "already added", or a PageStatus value for a file that could not be opened
    message: str = ""
    pages: tuple[PageResult, ...] = ()


@dataclass
class AddReport:
    files: list[FileOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def pages(self) -> list[PageResult]:
        return [p for f in self.files for p in f.pages]

    @property
    def all_read(self) -> bool:
        return all(f.status in ("new", "already added") for f in self.files) and all(
            p.status is PageStatus.OK for p in self.pages)

    @property
    def any_read(self) -> bool:
        """Something of this run is in the workspace: a file added before, or a page read now (or in the
        interrupted run this one finishes). False for a batch of only unreadable files, or of none at all."""
        return any(f.status == "already added" or (f.status == "new" and not f.pages)
                   or any(p.status is PageStatus.OK for p in f.pages) for f in self.files)


@dataclass(frozen=True)
class _Work:
    sha256: str
    ref: PageRef


ExecutorFactory = Callable[[int], Executor]


def process_pool(workers: int) -> Executor:
    """The default executor: worker processes with Tesseract limited to one thread each, that die with this one."""
    return worker_pool(workers)


def add_paths(workspace: Workspace, paths: Iterable[Path], *, job: ReadJob, workers: int = 1, pdf_dpi: int = 200,
              executor_factory: ExecutorFactory = process_pool,
              progress: Callable[[PageResult, int, int], None] | None = None) -> AddReport:
    """Triage → read what is missing, concurrently → save page by page → report."""
    report = AddReport()
    work: list[_Work] = []
    outcomes: dict[str, dict] = {}
    for path in ingest.discover(list(paths)):
        outcome, missing = _triage(workspace, path, pdf_dpi=pdf_dpi)
        outcomes[outcome.sha256 or str(path)] = {"outcome": outcome, "pages": []}
        work += [_Work(outcome.sha256, ref) for ref in missing]
    try:
        for item, result in _read(work, job, workers, executor_factory, progress):
            workspace.save_page(item.sha256, result)
            outcomes[item.sha256]["pages"].append(result)
    except KeyboardInterrupt:
        report.interrupted = True
    for entry in outcomes.values():
        outcome: FileOutcome = entry["outcome"]
        pages = tuple(sorted(entry["pages"], key=lambda p: p.ref.page))
        if outcome.sha256 and outcome.status in ("new", "already added"):
            _settle_file(workspace, outcome.sha256)  # also settles a file whose last run was killed
        report.files.append(FileOutcome(outcome.path, outcome.name, outcome.sha256, outcome.status, outcome.message, pages))
    return report


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with ingest.open_regular(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _triage(workspace: Workspace, path: Path, *, pdf_dpi: int) -> tuple[FileOutcome, list[PageRef]]:
    """A file's pages still to read; a file that cannot be opened is recorded with its reason. The file is
    named by ingest.display_name wherever it is stored or shown: a name that is not UTF-8 cannot be."""
    name = ingest.display_name(path)
    try:
        kind = ingest.sniff(path)
        sha256 = file_sha256(path)
        size = path.stat().st_size
    except SheetError as exc:
        return FileOutcome(str(path), name, "", exc.status.value, str(exc)), []
    except OSError as exc:
        return FileOutcome(str(path), name, "", PageStatus.UNREADABLE.value, f"{name}: {exc.strerror}"), []
    known = workspace.file(sha256)
    if known is not None:
        workspace.add_file(sha256=sha256, name=name, size=size, kind=kind, page_count=known.page_count,
                           status=known.status)
        if known.page_count and len(workspace.pages_done(sha256)) >= known.page_count:
            return FileOutcome(str(path), name, sha256, "already added", f"same content as {known.name}"), []
    try:
        refs = ingest.page_refs(path, pdf_dpi=pdf_dpi)
    except SheetError as exc:
        workspace.add_file(sha256=sha256, name=name, size=size, kind=kind, page_count=0, status=exc.status.value,
                           message=str(exc))
        return FileOutcome(str(path), name, sha256, exc.status.value, str(exc)), []
    workspace.add_file(sha256=sha256, name=name, size=size, kind=kind, page_count=len(refs), status="reading")
    done = workspace.pages_done(sha256)
    return FileOutcome(str(path), name, sha256, "new"), [r for r in refs if r.page not in done]


def _read(work: list[_Work], job: ReadJob, workers: int, executor_factory: ExecutorFactory,
          progress) -> Iterable[tuple[_Work, PageResult]]:
    """Results as pages finish. A worker killed mid-page (out of memory, SIGKILL) breaks the pool: the
    unfinished pages get one fresh pool; what is still unfinished then is left for the next run."""
    remaining = list(work)
    done_count, total = 0, len(work)
    for attempt in range(WORKER_CRASH_RETRIES + 1):
        if not remaining:
            return
        finished: set[int] = set()
        executor = executor_factory(workers)
        interrupted = False
        try:
            futures: dict[Future, int] = {executor.submit(_read_one, item.ref, job): i for i, item in enumerate(remaining)}
            for future in as_completed(futures):
                index = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    continue
                finished.add(index)
                done_count += 1
                if progress:
                    progress(result, done_count, total)
                yield remaining[index], result
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            executor.shutdown(wait=not interrupted, cancel_futures=True)
        remaining = [item for i, item in enumerate(remaining) if i not in finished]


def _settle_file(workspace: Workspace, sha256: str) -> None:
    """A file is ok once every page is stored and read; partial otherwise (the next run continues it)."""
    known = workspace.file(sha256)
    rows = workspace.db.execute("SELECT status FROM pages WHERE file_sha256 = ?", (sha256,)).fetchall()
    statuses = [r[0] for r in rows]
    if known is None:
        return
    if len(statuses) < known.page_count:
        workspace.set_file_status(sha256, "partial", f"{len(statuses)} of {known.page_count} pages read so far")
    elif all(s == PageStatus.OK.value for s in statuses):
        workspace.set_file_status(sha256, "ok")
    else:
        workspace.set_file_status(sha256, "pages failed", "some pages could not be read; see petition status")
