"""`petition status`: what the workspace holds, from the effective (human-decided) lines and the stored roster.

Nothing here reads every line into Python or clusters anything: line counts are one SQL aggregate, signer counts
come from the roster kept in the store (pipeline/roster.py), which is folded forward first when it lags."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import roster
from pipeline.store import Workspace, files
from pipeline.store import roster as stored_roster
from scanner.types import LineStatus


@dataclass(frozen=True)
class WorkspaceStatus:
    files: int
    files_by_status: dict[str, int]
    pages: int
    pages_by_status: dict[str, int]
    lines: int
    lines_by_status: dict[str, int]
    to_review: int
    human_decided: int
    signers: int
    signers_with_duplicates: int
    possible_duplicates: int
    roster: str = "up to date"  # what the stored roster lagged by, which this status folded in
    voter_confirmed: int = 0  # lines whose only doubt, the name's spelling, the voter file answered


def workspace_status(workspace: Workspace) -> WorkspaceStatus:
    lag = roster.lag(workspace)
    done = roster.update(workspace) if lag.behind else None
    state = "up to date" if done is None else (
        f"was {lag.describe()}; {'rebuilt' if done.rebuilt else 'folded in'} now ({done.seconds:.2f} s)")
    by_file = files.file_status_counts(workspace)
    by_page = files.page_status_counts(workspace)
    counts = stored_roster.line_counts(workspace)
    _, clusters, repeated = stored_roster.counts(workspace)
    return WorkspaceStatus(
        files=sum(by_file.values()), files_by_status=by_file, pages=sum(by_page.values()), pages_by_status=by_page,
        lines=counts.lines, lines_by_status={s.value: counts.by_status.get(s.value, 0) for s in LineStatus},
        to_review=counts.to_review, human_decided=counts.human_decided,
        signers=clusters, signers_with_duplicates=repeated,
        possible_duplicates=len(roster.possible_pairs(workspace)), roster=state,
        voter_confirmed=counts.voter_confirmed)


def format_status(status: WorkspaceStatus) -> str:
    """The lines `petition status` prints."""
    def counts(mapping: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(mapping.items()) if v) or "none"

    return "\n".join([
        f"files      {status.files} ({counts(status.files_by_status)})",
        f"pages      {status.pages} ({counts(status.pages_by_status)})",
        f"lines      {status.lines} ({counts(status.lines_by_status)})",
        f"to review  {status.to_review} lines ({status.human_decided} decided by people so far"
        + (f"; {status.voter_confirmed} answered by the voter file" if status.voter_confirmed else "") + ")",
        f"signers    {status.signers} after deduplication; {status.signers_with_duplicates} signed more than once;"
        f" {status.possible_duplicates} possible duplicates to review",
        f"roster     {status.roster}",
    ])
