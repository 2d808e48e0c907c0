"""ReadJob: what to read and how. Every default a run shares (PDF dpi, page time limit, workers, Tesseract's
threads) lives here once; `read`, `add`, `eval`, the review app's uploads and the benchmarks start from it.

Imports nothing heavy: the CLI takes its options' defaults from here before any reading module is loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from scanner.form import Form
    from scanner.read import ReadSettings

OMP_THREAD_LIMIT = "1"


def _default_settings() -> ReadSettings:
    from scanner.read import ReadSettings

    return ReadSettings(page_timeout_s=ReadJob.PAGE_TIMEOUT_S)


@dataclass(frozen=True)
class ReadJob:
    """The small picklable context each page task carries, and how many workers read the pages."""

    # One stuck page (a pathological scan) must not hold a whole batch; a real page takes seconds.
    PAGE_TIMEOUT_S: ClassVar[float] = 300.0

    settings: ReadSettings = field(default_factory=_default_settings)
    form: Form | None = None
    debug_dir: str | None = None
    pdf_dpi: int = 200  # the working scale: a letter page's short side at 200 dpi (scanner/normalize.py)
    workers: int = 1  # pages read in parallel, one process each (~360 MB with the models loaded)

    def with_settings(self, **changes: Any) -> ReadJob:
        """This job with some ReadSettings changed (keep_crops, recognizer, page_timeout_s...)."""
        return replace(self, settings=replace(self.settings, **changes))

    def check_setup(self) -> None:
        """Load what reading needs once, here: a missing model or language file then stops the run with its
        install advice (scanner.errors.SetupError) before any page is read, not once per page."""
        from scanner.fields import field_reader
        from scanner.ocr import tessdata_dir

        field_reader(self.settings.recognizer)
        tessdata_dir()  # printed labels are Tesseract's whatever reads the handwriting


def limit_omp_threads(*, force: bool = False) -> None:
    """Tesseract's OpenMP threads oversubscribe cores when several workers run (datashare #2234). A command
    keeps a limit its user set; a worker process is always held to one thread."""
    if force:
        os.environ["OMP_THREAD_LIMIT"] = OMP_THREAD_LIMIT
    else:
        os.environ.setdefault("OMP_THREAD_LIMIT", OMP_THREAD_LIMIT)
