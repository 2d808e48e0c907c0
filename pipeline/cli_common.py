"""What every `petition` command module shares: the workspace option, how a stopping error exits, opening an
existing workspace and loading a form file (pipeline/cli.py holds the commands, pipeline/cli_forms.py the forms)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from scanner.errors import ExitCode

DEFAULT_WORKSPACE = Path("petition-workspace")
WorkspaceOption = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (created if missing).")]


@contextmanager
def exits_on_error() -> Iterator[None]:
    """An error that stops a command: its one-line message (which says what to do) and its class's exit code
    (scanner.errors.exit_code). Never its traceback: it is about the input or this machine, not a bug."""
    from pipeline.store import WorkspaceError
    from scanner.errors import SetupError, SheetError, exit_code

    try:
        yield
    except (SheetError, SetupError, WorkspaceError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exit_code(exc)) from exc


def load_form(path: Path | None):
    """The form asked for. A form file that cannot be used is a usage error, whatever is wrong in it: the
    command cannot start (scanner.form.FormError carries no exit code of its own yet)."""
    from scanner.errors import SheetError
    from scanner.form import load_form

    if path is None:
        return None
    try:
        return load_form(path)
    except SheetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from exc


def open_existing(workspace: Path):
    from pipeline.store import Workspace

    with exits_on_error():
        return Workspace.open(workspace, create=False)
