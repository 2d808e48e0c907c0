"""rows.csv (the contract in ARCHITECTURE.md) and its companion pages.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import spreadsheet
from scanner.types import TEXT_ROLES, PageResult, PageStatus

ROW_COLUMNS = ["file", "page", "line", "status", "name", "name_confidence", "needs_review", "review_reasons"]
PAGE_COLUMNS = ["file", "page", "status", "lines", "seconds", "orientation", "skew_deg", "message"]


def rows_frame(pages: tuple[PageResult, ...]) -> pd.DataFrame:
    """One row per physical table line, then the other fields by role (only roles some page has)."""
    roles = [r for r in TEXT_ROLES if any(r in p.roles for p in pages)]
    records = []
    for page in pages:
        for line in page.lines:
            record = {
                "file": page.ref.file_name, "page": page.ref.page, "line": line.line, "status": line.status.value,
                "name": line.name.text, "name_confidence": f"{line.name.confidence:.3f}",
                "needs_review": "true" if line.needs_review else "false",
                "review_reasons": ";".join(r.value for r in line.review_reasons),
            }
            for role in roles:
                record[role.value] = line.fields[role].text if role in line.fields else ""
            records.append(record)
    return pd.DataFrame.from_records(records, columns=ROW_COLUMNS + [r.value for r in roles])


def pages_frame(pages: tuple[PageResult, ...]) -> pd.DataFrame:
    """One row per page; a `registration` column (the share of the form's print found on the page, 0 when it
    did not line up) when pages were read with a form that has a blank sheet."""
    registered = any(p.registration is not None for p in pages)
    records = []
    for p in pages:
        record = {"file": p.ref.file_name, "page": p.ref.page or "", "status": p.status.value, "lines": len(p.lines),
                  "seconds": p.seconds, "orientation": p.orientation if p.status is PageStatus.OK else "",
                  "skew_deg": p.skew_deg if p.status is PageStatus.OK else "", "message": p.message}
        if registered:
            record["registration"] = "" if p.registration is None else f"{p.registration:.3f}"
        records.append(record)
    return pd.DataFrame.from_records(records, columns=PAGE_COLUMNS + (["registration"] if registered else []))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write to a temporary name, then rename: a reader never sees half a file. A file name or a reading that
    starts like a formula is written quoted (pipeline.spreadsheet): rows.csv is opened in spreadsheets too."""
    spreadsheet.write_csv(frame, path)
