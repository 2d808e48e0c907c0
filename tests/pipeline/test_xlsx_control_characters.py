"""Control characters in text cells: XLSX cannot hold most of C0 (openpyxl refuses them), and one scan whose file
name holds \\x01 used to make `petition export ... -o x.xlsx` fail for the whole workspace. XLSX gets U+FFFD in
their place; CSV, which can hold them, keeps them as they are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.spreadsheet import write_table
from pipeline.store import Workspace
from scanner.types import InkMeasure, LineReading, LineStatus, PageRef, PageResult, PageStatus, Presence, TextRead

REPLACED = "\N{REPLACEMENT CHARACTER}"
FILE_SHA = "c0" * 32
CONTROL_FILE = "scan\x01 of ward 3.png"


def _sheet_values(path: Path) -> list[list[object]]:
    return [[cell.value for cell in row] for row in openpyxl.load_workbook(path).active.iter_rows()]


def test_xlsx_replaces_the_characters_it_cannot_hold_and_keeps_the_rest(tmp_path):
    frame = pd.DataFrame({"file\x02": ["scan\x01.png", "=x\x1f", "tab\tnew\nline", "bell\x07 vt\x0b ff\x0c"],
                          "line": [1, 2, 3, 4]})
    write_table(frame, tmp_path / "t.xlsx")
    assert _sheet_values(tmp_path / "t.xlsx") == [
        [f"file{REPLACED}", "line"],
        [f"scan{REPLACED}.png", 1],
        [f"'=x{REPLACED}", 2],  # still neutralised as a formula
        ["tab\tnew\nline", 3],  # tab and line feed are legal in a cell: untouched
        [f"bell{REPLACED} vt{REPLACED} ff{REPLACED}", 4],
    ]


def test_csv_keeps_control_characters_as_they_are(tmp_path):
    frame = pd.DataFrame({"file": ["scan\x01.png", "=x\x1f"], "line": [1, 2]})
    write_table(frame, tmp_path / "t.csv")
    records = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_text(encoding="utf-8"), newline="")))
    assert [(r["file"], r["line"]) for r in records] == [("scan\x01.png", "1"), ("'=x\x1f", "2")]


@pytest.fixture
def workspace_root(tmp_path) -> Path:
    """One page saved as the reader would, from a scan whose file name holds \\x01."""
    root = tmp_path / "ws"
    ink = InkMeasure(Presence.PRESENT, 0.1, 0.6)
    lines = tuple(LineReading(line=n, status=LineStatus.SIGNED, name=TextRead(name, 0.99), fields={}, signature=ink,
                              name_ink=ink, struck=False, needs_review=False, review_reasons=())
                  for n, name in ((1, "Ann Lee"), (2, "Bo Chan")))
    page = PageResult(ref=PageRef(path=CONTROL_FILE, file_name=CONTROL_FILE, page=1, kind="image", dpi=0),
                      status=PageStatus.OK, sha256="1e" * 32, lines=lines, roles=())
    store = Workspace.open(root)
    try:
        store.add_file(sha256=FILE_SHA, name=CONTROL_FILE, size=1, kind="image", page_count=1, status="read")
        store.save_page(FILE_SHA, page)
    finally:
        store.close()
    return root


@pytest.mark.parametrize("what", ["rows", "roster"])
def test_petition_export_to_xlsx_succeeds_with_a_control_character_in_a_file_name(workspace_root, tmp_path, what):
    from pipeline.cli import app

    written = {}
    for suffix in ("xlsx", "csv"):
        written[suffix] = tmp_path / f"{what}.{suffix}"
        done = CliRunner().invoke(app, ["export", what, "-o", str(written[suffix]), "-w", str(workspace_root)])
        assert done.exit_code == 0, done.output
    xlsx_text = "\n".join(str(v) for row in _sheet_values(written["xlsx"]) for v in row)
    csv_text = written["csv"].read_text(encoding="utf-8")
    assert CONTROL_FILE.replace("\x01", REPLACED) in xlsx_text and "\x01" not in xlsx_text
    assert CONTROL_FILE in csv_text
