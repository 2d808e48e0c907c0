"""`petition form ...`: make, store and list form files (a sheet's layout and its blank sheet)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli_common import DEFAULT_WORKSPACE, WorkspaceOption, exits_on_error, open_existing

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
            stored = add_named_form(store, name, blank_sheet, page=page, created_by=command_user())
    typer.echo(f"stored form {name} as {stored} with its blank sheet {stored.with_suffix('.png').name}: check the"
               f" roles and boxes there; to change them, edit a copy and run 'petition form save {name} COPY'")


@form_app.command("save")
def form_save(
    name: FormNameArgument,
    form_file: Annotated[Path, typer.Argument(help="A form file (TOML), e.g. one written by form detect and edited.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Keep a form file and the blank sheet it names in the workspace under NAME (replacing a form of that name)."""
    from pipeline.forms import command_user, save_named_form
    from pipeline.store import Workspace

    with exits_on_error():
        with closing(Workspace.open(workspace)) as store:
            stored = save_named_form(store, name, form_file, created_by=command_user())
    typer.echo(f"stored form {name} as {stored}")


@form_app.command("list")
def form_list(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """The workspace's stored forms: name, lines, roles, whether it has its blank sheet."""
    from pipeline.forms import describe, named_forms

    store = open_existing(workspace)
    with exits_on_error(), closing(store):
        stored = named_forms(store)
    if not stored:
        typer.echo("no stored forms; add one with 'petition form add NAME BLANK_SHEET'")
    for f in stored:
        typer.echo(describe(f))
