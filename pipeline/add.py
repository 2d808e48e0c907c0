"""`petition add`'s sink: put scans into the workspace. Triage skips the files and pages already stored, each
page is saved as it finishes, and the end settles every file's status. Killed at any point, the same command
finishes the job and the result equals an uninterrupted run: a page is stored whole or not at all, files and
crops are keyed by content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.batch import Progress, ReadJob, open_file, run
from pipeline.pool import PoolFactory, TaskExecutor, worker_pool
from pipeline.store import Workspace
from scanner import ingest
from scanner.errors import SheetError
from scanner.types import PageRef, PageResult, PageStatus

NEW, ALREADY_ADDED = "new", "already added"


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one input file in this run."""

    path: str
    name: str
    sha256: str
    status: str  # "new", "already added", or a PageStatus value for a file that could not be opened
    message: str = ""
    pages: tuple[PageResult, ...] = ()


@dataclass(frozen=True)
class AddReport:
    files: tuple[FileOutcome, ...] = ()
    interrupted: bool = False

    @property
    def pages(self) -> list[PageResult]:
        return [p for f in self.files for p in f.pages]

    @property
    def all_read(self) -> bool:
        return all(f.status in (NEW, ALREADY_ADDED) for f in self.files) and all(
            p.status is PageStatus.OK for p in self.pages)

    @property
    def any_read(self) -> bool:
        """Something of this run is in the workspace: a file added before, or a page read now (or in the
        interrupted run this one finishes). False for a batch of only unreadable files, or of none at all."""
        return any(f.status == ALREADY_ADDED or (f.status == NEW and not f.pages)
                   or any(p.status is PageStatus.OK for p in f.pages) for f in self.files)


def add_paths(workspace: Workspace, paths: Iterable[Path], *, job: ReadJob, workers: int | None = None,
              pdf_dpi: int | None = None, executor_factory: PoolFactory = worker_pool,
              progress: Progress | None = None, executor: TaskExecutor | None = None) -> AddReport:
    """`batch.run` into the workspace (what the review app's uploads call); workers and pdf_dpi, when given,
    replace the job's; `executor` (a pipeline.cluster.DaskCluster) reads the pages elsewhere."""
    job = replace(job, workers=workers or job.workers, pdf_dpi=pdf_dpi or job.pdf_dpi)
    return run(paths, job, WorkspaceSink(workspace), progress=progress, make_pool=executor_factory,
               executor=executor)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with ingest.open_regular(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Stored:
    """An input file as the workspace knows it, before its pages are opened."""

    path: Path
    name: str
    sha256: str
    kind: str
    size: int


class WorkspaceSink:
    """Files and pages into the workspace; FileOutcomes, in input order, for the report."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._outcomes: list[FileOutcome] = []
        self._sha256_of: dict[str, str] = {}  # input path -> content hash, for the pages as they come back
        self._pages: dict[str, list[PageResult]] = {}  # input path -> its pages read in this run

    def plan(self, path: Path, job: ReadJob) -> tuple[PageRef, ...]:
        """A file's pages still to read. The file is named by ingest.display_name wherever it is stored or
        shown: a name that is not UTF-8 cannot be."""
        name = ingest.display_name(path)
        try:
            kind = ingest.sniff(path)  # first: it names what is wrong with a file that is not a scan
            stored = _Stored(path, name, file_sha256(path), kind, path.stat().st_size)
        except SheetError as exc:
            return self._outcome(FileOutcome(str(path), name, "", exc.status.value, str(exc)))
        except OSError as exc:
            return self._outcome(FileOutcome(str(path), name, "", PageStatus.UNREADABLE.value,
                                             f"{name}: {exc.strerror}"))
        skipped = self._already_added(stored)
        if skipped is not None:
            return self._outcome(skipped)
        return self._open(stored, job)

    def page(self, result: PageResult) -> None:
        self.workspace.save_page(self._sha256_of[result.ref.path], result)
        self._pages[result.ref.path].append(result)

    def report(self, *, interrupted: bool) -> AddReport:
        files = []
        for outcome in self._outcomes:
            if outcome.sha256 and outcome.status in (NEW, ALREADY_ADDED):
                _settle_file(self.workspace, outcome.sha256)  # also settles a file whose last run was killed
            pages = sorted(self._pages.get(outcome.path, ()), key=lambda p: p.ref.page)
            files.append(replace(outcome, pages=tuple(pages)))
        return AddReport(tuple(files), interrupted)

    def _already_added(self, stored: _Stored) -> FileOutcome | None:
        """The outcome of a file whose every page is stored (under any name), or that came earlier in this
        run; None for a file to open."""
        earlier = next((o for o in self._outcomes if o.sha256 == stored.sha256 and o.status in (NEW, ALREADY_ADDED)),
                       None)
        known = self.workspace.file(stored.sha256)
        if known is not None:  # the name it has now is kept beside the others it was seen under
            self._record(stored, page_count=known.page_count, status=known.status)
        if earlier is not None:
            return FileOutcome(str(stored.path), stored.name, stored.sha256, ALREADY_ADDED,
                               f"same content as {earlier.name}")
        if known and known.page_count and len(self.workspace.pages_done(stored.sha256)) >= known.page_count:
            return FileOutcome(str(stored.path), stored.name, stored.sha256, ALREADY_ADDED,
                               f"same content as {known.name}")
        return None

    def _open(self, stored: _Stored, job: ReadJob) -> tuple[PageRef, ...]:
        opened = open_file(stored.path, pdf_dpi=job.pdf_dpi)
        if opened.failed:
            status, message = opened.failed[0].status.value, opened.failed[0].message
            self._record(stored, page_count=0, status=status, message=message)
            return self._outcome(FileOutcome(str(stored.path), stored.name, stored.sha256, status, message))
        self._record(stored, page_count=len(opened.pages), status="reading")
        done = self.workspace.pages_done(stored.sha256)
        self._sha256_of[str(stored.path)] = stored.sha256
        self._outcome(FileOutcome(str(stored.path), stored.name, stored.sha256, NEW))
        return tuple(ref for ref in opened.pages if ref.page not in done)

    def _record(self, stored: _Stored, *, page_count: int, status: str, message: str = "") -> None:
        self.workspace.add_file(sha256=stored.sha256, name=stored.name, size=stored.size, kind=stored.kind,
                                page_count=page_count, status=status, message=message)

    def _outcome(self, outcome: FileOutcome) -> tuple[PageRef, ...]:
        """Keep a file's outcome; its pages come back under its path."""
        self._outcomes.append(outcome)
        self._pages.setdefault(outcome.path, [])
        return ()


def _settle_file(workspace: Workspace, sha256: str) -> None:
    """A file is ok once every page is stored and read; partial otherwise (the next run continues it)."""
    known = workspace.file(sha256)
    statuses = workspace.page_statuses(sha256)
    if known is None:
        return
    if len(statuses) < known.page_count:
        workspace.set_file_status(sha256, "partial", f"{len(statuses)} of {known.page_count} pages read so far")
    elif all(s == PageStatus.OK.value for s in statuses):
        workspace.set_file_status(sha256, "ok")
    else:
        workspace.set_file_status(sha256, "pages failed", "some pages could not be read; see petition status")
