"""Formula injection: text that reaches a spreadsheet is never run as a formula.

A scan named `=1+2.png` (a copy of a sample sheet, read for real) and a reviewer's verdict naming the signer
`=cmd|' /C calc'!A0` (recorded through the review queue) go through every export: `petition read`'s rows.csv and
pages.csv, `petition export rows|roster` (plain and per CRM profile) as CSV and XLSX, and the review app's admin
downloads. A text cell starting with = + - @ tab or CR is written with a leading apostrophe (OWASP CSV-injection
guidance); an XLSX holds no formula cell; numbers stay numbers; the workspace keeps exactly what was read and typed.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.add import add_paths
from pipeline.batch import ReadJob
from pipeline.export import PROFILES, build_roster, effective_lines, write_table
from pipeline.names import parse_name
from pipeline.review import queue
from pipeline.rows import write_csv
from pipeline.spreadsheet import csv_text, neutralise, neutralised
from pipeline.store import Workspace
from pipeline.users import add_user
from scanner.read import ReadSettings
from tests.support import SCANS, admin_export_csv

pytestmark = pytest.mark.slow

HOSTILE_FILE = "=1+2.png"
HOSTILE_NAME = "=cmd|' /C calc'!A0"
# What a spreadsheet may take as the start of a formula (OWASP); written out here, not imported, so the test
# pins the contract rather than echoing the code.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PASSWORD = "correct horse battery"
EXPORTS = [("rows", None), ("roster", None), *(("roster", p) for p in sorted(PROFILES))]
EXPORT_IDS = [f"{what}-{profile or 'plain'}" for what, profile in EXPORTS]
NUMERIC_COLUMNS = {"rows": ["page", "line"],
                   "roster": ["occurrences", "auto_accepted", "human_confirmed", "possible_duplicates"]}


# The neutraliser -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", TRIGGERS, ids=repr)
def test_a_text_cell_starting_with_a_trigger_gets_an_apostrophe(trigger):
    assert neutralise(trigger + "1+2") == "'" + trigger + "1+2"
    assert neutralise(trigger) == "'" + trigger


@pytest.mark.parametrize("text", ["Ann Lee", "", "02139", "O'Brien", "'=already quoted", "a=b", " =x", "1-2",
                                  "#REF!", "\n=x"])
def test_other_text_is_left_exactly_as_it_is(text):
    assert neutralise(text) == text


@pytest.mark.parametrize("number", [-3, -1.5, 0, 2, True, None])
def test_numbers_and_empty_cells_are_never_touched(number):
    kept = neutralise(number)
    assert kept is number


def test_a_frame_is_neutralised_cell_by_cell_and_keeps_its_number_columns():
    frame = pd.DataFrame({"name": ["=1+2", "Ann", "-Bo"], "delta": [-1, 2, -3], "skew": [-0.5, 1.0, math.nan]})
    safe = neutralised(frame)
    assert list(safe["name"]) == ["'=1+2", "Ann", "'-Bo"]
    assert list(safe["delta"]) == [-1, 2, -3] and pd.api.types.is_integer_dtype(safe["delta"])
    assert pd.api.types.is_float_dtype(safe["skew"]) and safe["skew"].iloc[0] == -0.5
    assert list(frame["name"]) == ["=1+2", "Ann", "-Bo"]  # the caller's frame is not changed
    assert csv_text(frame).splitlines() == ["name,delta,skew", "'=1+2,-1,-0.5", "Ann,2,1.0", "'-Bo,-3,"]


def test_xlsx_writes_text_as_text_and_numbers_as_numbers(tmp_path):
    """Including what openpyxl would otherwise guess as an error cell (#REF!) or, unneutralised, a formula."""
    frame = pd.DataFrame({"text": ["=SUM(A1:A2)", "#REF!", "@x", "plain"], "number": [-1, 0, 5, 7],
                          "ratio": [-0.25, math.nan, 1.5, 2.0]})
    write_table(frame, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    rows = list(sheet.iter_rows(min_row=2))
    assert [(c.value, c.data_type) for c in (row[0] for row in rows)] == [
        ("'=SUM(A1:A2)", "s"), ("#REF!", "s"), ("'@x", "s"), ("plain", "s")]
    assert [(row[1].value, row[1].data_type) for row in rows] == [(-1, "n"), (0, "n"), (5, "n"), (7, "n")]
    assert [row[2].value for row in rows] == [-0.25, None, 1.5, 2.0]


def test_petition_read_style_csv_is_neutralised_too(tmp_path):
    write_csv(pd.DataFrame({"file": [HOSTILE_FILE], "skew_deg": [-1.25]}), tmp_path / "rows.csv")
    assert (tmp_path / "rows.csv").read_text(encoding="utf-8").splitlines() == ["file,skew_deg", "'=1+2.png,-1.25"]


# A real workspace: a hostile file name, read for real, and a hostile name typed by a reviewer ----------------------


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-scans")
    shutil.copy(SCANS / "seed_clean.png", folder / HOSTILE_FILE)
    return folder


@pytest.fixture(scope="module")
def workspace_root(scans, tmp_path_factory) -> tuple[Path, int]:
    """The sheet added to a workspace, the first line the queue offers decided by rita as signed by HOSTILE_NAME,
    and an admin for the downloads. Returns the root and the decided line number."""
    root = tmp_path_factory.mktemp("hostile-ws") / "ws"
    store = Workspace.open(root)
    try:
        assert add_paths(store, [scans], job=ReadJob(settings=ReadSettings(keep_crops=True))).all_read
        queue.ensure_review_schema(store)
        now = 1_750_000_000.0
        offered = queue.next_line(store, "rita", now=now)
        assert offered is not None
        queue.decide_line(store, offered.key.item, "rita", status="signed", name=HOSTILE_NAME, now=now + 1)
        add_user(store, "ada", PASSWORD, role="admin")
    finally:
        store.close()
    return root, offered.key.line_no


@pytest.fixture(scope="module")
def exported(workspace_root, tmp_path_factory) -> dict[tuple[str, str | None, str], Path]:
    """Every `petition export` as CSV and XLSX, by the CLI's own command."""
    from pipeline.cli import app

    root, _ = workspace_root
    folder = tmp_path_factory.mktemp("hostile-exports")
    paths = {}
    for what, profile in EXPORTS:
        for suffix in ("csv", "xlsx"):
            path = folder / f"{what}-{profile or 'plain'}.{suffix}"
            arguments = ["export", what, "-o", str(path), "-w", str(root)] + (["--profile", profile] if profile else [])
            done = CliRunner().invoke(app, arguments)
            assert done.exit_code == 0, done.output
            paths[(what, profile, suffix)] = path
    return paths


def csv_records(text: str) -> list[dict[str, str]]:
    """The raw strings of a CSV, no type guessing; CR inside a quoted cell kept."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


def xlsx_records(path: Path) -> tuple[list[dict[str, object]], list]:
    """The sheet's rows by header, and every cell (for data types)."""
    rows = list(openpyxl.load_workbook(path).active.iter_rows())
    header = [c.value for c in rows[0]]
    return [{h: c.value for h, c in zip(header, row)} for row in rows[1:]], [c for row in rows for c in row]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def assert_nothing_live(records: list[dict[str, object]], *, numbers: tuple[str, ...] = ()) -> None:
    """No text cell starts with a trigger; the `numbers` columns hold plain numbers (a negative one unquoted)."""
    live = [v for r in records for column, v in r.items()
            if column not in numbers and isinstance(v, str) and v.startswith(TRIGGERS)]
    assert live == []
    for column in numbers:
        assert all(is_number(r[column]) for r in records if r[column] != ""), column


def assert_hostile_cells_quoted(records: list[dict[str, object]], what: str, profile: str | None,
                                decided_line: int) -> None:
    """The file name and the typed name (or, in a CRM profile, its first name) appear quoted."""
    assert records
    if what == "rows":
        assert {r["file"] for r in records} == {"'" + HOSTILE_FILE}
        decided = [r for r in records if int(r["line"]) == decided_line]
        assert [(r["status"], r["name"]) for r in decided] == [("signed", "'" + HOSTILE_NAME)]
        return
    first = parse_name(HOSTILE_NAME).first
    assert first.startswith("=")  # so the profile's first-name column really carries a trigger
    if profile is None:
        hostile = [r for r in records if r["name"] == "'" + HOSTILE_NAME]
        assert [r["first_name"] for r in hostile] == ["'" + first]
        assert hostile[0]["sources"] == f"'{HOSTILE_FILE}:1:{decided_line}"
        assert all(str(r["sources"]).startswith(f"'{HOSTILE_FILE}:1:") for r in records)
    else:
        assert "'" + first in {r[PROFILES[profile].columns["first_name"]] for r in records}


@pytest.mark.parametrize(("what", "profile"), EXPORTS, ids=EXPORT_IDS)
def test_export_csv_quotes_the_hostile_file_name_and_typed_name(exported, workspace_root, what, profile):
    records = csv_records(exported[(what, profile, "csv")].read_text(encoding="utf-8"))
    assert_nothing_live(records)
    assert_hostile_cells_quoted(records, what, profile, workspace_root[1])


@pytest.mark.parametrize(("what", "profile"), EXPORTS, ids=EXPORT_IDS)
def test_export_xlsx_has_no_formula_and_keeps_numbers_numeric(exported, workspace_root, what, profile):
    records, cells = xlsx_records(exported[(what, profile, "xlsx")])
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert_nothing_live(records)
    assert_hostile_cells_quoted(records, what, profile, workspace_root[1])
    if profile is None:
        header = [c.value for c in cells[: len(records[0])]]
        for column in NUMERIC_COLUMNS[what]:
            types = {c.data_type for c in cells[header.index(column) :: len(header)][1:]}
            assert types == {"n"}, column


def test_petition_read_writes_quoted_rows_and_pages_csv(scans, tmp_path):
    from pipeline.cli import app

    done = CliRunner().invoke(app, ["read", str(scans / HOSTILE_FILE), "-o", str(tmp_path / "rows.csv")])
    assert done.exit_code == 0, done.output
    for name, numbers in (("rows.csv", ("page", "line", "name_confidence")), ("pages.csv", ("page", "skew_deg"))):
        records = csv_records((tmp_path / name).read_text(encoding="utf-8"))
        assert records and {r["file"] for r in records} == {"'" + HOSTILE_FILE}
        assert_nothing_live(records, numbers=numbers)


@pytest.mark.parametrize(("what", "profile"), EXPORTS, ids=EXPORT_IDS)
def test_admin_download_quotes_the_hostile_cells(workspace_root, what, profile):
    root, decided_line = workspace_root
    response = admin_export_csv(root, what, profile, name="ada", password=PASSWORD)
    assert response.status_code == 200
    records = csv_records(response.text)
    assert_nothing_live(records)
    assert_hostile_cells_quoted(records, what, profile, decided_line)


def test_the_workspace_and_the_roster_keep_the_raw_text(workspace_root, exported):
    """Neutralising is for the written file only: what was read and typed is stored, deduplicated and shown as is."""
    root, decided_line = workspace_root
    store = Workspace.open(root, create=False)
    try:
        lines = effective_lines(store)
        roster, _ = build_roster(store)
        typed = store.db.execute("SELECT value FROM decisions WHERE field = 'name'").fetchall()
    finally:
        store.close()
    assert set(lines["file"]) == {HOSTILE_FILE}
    assert lines.set_index("line").loc[decided_line, "name"] == HOSTILE_NAME
    assert [r[0] for r in typed] == [HOSTILE_NAME]
    assert HOSTILE_NAME in set(roster["name"])
    assert all(s.startswith(HOSTILE_FILE + ":") for s in roster["sources"])
