"""CsvSink: the sink of `petition read`, `eval` and the benchmarks. It keeps every page (and every file that
could not be opened) in input order, for rows.csv and pages.csv or for scoring; nothing is stored.
`petition add`'s sink, the workspace, is pipeline/add.py's WorkspaceSink."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.batch import ReadJob, open_file
from pipeline.rows import pages_frame, rows_frame, write_csv
from scanner.types import PageRef, PageResult, PageStatus


@dataclass(frozen=True)
class BatchReport:
    """Every page of a run, in input order (files as given, pages in file order)."""

    pages: tuple[PageResult, ...]
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.pages) and all(p.status is PageStatus.OK for p in self.pages)

    @property
    def any_ok(self) -> bool:
        return any(p.status is PageStatus.OK for p in self.pages)

    def rows(self) -> pd.DataFrame:
        """rows.csv as a frame: one row per physical table line (what `eval` scores)."""
        return rows_frame(self.pages)

    def write(self, output: Path) -> None:
        """rows.csv at `output` and pages.csv beside it (raises OSError when they cannot be written)."""
        write_csv(self.rows(), output)
        write_csv(pages_frame(self.pages), output.with_name("pages.csv"))


class CsvSink:
    """Keeps pages in memory; the report puts them back in input order (workers finish in any order)."""

    def __init__(self) -> None:
        self._pages: list[PageResult] = []
        self._order: dict[str, int] = {}

    def plan(self, path: Path, job: ReadJob) -> tuple[PageRef, ...]:
        opened = open_file(path, pdf_dpi=job.pdf_dpi)
        self._order.setdefault(opened.name, len(self._order))
        self._pages.extend(opened.failed)
        return opened.pages

    def page(self, result: PageResult) -> None:
        self._pages.append(result)

    def report(self, *, interrupted: bool) -> BatchReport:
        last = len(self._order)
        ordered = sorted(self._pages, key=lambda p: (self._order.get(p.ref.file_name, last), p.ref.file_name,
                                                     p.ref.page))
        return BatchReport(tuple(ordered), interrupted)
