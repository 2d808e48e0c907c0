"""`petition voters import`, `petition match`, `petition report`: help text, output, exit codes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.store import Workspace
from tests.pipeline.voters.support import FILE_SHA, VOTERS, page

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.mark.parametrize("command", [("voters", "import"), ("match",), ("report",)])
def test_every_command_has_help(command):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0 and "--workspace" in result.output


@pytest.fixture
def workspace(tmp_path):
    store = Workspace.open(tmp_path / "ws")
    store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="ok")
    store.save_page(FILE_SHA, page())
    store.close()
    return tmp_path / "ws"


def test_import_match_report_from_the_command_line(workspace, tmp_path):
    voters = tmp_path / "voters.csv"
    voters.write_text(VOTERS + "\n,NO,ID,,,\n", encoding="utf-8")
    imported = _invoke("voters", "import", str(voters), "--workspace", str(workspace))
    assert imported.exit_code == 0, imported.output
    assert "imported 8 voters" in imported.output and "line 11: no voter id" in imported.output
    matched = _invoke("match", "--no-pixels", "--workspace", str(workspace))
    assert matched.exit_code == 0 and "3 matched" in matched.output
    report = _invoke("report", "-o", str(tmp_path / "r.html"), "--required", "3", "--workspace", str(workspace))
    in_ward = _invoke("report", "-o", str(tmp_path / "w.html"), "--ward", "2", "--workspace", str(workspace))
    assert in_ward.exit_code == 0 and "1 valid signatures" in in_ward.output
    assert report.exit_code == 0 and "3 valid signatures" in report.output and "margin +0" in report.output
    assert (tmp_path / "r.csv").exists() and (tmp_path / "r.sample.csv").exists()


def test_a_voter_file_without_an_id_column_exits_2_with_advice(workspace, tmp_path):
    voters = tmp_path / "voters.csv"
    voters.write_text("FIRST_NAME,LAST_NAME\nKoa,Mensah\n", encoding="utf-8")
    result = _invoke("voters", "import", str(voters), "--workspace", str(workspace))
    assert result.exit_code == 2 and "--map" in result.output


def test_match_without_a_voter_file_exits_2(workspace):
    result = _invoke("match", "--workspace", str(workspace))
    assert result.exit_code == 2 and "voters import" in result.output
