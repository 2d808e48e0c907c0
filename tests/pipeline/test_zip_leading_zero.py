"""A zip code keeps its leading zero everywhere: "02139" stays the string "02139" (never 2139 or 2139.0) in rows.csv
from `petition read`, in `petition export rows|roster` as CSV and XLSX (a text cell), in every CRM profile, and in the
review app's admin downloads; ZIP+4 and a zip set by a person's decision (line 4, "7030" corrected to "07030") too.
Real SQLite, real files, the CLI's export command.

Two workspaces: one whose zip column is all five-digit zips (so a reader or writer that guesses types from the
column would turn it into numbers) and one that also holds a ZIP+4."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pipeline.export import PROFILES
from pipeline.rows import rows_frame, write_csv
from pipeline.store import Workspace
from pipeline.users import add_user
from scanner.types import (InkMeasure, LineReading, LineStatus, PageRef, PageResult, PageStatus, Presence, Role,
                           TextRead)
from tests.support import admin_export_csv

FILE_SHA = "0f" * 32
PASSWORD = "correct horse battery"
# line → (name, zip as read by the machine); line 4's zip is then corrected by a person to DECIDED_ZIP.
LINES = {
    "five_digit": {1: ("Ann Lee", "02139"), 2: ("Bo Chan", "00501"), 3: ("Cy Diaz", "08540"), 4: ("Di Eng", "7030")},
    "zip_plus_4": {1: ("Ann Lee", "02139"), 2: ("Bo Chan", "00501"), 3: ("Cy Diaz", "02139-4307"),
                   4: ("Di Eng", "7030")},
}
DECIDED_ZIP = "07030"
EXPORTS = [("rows", None), ("roster", None), *(("roster", p) for p in sorted(PROFILES))]


def expected_by_line(kind: str) -> dict[int, str]:
    return {line: (DECIDED_ZIP if line == 4 else zip_code) for line, (_, zip_code) in LINES[kind].items()}


def expected_by_last_name(kind: str) -> dict[str, str]:
    return {name.split()[-1]: expected_by_line(kind)[line] for line, (name, _) in LINES[kind].items()}


def page_result(kind: str) -> PageResult:
    ink = InkMeasure(Presence.PRESENT, 0.1, 0.6)
    lines = tuple(
        LineReading(line=number, status=LineStatus.SIGNED, name=TextRead(name, 0.99),
                    fields={Role.ADDRESS: TextRead(f"{number} Main St", 0.9), Role.ZIP: TextRead(zip_code, 0.9)},
                    signature=ink, name_ink=ink, struck=False, needs_review=False, review_reasons=())
        for number, (name, zip_code) in LINES[kind].items())
    return PageResult(ref=PageRef(path="sheet.png", file_name="sheet.png", page=1, kind="image", dpi=0),
                      status=PageStatus.OK, sha256="1e" * 32, lines=lines, roles=(Role.ADDRESS, Role.ZIP))


@pytest.fixture(scope="module", params=sorted(LINES))
def kind(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def workspace_root(kind, tmp_path_factory) -> Path:
    """A workspace with one page saved as the reader would, line 4's zip corrected by a person, and an admin."""
    root = tmp_path_factory.mktemp(f"zip-{kind}") / "ws"
    store = Workspace.open(root)
    try:
        store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="read")
        store.save_page(FILE_SHA, page_result(kind))
        store.record_decision(file_sha256=FILE_SHA, page_no=1, line_no=4, field="zip", value=DECIDED_ZIP,
                              decided_by="vol")
        add_user(store, "ada", PASSWORD, role="admin")
    finally:
        store.close()
    return root


@pytest.fixture(scope="module")
def exported(workspace_root, tmp_path_factory) -> dict[tuple[str, str | None, str], Path]:
    """Every `petition export` (rows, roster, roster per profile) as CSV and as XLSX, by the CLI's own command."""
    from pipeline.cli import app

    folder = tmp_path_factory.mktemp("zip-exports")
    paths = {}
    for what, profile in EXPORTS:
        for suffix in ("csv", "xlsx"):
            path = folder / f"{what}-{profile or 'plain'}.{suffix}"
            arguments = ["export", what, "-o", str(path), "-w", str(workspace_root)]
            done = CliRunner().invoke(app, arguments + (["--profile", profile] if profile else []))
            assert done.exit_code == 0, done.output
            paths[(what, profile, suffix)] = path
    return paths


def zip_column(profile: str | None) -> str:
    return PROFILES[profile].columns["zip"] if profile else "zip"


def csv_records(text: str) -> list[dict[str, str]]:
    """The raw strings of a CSV, read without any type guessing."""
    return list(csv.DictReader(text.splitlines()))


def assert_zips(records: list[dict], what: str, profile: str | None, kind: str) -> None:
    """Each line's (rows) or signer's (roster) zip is exactly the expected string."""
    column = zip_column(profile)
    if what == "rows":
        got = {int(r["line"]): r[column] for r in records}
        assert got == expected_by_line(kind)
    else:
        last = "lastname" if profile == "everyaction" else "last_name"
        got = {r[last]: r[column] for r in records}
        assert got == expected_by_last_name(kind)


# petition read → rows.csv ------------------------------------------------------------------------------------


def test_rows_csv_from_petition_read_keeps_the_leading_zero(kind, tmp_path):
    """The `petition read` output path: rows_frame → write_csv. (No decisions here: the machine's zips.)"""
    frame = rows_frame((page_result(kind),))
    assert all(isinstance(v, str) for v in frame["zip"])
    write_csv(frame, tmp_path / "rows.csv")
    records = csv_records((tmp_path / "rows.csv").read_text(encoding="utf-8"))
    assert {int(r["line"]): r["zip"] for r in records} == {line: z for line, (_, z) in LINES[kind].items()}


# The workspace ---------------------------------------------------------------------------------------------------


def test_the_workspace_stores_machine_and_human_zips_as_text(workspace_root, kind):
    """SQLite column affinity: a column declared INTEGER or NUMERIC would store '02139' as 2139."""
    store = Workspace.open(workspace_root, create=False)
    try:
        machine = store.db.execute(
            "SELECT l.line_no, json_extract(l.fields, '$.zip'), json_type(l.fields, '$.zip'), typeof(l.fields)"
            " FROM lines l ORDER BY l.line_no").fetchall()
        human = store.db.execute("SELECT value, typeof(value) FROM decisions WHERE field = 'zip'").fetchall()
        effective = store.effective_value(FILE_SHA, 1, 4, "zip")
    finally:
        store.close()
    assert [(r[0], r[1], r[2], r[3]) for r in machine] == [
        (line, z, "text", "text") for line, (_, z) in LINES[kind].items()]
    assert [tuple(r) for r in human] == [(DECIDED_ZIP, "text")]
    assert effective == DECIDED_ZIP


# petition export --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("what", "profile"), EXPORTS, ids=[f"{w}-{p or 'plain'}" for w, p in EXPORTS])
def test_export_csv_keeps_the_leading_zero(exported, kind, what, profile):
    text = exported[(what, profile, "csv")].read_text(encoding="utf-8")
    assert_zips(csv_records(text), what, profile, kind)


@pytest.mark.parametrize(("what", "profile"), EXPORTS, ids=[f"{w}-{p or 'plain'}" for w, p in EXPORTS])
def test_export_xlsx_keeps_the_leading_zero_in_a_text_cell(exported, kind, what, profile):
    sheet = openpyxl.load_workbook(exported[(what, profile, "xlsx")]).active
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    zip_cells = [row[header.index(zip_column(profile))] for row in rows[1:]]
    assert len(zip_cells) == len(LINES[kind])
    assert [c.data_type for c in zip_cells] == ["s"] * len(zip_cells)  # a text cell, not a number Excel reformats
    assert_zips([{h: c.value for h, c in zip(header, row)} for row in rows[1:]], what, profile, kind)


# The review app's admin downloads --------------------------------------------------------------------------------


@pytest.mark.parametrize(("what", "profile"), EXPORTS, ids=[f"{w}-{p or 'plain'}" for w, p in EXPORTS])
def test_admin_download_keeps_the_leading_zero(workspace_root, kind, what, profile):
    response = admin_export_csv(workspace_root, what, profile, name="ada", password=PASSWORD)
    assert response.status_code == 200
    assert_zips(csv_records(response.text), what, profile, kind)
