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
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from pipeline.add import add_paths, file_sha256
from pipeline.batch import ReadJob, worker_pool
from pipeline.forms import load_named_form
from pipeline.store import Workspace, batches, files
from pipeline.store import forms as form_store
from pipeline.store.batches import UploadedFile
from scanner import ingest
from scanner.errors import InputTooLarge, SheetError
from scanner.read import ReadSettings
from scanner.types import PageStatus

UPLOADS = "uploads"
FIELD_BYTES = 4096  # a form field (the CSRF token) or a part header: far more than either needs
MAX_FIELDS = 8
log = logging.getLogger("pipeline.review")


class UploadRejected(Exception):
    """An upload the app will not take: 413 (too large) or 415 (not a PDF/TIFF/JPEG/PNG), with what to do."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_files: int


@dataclass(frozen=True)
class Received:
    """An upload saved in its own folder: every file within the limits and a PDF, TIFF, JPEG or PNG by content."""

    folder: Path
    files: tuple[tuple[str, int], ...]  # (name in the folder, bytes)
    form: str = ""  # the stored form chosen on the upload page; "": the automatic layout


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
    form: str | None = None


def safe_name(filename: str) -> str:
    """The base name only, reduced to harmless characters (the name is shown, never trusted as a path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[:100]
    return cleaned or "upload"


def _size(n: int) -> str:
    return f"{n // 1024**2} MB" if n >= 1024**2 else f"{max(1, n // 1024)} KB"


class _MultipartSink:
    """python-multipart callbacks that write each file part straight into the upload's folder as it arrives,
    refusing as soon as a limit is passed: the CSRF check before the first file byte, the file count when a
    file starts, the size while it is written, the content (sniff) when it ends. Nothing is spooled elsewhere."""

    def __init__(self, folder: Path, limits: UploadLimits, before_files: Callable[[Mapping[str, str]], None]) -> None:
        self.folder = folder
        self.limits = limits
        self.before_files = before_files
        self.fields: dict[str, str] = {}
        self.saved: list[tuple[str, int]] = []
        self.ended = False
        self.checked = False
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._field: tuple[str, bytearray] | None = None
        self._file: BinaryIO | None = None
        self._file_name = ""
        self._file_size = 0

    def callbacks(self) -> dict[str, Callable]:
        return {"on_part_begin": self._part_begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value_part, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end, "on_end": self._end}

    def check_before_files(self) -> None:
        if not self.checked:
            self.before_files(self.fields)
            self.checked = True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name = _bounded(self._header_name + data[start:end])

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value = _bounded(self._header_value + data[start:end])

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        field = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            if len(self.fields) >= MAX_FIELDS:
                raise UploadRejected(400, "too many form fields: use the upload page")
            self._field = (field, bytearray())
            return
        self.check_before_files()
        if field != "files":
            raise UploadRejected(400, "files go in the form's files field: use the upload page")
        if len(self.saved) >= self.limits.max_files:
            raise UploadRejected(413, f"at most {self.limits.max_files} files per upload: upload the rest as"
                                      " another batch")
        name = safe_name(options[b"filename"].decode("utf-8", "replace"))
        while (self.folder / name).exists():
            name = f"{secrets.token_hex(2)}-{name}"
        self._file, self._file_name, self._file_size = (self.folder / name).open("wb"), name, 0

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is not None:
            self._file_size += len(chunk)
            if self._file_size > self.limits.max_file_bytes:
                raise UploadRejected(413, f"{self._file_name} is larger than the {_size(self.limits.max_file_bytes)}"
                                          " limit per file; scan at 300 dpi or lower, or split the file")
            self._file.write(chunk)
        elif self._field is not None:
            if len(self._field[1]) + len(chunk) > FIELD_BYTES:
                raise UploadRejected(413, "a form field is too long: use the upload page")
            self._field[1].extend(chunk)

    def _part_end(self) -> None:
        if self._file is not None:
            self.close()
            _check_kind(self.folder / self._file_name)
            self.saved.append((self._file_name, self._file_size))
        elif self._field is not None:
            name, value = self._field
            self.fields[name] = value.decode("utf-8", "replace")
            self._field = None

    def _end(self) -> None:
        self.ended = True


def _bounded(header: bytes) -> bytes:
    if len(header) > FIELD_BYTES:
        raise UploadRejected(400, "a part header of the upload is too long: use the upload page")
    return header


def _check_kind(path: Path) -> None:
    """By content: a renamed text file is refused whatever its name says."""
    try:
        ingest.sniff(path)
    except InputTooLarge as exc:
        raise UploadRejected(413, str(exc)) from exc
    except SheetError as exc:
        raise UploadRejected(415, str(exc)) from exc


async def receive_upload(chunks: AsyncIterator[bytes], content_type: str, root: Path, *, limits: UploadLimits,
                         before_files: Callable[[Mapping[str, str]], None]) -> Received:
    """Stream a multipart upload (field `files`, one part per file) into a new folder under ROOT/uploads.

    `before_files` sees the form fields sent before the first file and raises to refuse the upload (the CSRF
    check): no file byte is written until it has passed. Any refusal (UploadRejected, 413/415/400), error or
    disconnect removes the folder and everything in it."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRejected(400, "send the files as a multipart form: use the upload page")
    folder = root / UPLOADS / f".incoming-{secrets.token_hex(8)}"
    folder.mkdir(parents=True)
    sink = _MultipartSink(folder, limits, before_files)
    parser = MultipartParser(boundary, sink.callbacks())
    try:
        try:
            async for chunk in chunks:
                await run_in_threadpool(parser.write, chunk)  # the callbacks write to disk: not on the event loop
            parser.finalize()
        except MultipartParseError as exc:
            raise UploadRejected(400, "the upload is not a well-formed form: use the upload page") from exc
        sink.check_before_files()  # an upload with no file is checked too: a forged one gets 403, not 400
        if not sink.ended:
            raise UploadRejected(400, "the upload was cut short: try again")
        if not sink.saved:
            raise UploadRejected(400, "choose at least one PDF, TIFF, JPEG or PNG file")
        return Received(folder, tuple(sink.saved), sink.fields.get("form", "").strip())
    except BaseException:
        sink.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise


def record_upload(workspace: Workspace, received: Received, user: str) -> int:
    """Record a received upload as a queued batch (its folder becomes batch-N); returns the batch id. A form that
    is not stored in the workspace (the page was stale, or the request forged) refuses the upload (422)."""
    try:
        if received.form and received.form not in form_store.form_names(workspace):
            raise UploadRejected(422, f"there is no stored form {received.form!r}: choose one the upload page offers")
        saved = [UploadedFile(name, size, file_sha256(received.folder / name)) for name, size in received.files]
        with workspace.transaction(durable=True):
            batch_id = batches.insert_batch(workspace, user, saved, form=received.form or None)
        received.folder.rename(workspace.root / UPLOADS / f"batch-{batch_id}")
        return batch_id
    finally:
        shutil.rmtree(received.folder, ignore_errors=True)


def _forkserver_pool(workers: int) -> Executor:
    """Workers from a forkserver (see above), tied to the app: killed with it, not left running for ever."""
    return worker_pool(workers, multiprocessing.get_context("forkserver"))


class BatchRunner:
    """A single daemon thread that reads queued batches, one at a time, with its own workspace connection."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self, workspace: Workspace) -> None:
        for batch_id in batches.unfinished_batches(workspace):
            self._queue.put(batch_id)
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
                log.error("batch %d failed: %s", batch_id, _where_it_failed(exc))
                _set_state(workspace, batch_id, "failed", BATCH_FAILED)

    def _run(self, workspace: Workspace, batch_id: int) -> None:
        folder = self.root / UPLOADS / f"batch-{batch_id}"
        names = batches.file_names(workspace, batch_id)
        _set_state(workspace, batch_id, "reading", "")

        def tick(_result, done: int, total: int) -> None:
            with workspace.transaction():
                batches.set_progress(workspace, batch_id, done, total)

        form_name = batches.batch_form(workspace, batch_id)
        form = load_named_form(workspace, form_name) if form_name else None
        job = ReadJob(settings=replace(ReadSettings(), keep_crops=True, page_timeout_s=300), form=form)
        report = add_paths(workspace, [folder / n for n in names], job=job, workers=1,
                           executor_factory=_forkserver_pool, progress=tick)
        failed = sum(p.status is not PageStatus.OK for p in report.pages) + sum(
            f.status not in ("new", "already added") for f in report.files)
        _set_state(workspace, batch_id, "done", f"{failed} files or pages could not be read" if failed else "")


# Shown on the batches page. Pages read before the failure are stored, so uploading the files again reads the rest.
BATCH_FAILED = ("reading stopped on an unexpected problem; upload the same files again to read the rest"
                " (pages already read are kept). The server log says where it stopped.")


def _where_it_failed(exc: BaseException) -> str:
    """For the admin's log: the exception's kind and the code lines it came through, innermost first. Not its
    message or values: those can hold file or signer names, and the server log holds no personal data."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where}" if where else type(exc).__name__


def _set_state(workspace: Workspace, batch_id: int, state: str, message: str) -> None:
    with workspace.transaction():
        batches.set_state(workspace, batch_id, state, message)


def list_batches(workspace: Workspace) -> list[Batch]:
    """Every batch, newest first, with each file's pages and their status."""
    return [Batch(b.id, b.created_by, b.created_at, b.state, b.pages_done, b.pages_total, b.message,
                  tuple(_batch_file(workspace, f) for f in batches.batch_files(workspace, b.id)), b.form)
            for b in batches.all_batches(workspace)]


def _batch_file(workspace: Workspace, row: batches.BatchFileRow) -> BatchFile:
    pages = tuple((p.page_no, p.status, p.message) for p in files.pages_of(workspace, row.sha256))
    return BatchFile(row.name, row.size, row.file_status, pages)
