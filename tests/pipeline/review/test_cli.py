"""`petition user add` and `petition review` (skipped until the commands are in pipeline/cli.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline import cli
from pipeline.store import Workspace
from pipeline.users import get_user
from tests.pipeline.review.conftest import PASSWORD

pytestmark = pytest.mark.skipif(not hasattr(cli, "user_add") or not hasattr(cli, "review"),
                                reason="paste the review and user add commands into pipeline/cli.py")
runner = CliRunner()


def _invoke(*args: str, stdin: str | None = None):
    return runner.invoke(cli.app, list(args), input=stdin, env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.mark.parametrize(("command", "options"), [(["review"], ["--workspace", "--host", "--port"]),
                                                  (["user", "add"], ["--role", "--workspace"])])
def test_the_commands_have_help(command, options):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0
    for option in options:
        assert option in result.output


def test_user_add_reads_the_password_from_stdin_and_stores_only_a_hash(workspace_dir):
    result = _invoke("user", "add", "nora", "--role", "reviewer", "--workspace", str(workspace_dir), stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    store = Workspace.open(workspace_dir, create=False)
    try:
        assert get_user(store, "nora").role == "reviewer"
        stored = store.db.execute("SELECT password_hash FROM review_users WHERE name = 'nora'").fetchone()[0]
    finally:
        store.close()
    assert stored.startswith("$argon2") and PASSWORD not in stored


@pytest.mark.parametrize(("args", "stdin"), [(["nora", "--role", "owner"], PASSWORD), (["nora", "--role", "admin"], "short"),
                                             (["rita", "--role", "admin"], PASSWORD)])
def test_user_add_refuses_bad_input_with_exit_2(workspace_dir, args, stdin):
    result = _invoke("user", "add", *args, "--workspace", str(workspace_dir), stdin=stdin + "\n")
    assert result.exit_code == 2


def test_review_needs_an_existing_workspace(tmp_path):
    assert _invoke("review", "--workspace", str(tmp_path / "nowhere")).exit_code == 2
