"""`petition voters import`, `petition match` and `petition report`: the voter file, signers matched to it, and
whether the petition will qualify."""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli_common import DEFAULT_WORKSPACE, WorkspaceOption, exits_on_error, open_existing
from scanner.errors import ExitCode

voters_app = typer.Typer(help="Load the voter file signers are checked against.", no_args_is_help=True)


@voters_app.command("import")
def voters_import(
    voter_file: Annotated[Path, typer.Argument(help="The voter file: CSV (any common delimiter) or XLSX.")],
    mapping: Annotated[Optional[list[str]], typer.Option(
        "--map", help="COLUMN=field for a column whose header is not recognised (fields: voter_id, first_name,"
                      " middle_name, last_name, name, address, city, zip, ward, birth_year; or ignore). Repeatable.")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Import a voter file as the list signers are matched against; the previous list is kept as a version.
    Rows that cannot be used are reported by line number and left out; the others are imported."""
    from pipeline.forms import command_user
    from pipeline.store import Workspace
    from pipeline.voter_import import import_voter_file, parse_mapping

    with exits_on_error():
        pairs = parse_mapping(mapping or [])
        with closing(Workspace.open(workspace)) as store:
            report = import_voter_file(store, voter_file, mapping=pairs, imported_by=command_user(),
                                       progress=_progress())
    if sys.stderr.isatty():
        typer.echo("", err=True)
    columns = ", ".join(f"{c}→{f}" for c, f in report.columns.items())
    typer.echo(f"imported {report.rows:,} voters from {voter_file.name} as voter file version {report.version}"
               f" ({columns})")
    for problem in report.problems:
        typer.echo(f"  line {problem.source_line}: {problem.message}{'' if problem.skipped else ' (kept)'}")
    if report.skipped:
        more = report.skipped - sum(p.skipped for p in report.problems)
        typer.echo(f"{report.skipped:,} rows left out" + (f" ({more:,} more not listed here)" if more > 0 else ""))


def _progress():
    """Rows imported and the share of the file read, on one refreshed line of a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(rows: int, share: float) -> None:
        typer.echo(f"\rimporting: {rows:,} rows" + (f" ({share:.0%} of the file)" if share else ""), err=True,
                   nl=False)

    return show


def match(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    pixels: Annotated[bool, typer.Option(
        "--pixels/--no-pixels", help="Re-score the top candidates against each line's name crop (the recognizer's"
                                     " own output); --no-pixels matches on the text alone.")] = True,
) -> None:
    """Match every signed line to the voter file in force: matched, ambiguous, not_found or review per line.
    Lines whose name, address, zip or ward did not change since the last run keep their match."""
    from pipeline.match import match_workspace

    store = open_existing(workspace)
    with exits_on_error(), closing(store):
        summary = match_workspace(store, pixels=pixels)
    typer.echo(summary.headline())


def report(
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML report to write (its figures go beside"
                                                                " it as .csv).")] = Path("report.html"),
    required: Annotated[Optional[int], typer.Option("--required", min=1, help="Valid signatures needed to"
                                                                              " qualify.")] = None,
    ward: Annotated[str, typer.Option("--ward", help="The ward or district the petition is for: signers"
                                                     " registered elsewhere do not count.")] = "",
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Will it qualify? Valid signatures (matched, signed, not a duplicate, name present), the invalid ones by
    reason, counts per ward, the board's random-sample projection with its interval, and the margin to --required."""
    from pipeline.qualify import qualification
    from pipeline.report_html import write_report

    store = open_existing(workspace)
    with exits_on_error(), closing(store):
        figures = qualification(store, required=required, ward=ward)
    try:
        written = write_report(figures, output)
    except OSError as exc:
        typer.echo(f"error: cannot write {output} ({exc.strerror}); choose another place with -o", err=True)
        raise typer.Exit(ExitCode.USAGE) from exc
    typer.echo(figures.headline())
    typer.echo(f"wrote {', '.join(str(p) for p in written)}")
