"""The writing edge for every table a person may open in a spreadsheet: CSV files, XLSX files, CSV downloads.

Scan file names and names typed by reviewers are untrusted text. A spreadsheet runs a cell that starts with
= + - @ (and, in some, tab or CR) as a formula (`=cmd|' /C calc'!A0`, `=HYPERLINK(...)` leaking data), so every
writer goes through `neutralised`: such a text cell gets a leading apostrophe, as OWASP's CSV-injection guidance
says. Only text is touched: numbers (page, line, counts, a negative skew) stay numbers. This happens here, at
the edge, and only here: the workspace, deduplication and the review app keep exactly what was read or typed.

XLSX cannot hold most C0 control characters (a scan's file name can contain \x01); openpyxl refuses them, which
would fail the whole export, so in XLSX only they become U+FFFD. CSV holds any character and keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# pandas' own sheet name, kept so a workbook looks as it did before this module wrote it.
SHEET_NAME = "Sheet1"
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def neutralise(value: object) -> object:
    """A text cell a spreadsheet could run as a formula, with a leading apostrophe; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every text cell (and header) neutralised; number columns keep their dtype."""
    safe = frame.map(neutralise)
    safe.columns = [neutralise(c) for c in frame.columns]
    return safe


def csv_text(frame: pd.DataFrame) -> str:
    return neutralised(frame).to_csv(index=False)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    _write_atomically(path, lambda partial: neutralised(frame).to_csv(partial, index=False))


def write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    _write_atomically(path, lambda partial: _xlsx(neutralised(frame)).save(partial))


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV or XLSX by the file's suffix."""
    (write_xlsx if path.suffix.lower() == ".xlsx" else write_csv)(frame, path)


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary name beside the file (rows.csv.partial), then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    write(partial)
    partial.replace(path)


def _xlsx(frame: pd.DataFrame) -> Workbook:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_NAME)
    sheet.append([_cell(sheet, name) for name in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_cell(sheet, value) for value in row])
    return book


def _xlsx_text(text: str) -> str:
    """The text with each character an XLSX cell cannot hold replaced by U+FFFD, visibly, rather than dropped."""
    return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, text)


def _cell(sheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    """Text is forced to a text cell: openpyxl would otherwise make '=…' a formula and '#REF!' an error cell."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=_xlsx_text(value))
        cell.data_type = "s"
        return cell
    if pd.isna(value):
        return WriteOnlyCell(sheet, value=None)  # an empty cell, as pandas writes a missing value
    return WriteOnlyCell(sheet, value=value.item() if isinstance(value, np.generic) else value)
