"""`petition roster status|update|rebuild`: the roster kept in the store (pipeline/roster.py), how far behind it
is, folding in what arrived, and recomputing it from scratch (which gives what folding in gives)."""

from __future__ import annotations

import typer

from pipeline.cli_common import DEFAULT_WORKSPACE, WorkspaceOption, exits_on_error, open_existing

roster_app = typer.Typer(help="The deduplicated roster kept in the workspace.", no_args_is_help=True)


@roster_app.command("status")
def roster_status(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Whether the stored roster has folded in every page, decision and voter match (changes nothing)."""
    from pipeline.roster import lag
    from pipeline.store import roster as stored

    store = open_existing(workspace)
    try:
        with exits_on_error():
            state = stored.roster_state(store)
            signers, clusters, _ = stored.counts(store)
            typer.echo(f"roster     {lag(store).describe()}")
            typer.echo(f"signers    {clusters} ({signers} signed lines); {state.rebuilds} rebuild(s),"
                       f" {state.updates} update(s) so far")
    finally:
        store.close()


@roster_app.command("update")
def roster_update(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Fold in what arrived since the last update: only the blocks and clusters it touches are recomputed."""
    from pipeline.roster import lag, update

    store = open_existing(workspace)
    try:
        with exits_on_error():
            before = lag(store).describe()
            done = update(store)
        how = "rebuilt" if done.rebuilt else f"folded in {done.lines} line(s), re-scored {done.rescored} signer(s)"
        typer.echo(f"roster was {before}; {how}, {done.reclustered} signer(s) clustered, in {done.seconds:.2f} s")
    finally:
        store.close()


@roster_app.command("rebuild")
def roster_rebuild(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Recompute the stored roster from scratch (every signer blocked, scored and clustered again)."""
    from pipeline.roster import rebuild

    store = open_existing(workspace)
    try:
        with exits_on_error():
            done = rebuild(store)
        typer.echo(f"roster rebuilt: {done.lines} signed line(s) in {done.seconds:.1f} s")
    finally:
        store.close()
