"""`petition status`: what the workspace holds, from the effective (human-decided) lines."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.export import build_roster, effective_lines
from pipeline.store import Workspace, files
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


def workspace_status(workspace: Workspace) -> WorkspaceStatus:
    by_file = files.file_status_counts(workspace)
    by_page = files.page_status_counts(workspace)
    lines = effective_lines(workspace)
    roster, result = build_roster(workspace)
    return WorkspaceStatus(
        files=sum(by_file.values()), files_by_status=by_file, pages=sum(by_page.values()), pages_by_status=by_page,
        lines=len(lines), lines_by_status={s.value: int((lines["status"] == s.value).sum()) for s in LineStatus},
        to_review=int(lines["needs_review"].sum()) if len(lines) else 0,
        human_decided=int(lines["human_confirmed"].sum()) if len(lines) else 0,
        signers=len(roster), signers_with_duplicates=int((roster["occurrences"] > 1).sum()) if len(roster) else 0,
        possible_duplicates=len(result.possible))


def format_status(status: WorkspaceStatus) -> str:
    """The lines `petition status` prints."""
    def counts(mapping: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(mapping.items()) if v) or "none"

    return "\n".join([
        f"files      {status.files} ({counts(status.files_by_status)})",
        f"pages      {status.pages} ({counts(status.pages_by_status)})",
        f"lines      {status.lines} ({counts(status.lines_by_status)})",
        f"to review  {status.to_review} lines ({status.human_decided} decided by people so far)",
        f"signers    {status.signers} after deduplication; {status.signers_with_duplicates} signed more than once;"
        f" {status.possible_duplicates} possible duplicates to review",
    ])
