"""`petition form ...`: make, store and list form files (a sheet's layout and its blank sheet)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli_common import DEFAULT_WORKSPACE, WorkspaceOption, exits_on_error, open_existing
from scanner.errors import ExitCode

form_app = typer.Typer(help="Make and check form files (a sheet's layout, for when auto-detection is not enough).",
                       no_args_is_help=True)


@form_app.command("detect")
def form_detect(
    blank_sheet: Annotated[Path, typer.Argument(help="A scan of one blank (unsigned) sheet.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Form file (TOML) to write.")] = Path("form.toml"),
    page: Annotated[int, typer.Option("--page", min=1, help="Which page of the file holds the blank sheet.")] = 1,
) -> None:
    """Propose an editable form (TOML) from one blank sheet, and keep the sheet beside it (OUTPUT with .png).

    Pages read with the form are lined up with that blank sheet and its print (labels, rules, line numbers)
    never counts as writing."""
    from pipeline.forms import detect_form

    template = output.with_suffix(".png")
    output.parent.mkdir(parents=True, exist_ok=True)
    with exits_on_error():  # a blank sheet that cannot be read: nothing was (exit 4)
        text = detect_form(blank_sheet, page=page, template=template)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output} and its blank sheet {template.name}: check the roles and boxes, then pass it as --form")


FormNameArgument = Annotated[str, typer.Argument(help="The form's name: letters, digits, '-' or '_' (at most 60).")]


@form_app.command("add")
def form_add(
    name: FormNameArgument,
    blank_sheet: Annotated[Path, typer.Argument(help="A scan of one blank (unsigned) sheet.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    page: Annotated[int, typer.Option("--page", min=1, help="Which page of the file holds the blank sheet.")] = 1,
) -> None:
    """Detect the form of a blank sheet and keep it in the workspace under NAME (then: add --form NAME)."""
    from pipeline.forms import add_named_form, command_user
    from pipeline.store import Workspace

    with exits_on_error():
        with closing(Workspace.open(workspace)) as store:
            saved = add_named_form(store, name, blank_sheet, page=page, created_by=command_user())
    typer.echo(f"stored form {name} as {saved.path} with its blank sheet {saved.path.with_suffix('.png').name}: check"
               f" the roles and boxes there; to change them, edit a copy and run 'petition form save {name} COPY'")
    _say_kept(name, saved)


@form_app.command("save")
def form_save(
    name: FormNameArgument,
    form_file: Annotated[Path, typer.Argument(help="A form file (TOML), e.g. one written by form detect and edited.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Keep a form file and the blank sheet it names in the workspace under NAME (replacing a form of that name;
    the one it replaces is kept as NAME@N for the batches read with it)."""
    from pipeline.forms import command_user, save_named_form
    from pipeline.store import Workspace

    with exits_on_error(), _broken_form_is_usage():
        with closing(Workspace.open(workspace)) as store:
            saved = save_named_form(store, name, form_file, created_by=command_user())
    typer.echo(f"stored form {name} as {saved.path}")
    _say_kept(name, saved)


@contextmanager
def _broken_form_is_usage() -> Iterator[None]:
    """A form file that cannot be used is what the command was given, not a sheet that could not be read: exit 2
    with its message (FormError is a SheetError, whose own code says nothing was read)."""
    from scanner.form import FormError

    try:
        yield
    except FormError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from exc


def _say_kept(name: str, kept) -> None:
    if kept.kept_as:
        read = f"; batches {', '.join(map(str, kept.batches))} name it" if kept.batches else ""
        typer.echo(f"the form {name} had before is kept as {kept.kept_as}{read}")


@form_app.command("list")
def form_list(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """The workspace's stored forms: name, lines, roles, whether it has its blank sheet; then the earlier versions
    (NAME@N) kept for the batches read with them."""
    from pipeline.forms import describe, named_forms

    store = open_existing(workspace)
    with exits_on_error(), closing(store):
        stored = named_forms(store, earlier_versions=True)
    stored.sort(key=lambda f: f.is_earlier_version)  # stable: by name within each group
    if not stored:
        typer.echo("no stored forms; add one with 'petition form add NAME BLANK_SHEET'")
    for f in stored:
        typer.echo(describe(f))


@form_app.command("delete")
def form_delete(
    name: Annotated[str, typer.Argument(help="The stored form to delete.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Delete a stored form. One that upload batches name is kept for them as NAME@N (no longer offered for new
    uploads); an earlier version that batches were read with cannot be deleted."""
    from pipeline.forms import delete_named_form

    store = open_existing(workspace)
    with exits_on_error(), closing(store):
        removed = delete_named_form(store, name)
    if removed.kept_as:
        typer.echo(f"deleted form {name}; batches {', '.join(map(str, removed.batches))} name it, so it is kept for"
                   f" them as {removed.kept_as}")
    else:
        typer.echo(f"deleted form {name}")


@form_app.command("rename")
def form_rename(
    old: Annotated[str, typer.Argument(help="The stored form's name.")],
    new: FormNameArgument,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Give a stored form a new name; the upload batches that name it follow."""
    from pipeline.forms import rename_named_form

    store = open_existing(workspace)
    with exits_on_error(), _broken_form_is_usage(), closing(store):
        renamed = rename_named_form(store, old, new)
    typer.echo(f"renamed form {old} to {new} ({renamed.path})")
