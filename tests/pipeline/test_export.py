"""Exports from a real workspace: human decisions win, duplicates merge with every source kept, XLSX has the
same columns as CSV, CRM profiles rename and filter without inventing data."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from pipeline.add import add_paths
from pipeline.batch import ReadJob
from pipeline.export import PROFILES, ROSTER_COLUMNS, build_roster, effective_lines, rows_export, shape
from pipeline.rows import ROW_COLUMNS
from pipeline.store import Workspace
from scanner.read import ReadSettings
from tests.support import PETITION, SCANS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """Two sheets in a workspace; line 2 of each is decided by a person to be the same signer."""
    root = tmp_path_factory.mktemp("export")
    scans = root / "scans"
    scans.mkdir()
    for name in ("seed_clean.png", "seed_skewed.png"):
        shutil.copy(SCANS / name, scans / name)
    workspace = Workspace.open(root / "ws")
    add_paths(workspace, [scans], job=ReadJob(settings=ReadSettings(keep_crops=True)))
    shas = dict(workspace.db.execute("SELECT name, sha256 FROM files").fetchall())
    for file_name, written in (("seed_clean.png", "Robert Smith"), ("seed_skewed.png", "BOB SMITH")):
        for field, value in (("name", written), ("status", "signed")):
            workspace.record_decision(file_sha256=shas[file_name], page_no=1, line_no=2, field=field, value=value,
                                      decided_by="vol")
    workspace.record_decision(file_sha256=shas["seed_clean.png"], page_no=1, line_no=1, field="status",
                              value="struck", decided_by="vol")
    yield workspace, shas
    workspace.close()


def test_rows_export_follows_the_contract_and_reflects_decisions(filled):
    workspace, _ = filled
    rows = rows_export(effective_lines(workspace))
    assert list(rows.columns[: len(ROW_COLUMNS)]) == ROW_COLUMNS
    assert len(rows) == 30
    clean = rows[rows["file"] == "seed_clean.png"].set_index("line")
    assert clean.loc[1, "status"] == "struck"
    assert clean.loc[2, "name"] == "Robert Smith" and clean.loc[2, "needs_review"] == "false"


def test_roster_merges_a_signer_seen_twice_and_keeps_both_sources(filled):
    workspace, _ = filled
    roster, result = build_roster(workspace)
    assert list(roster.columns[: len(ROSTER_COLUMNS)]) == ROSTER_COLUMNS
    smith = roster[roster["last_name"].str.casefold() == "smith"]
    assert len(smith) == 1
    entry = smith.iloc[0]
    assert entry["occurrences"] == 2
    assert sorted(entry["sources"].split(";")) == ["seed_clean.png:1:2", "seed_skewed.png:1:2"]
    assert entry["human_confirmed"] == 2
    assert entry["source_states"] == "human;human"
    for sources, states in zip(roster["sources"], roster["source_states"]):
        assert len(sources.split(";")) == len(states.split(";"))
        assert set(states.split(";")) <= {"human", "auto", "review"}
    signed = effective_lines(workspace).query("status == 'signed'")
    assert roster["occurrences"].sum() == len(signed[signed["name"] != ""])
    every_source = {source for sources in roster["sources"] for source in sources.split(";")}
    assert "seed_clean.png:1:1" not in every_source  # struck by a person: not a signer
    assert "seed_clean.png:1:3" in every_source


def test_a_human_different_verdict_keeps_two_signers_apart(filled, tmp_path):
    workspace, shas = filled
    from pipeline.store import occurrence_id

    a, b = occurrence_id(shas["seed_clean.png"], 1, 2), occurrence_id(shas["seed_skewed.png"], 1, 2)
    workspace.record_duplicate_decision(a, b, same=False, decided_by="vol")
    roster, _ = build_roster(workspace)
    assert len(roster[roster["last_name"].str.casefold() == "smith"]) == 2
    workspace.record_duplicate_decision(a, b, same=True, decided_by="vol2")
    roster, _ = build_roster(workspace)
    assert len(roster[roster["last_name"].str.casefold() == "smith"]) == 1


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profiles_rename_filter_and_never_opt_in(filled, profile):
    workspace, _ = filled
    roster, _ = build_roster(workspace)
    shaped = shape(roster, profile)
    spec = PROFILES[profile]
    assert list(shaped.columns) == list(spec.columns.values()) + list(spec.constants)
    assert len(shaped) == len(roster)
    for column, value in spec.constants.items():
        assert set(shaped[column]) == {value}
    email_column = spec.columns["email"]
    assert set(shaped[email_column].astype(str)) <= {""} | set(roster["email"].astype(str))
    assert "sources" not in shaped.columns


def test_cli_exports_csv_and_xlsx_with_the_same_columns(filled, tmp_path):
    workspace, _ = filled
    for what in ("rows", "roster"):
        csv_path, xlsx_path = tmp_path / f"{what}.csv", tmp_path / f"{what}.xlsx"
        for path in (csv_path, xlsx_path):
            done = subprocess.run([str(PETITION), "export", what, "-o", str(path), "-w", str(workspace.root)],
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        from_csv = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
        from_xlsx = pd.read_excel(xlsx_path, dtype=str, keep_default_na=False)
        assert list(from_csv.columns) == list(from_xlsx.columns)
        assert len(from_csv) == len(from_xlsx)
    wrong = subprocess.run([str(PETITION), "export", "rows", "--profile", "nationbuilder", "-o", str(tmp_path / "x.csv"),
                            "-w", str(workspace.root)], capture_output=True, text=True)
    assert wrong.returncode == 2
