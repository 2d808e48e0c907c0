"""Pages sent to another machine: a cluster's workers see neither the input files nor the workspace, so each
page task carries the bytes it is read from, and its result (crops included) comes back to be stored here.

What travels is as small as the page allows: an image file whole (one page, or a multi-page TIFF whose frame
is picked on the worker), a PDF page cut out of its file with pypdf (a one-page PDF: poppler renders it to the
same pixels). A PDF that pypdf cannot cut travels whole. A form's blank sheet travels with the job. The worker writes the bytes to a private temporary
file, reads it with the same `read_one` as a local worker, and gives the result back under the page's own
reference, so that nothing downstream can tell where a page was read.

Imports nothing of Dask: the payloads are plain picklable data.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import overload

from pipeline.job import ReadJob, limit_omp_threads
from scanner import ingest
from scanner.errors import SheetError
from scanner.types import PageRef, PageResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PagePayload:
    """One page task for a worker on another machine: the page's reference and the bytes to read it from."""

    ref: PageRef
    data: bytes
    page_in_data: int  # the page's number within `data` (1 for a PDF page cut out of its file)


class ShippedPages(Sequence[PagePayload]):
    """The payloads of a batch's pages, made as they are handed out (never the whole batch in memory). Pages
    come in file order, so the PDF being cut is kept open from one page to the next."""

    def __init__(self, refs: Sequence[PageRef]) -> None:
        self._refs = refs
        self._open_pdf: tuple[str, object] | None = None  # (path, pypdf reader) of the PDF last cut

    def __len__(self) -> int:
        return len(self._refs)

    @overload
    def __getitem__(self, index: int) -> PagePayload: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[PagePayload]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.payload(self._refs[index])

    def payload(self, ref: PageRef) -> PagePayload:
        """What travels for one page. A file that cannot be read here any more (moved, or unreadable since
        triage) travels empty: the worker then reports the page unreadable."""
        try:
            if ref.kind == "pdf":
                cut = self._cut_pdf_page(ref)
                if cut is not None:
                    return PagePayload(ref, cut, 1)
            with ingest.open_regular(Path(ref.path)) as handle:
                return PagePayload(ref, handle.read(), ref.page)
        except (OSError, SheetError):  # gone, or swapped for a pipe or a device: never opened, never a crash
            return PagePayload(ref, b"", ref.page)

    def _cut_pdf_page(self, ref: PageRef) -> bytes | None:
        """The page as a one-page PDF; None when pypdf cannot cut it (the whole file then travels)."""
        try:
            from pypdf import PdfReader, PdfWriter

            if self._open_pdf is None or self._open_pdf[0] != ref.path:
                self._open_pdf = (ref.path, PdfReader(ref.path, strict=False))
            reader = self._open_pdf[1]
            writer = PdfWriter()
            writer.add_page(reader.pages[ref.page - 1])  # type: ignore[attr-defined]
            out = io.BytesIO()
            writer.write(out)
            return out.getvalue()
        except Exception:  # noqa: BLE001 - a PDF pypdf cannot cut is still readable by poppler, whole
            log.debug("cutting page %s out of %s failed; sending the whole file", ref.page, ref.file_name,
                      exc_info=True)
            return None


@dataclass(frozen=True)
class ShippedJob:
    """The job as a worker on another machine gets it: with the bytes of its form's blank sheet, when the form
    has one (the form names a file on this machine, which the worker cannot read)."""

    job: ReadJob
    blank_sheet: bytes = b""
    blank_sheet_suffix: str = ".png"


def ship_job(job: ReadJob) -> ShippedJob:
    template = job.form.template if job.form is not None else None
    if template is None:
        return ShippedJob(job)
    return ShippedJob(job, template.read_bytes(), template.suffix)


def _job_here(shipped: ShippedJob) -> ReadJob:
    """The job with its form's blank sheet in a file of this machine (written once per sheet, named by content:
    the registration stage reads it by path and caches it by path)."""
    job = shipped.job
    if not shipped.blank_sheet or job.form is None:
        return job
    digest = hashlib.sha256(shipped.blank_sheet).hexdigest()[:32]
    path = Path(tempfile.gettempdir()) / f"petition-blank-sheet-{digest}{shipped.blank_sheet_suffix}"
    if not path.is_file():
        handle, partial = tempfile.mkstemp(prefix="petition-blank-sheet-", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(shipped.blank_sheet)
        os.replace(partial, path)  # whole or not at all: two workers of one machine may write it at once
    return replace(job, form=replace(job.form, template=path))


def read_shipped(payload: PagePayload, job: ShippedJob) -> PageResult:
    """Read one sent page on a cluster worker, exactly as a local worker reads it from its file."""
    from pipeline.batch import read_one

    limit_omp_threads(force=True)  # a worker is held to one Tesseract thread, as a local one is
    job_here = _job_here(job)
    ref = payload.ref
    handle, path = tempfile.mkstemp(prefix="petition-page-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload.data)
        local = PageRef(path, ref.file_name, payload.page_in_data, ref.kind, ref.dpi)
        result = read_one(local, job_here)
    finally:
        os.unlink(path)
    return _as_page(result, ref, payload.page_in_data)


def _as_page(result: PageResult, ref: PageRef, page_in_data: int) -> PageResult:
    """The result under the page's own reference; a message about page 1 of a cut-out PDF names the page."""
    message = result.message
    if page_in_data != ref.page:
        message = message.replace(f"{ref.file_name} page {page_in_data}", f"{ref.file_name} page {ref.page}", 1)
    return replace(result, ref=ref, message=message)


__all__ = ["PagePayload", "ShippedJob", "ShippedPages", "read_shipped", "ship_job"]
