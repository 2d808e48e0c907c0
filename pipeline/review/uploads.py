"""Scans uploaded by an admin: checked by content, kept per batch, read in the background by `add_paths`.

One background thread reads one batch at a time with one worker process, so volunteers reviewing at the
same time keep the other core. Workers come from a forkserver, not fork(): forking a threaded web server
can copy a lock held by another thread. A batch left unfinished by a restart is queued again on start
(add_paths resumes where it stopped).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import re
import secrets
import shutil
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from pipeline.add import add_paths, file_sha256
from pipeline.batch import ReadJob, init_worker
from pipeline.store import Workspace, now
from scanner import ingest
from scanner.errors import InputTooLarge, SheetError
from scanner.read import ReadSettings

UPLOADS = "uploads"
CHUNK = 1 << 20
log = logging.getLogger("pipeline.review")


class UploadRejected(Exception):
    """An upload the app will not take: 413 (too large) or 415 (not a PDF/TIFF/JPEG/PNG), with what to do."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Incoming:
    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class BatchFile:
    name: str
    size: int
    file_status: str
    pages: tuple[tuple[int, str, str], ...]  # (page, status, message)


@dataclass(frozen=True)
class Batch:
    id: int
    created_by: str
    created_at: str
    state: str
    pages_done: int
    pages_total: int
    message: str
    files: tuple[BatchFile, ...] = ()


def safe_name(filename: str) -> str:
    """The base name only, reduced to harmless characters (the name is shown, never trusted as a path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[:100]
    return cleaned or "upload"


def _save_limited(source: BinaryIO, target: Path, *, limit: int, shown: str) -> int:
    size = 0
    with target.open("wb") as out:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            size += len(chunk)
            if size > limit:
                raise UploadRejected(413, f"{shown} is larger than the {limit // 1024**2} MB limit per file;"
                                          " scan at 300 dpi or lower, or split the file")
            out.write(chunk)
    return size


def accept_upload(workspace: Workspace, files: list[Incoming], user: str, *, max_file_bytes: int) -> int:
    """Save and check every file (all or none), then record a queued batch; returns its id."""
    if not files:
        raise UploadRejected(400, "choose at least one PDF, TIFF, JPEG or PNG file")
    root = workspace.root / UPLOADS
    incoming = root / f".incoming-{secrets.token_hex(8)}"
    incoming.mkdir(parents=True)
    try:
        saved = []
        for upload in files:
            name = safe_name(upload.filename)
            while (incoming / name).exists():
                name = f"{secrets.token_hex(2)}-{name}"
            path = incoming / name
            size = _save_limited(upload.stream, path, limit=max_file_bytes, shown=name)
            try:
                ingest.sniff(path)  # by content: a renamed text file is refused whatever its name says
            except InputTooLarge as exc:
                raise UploadRejected(413, str(exc)) from exc
            except SheetError as exc:
                raise UploadRejected(415, str(exc)) from exc
            saved.append((name, size, file_sha256(path)))
        with workspace.transaction(durable=True) as db:
            batch_id = db.execute("INSERT INTO review_batches (created_by, created_at, state) VALUES (?, ?, 'queued')"
                                  " RETURNING id", (user, now())).fetchone()[0]
            db.executemany("INSERT INTO review_batch_files (batch_id, name, sha256, size) VALUES (?, ?, ?, ?)",
                           [(batch_id, name, sha, size) for name, size, sha in saved])
        incoming.rename(root / f"batch-{batch_id}")
        return int(batch_id)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def _forkserver_pool(workers: int) -> Executor:
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(max_workers=workers, initializer=init_worker, mp_context=context)


class BatchRunner:
    """A single daemon thread that reads queued batches, one at a time, with its own workspace connection."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self, workspace: Workspace) -> None:
        for row in workspace.db.execute("SELECT id FROM review_batches WHERE state IN ('queued', 'reading') ORDER BY id"):
            self._queue.put(int(row[0]))
        self._thread = threading.Thread(target=self._loop, name="petition-batches", daemon=True)
        self._thread.start()

    def submit(self, batch_id: int) -> None:
        self._queue.put(batch_id)

    def _loop(self) -> None:
        workspace = Workspace.open(self.root, create=False)
        while True:
            batch_id = self._queue.get()
            try:
                self._run(workspace, batch_id)
            except Exception as exc:  # a crashed batch must not stop the runner; its state says what happened
                log.exception("batch %s failed", batch_id)
                _set_state(workspace, batch_id, "failed", f"{type(exc).__name__}: run it again from the batches page")

    def _run(self, workspace: Workspace, batch_id: int) -> None:
        folder = self.root / UPLOADS / f"batch-{batch_id}"
        names = [r[0] for r in workspace.db.execute("SELECT name FROM review_batch_files WHERE batch_id = ?", (batch_id,))]
        _set_state(workspace, batch_id, "reading", "")

        def tick(_result, done: int, total: int) -> None:
            with workspace.transaction() as db:
                db.execute("UPDATE review_batches SET pages_done = ?, pages_total = ? WHERE id = ?", (done, total, batch_id))

        job = ReadJob(settings=replace(ReadSettings(), keep_crops=True, page_timeout_s=300))
        report = add_paths(workspace, [folder / n for n in names], job=job, workers=1,
                           executor_factory=_forkserver_pool, progress=tick)
        failed = sum(p.status.value != "ok" for p in report.pages) + sum(
            f.status not in ("new", "already added") for f in report.files)
        _set_state(workspace, batch_id, "done", f"{failed} files or pages could not be read" if failed else "")


def _set_state(workspace: Workspace, batch_id: int, state: str, message: str) -> None:
    with workspace.transaction() as db:
        db.execute("UPDATE review_batches SET state = ?, message = ? WHERE id = ?", (state, message, batch_id))


def list_batches(workspace: Workspace) -> list[Batch]:
    """Every batch, newest first, with each file's pages and their status."""
    batches = []
    for row in workspace.db.execute("SELECT * FROM review_batches ORDER BY id DESC").fetchall():
        files = []
        for f in workspace.db.execute("SELECT bf.name, bf.size, bf.sha256, coalesce(fi.status, 'queued') AS status"
                                      " FROM review_batch_files bf LEFT JOIN files fi ON fi.sha256 = bf.sha256"
                                      " WHERE bf.batch_id = ? ORDER BY bf.name", (row["id"],)).fetchall():
            pages = tuple((p[0], p[1], p[2]) for p in workspace.db.execute(
                "SELECT page_no, status, message FROM pages WHERE file_sha256 = ? ORDER BY page_no", (f["sha256"],)))
            files.append(BatchFile(f["name"], f["size"], f["status"], pages))
        batches.append(Batch(row["id"], row["created_by"], row["created_at"], row["state"], row["pages_done"],
                             row["pages_total"], row["message"], tuple(files)))
    return batches
