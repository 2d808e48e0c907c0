"""Exports from the workspace: rows and roster as CSV or XLSX, optionally shaped for a CRM's import.

Human decisions win over machine results everywhere here. Only lines whose (effective) status is `signed`
are signers; name-only, struck, blank and uncertain lines are not on the roster.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline import spreadsheet
from pipeline.dedupe import DedupeResult, Person
from pipeline.names import parse_name
from pipeline.roster import ensure_current, stored_result
from pipeline.roster_rows import ROSTER_COLUMNS
from pipeline.rows import ROW_COLUMNS
from pipeline.store import EffectiveLine, LineId, Workspace
from pipeline.store import lines as stored_lines
from pipeline.store import matches as stored_matches
from pipeline.store import roster as stored_roster
from pipeline.store import voters as stored_voters
from pipeline.store.matches import EffectiveMatch
from scanner.types import TEXT_ROLES, LineStatus

FIELD_COLUMNS = [role.value for role in TEXT_ROLES]


@dataclass(frozen=True)
class Profile:
    """A CRM's import columns: roster column → CRM column, plus constant columns."""

    columns: dict[str, str]
    constants: dict[str, str]


# Opt-in columns say "not subscribed": petition signers did not agree to mail (FIELD-NOTES: CA Elec. Code §18650).
PROFILES: dict[str, Profile] = {
    "actionnetwork": Profile({"first_name": "first_name", "last_name": "last_name", "email": "email",
                              "zip": "zip_code", "address": "address_line"}, {"email_subscribed": "false"}),
    "everyaction": Profile({"first_name": "firstname", "middle_name": "middlename", "last_name": "lastname",
                            "address": "addressline1", "zip": "ziporpostal", "email": "email"}, {}),
    "nationbuilder": Profile({"signer_id": "external_id", "first_name": "first_name", "last_name": "last_name",
                              "email": "email", "address": "address1", "zip": "zip"},
                             {"email_opt_in": "false", "tag_list": "petition-signer"}),
}


# One row per line: where it is, its effective values (store.EffectiveLine), and its occurrence id (LineId text).
LINE_COLUMNS = ["file", "file_sha256", "page", "line", "status", "name", "name_confidence", "needs_review",
                "review_reasons", *FIELD_COLUMNS, "human_confirmed", "occurrence"]
# Added at the end of a line frame (and of rows.csv) when a voter file is loaded (pipeline/match.py).
MATCH_COLUMNS = ["voter_id", "match_status", "match_score"]


def effective_lines(workspace: Workspace) -> pd.DataFrame:
    """Every stored line with the latest human decision per field applied (the store's effective_lines view),
    and its match to the voter file in force when one is loaded (a person's verdict beats the machine's)."""
    current = stored_voters.current_version(workspace)
    matches = stored_matches.effective_matches(workspace, current.version) if current else None
    return lines_frame(stored_lines.all_lines(workspace), matches)


def lines_frame(effective: Sequence[EffectiveLine],
                matches: Mapping[LineId, EffectiveMatch] | None = None) -> pd.DataFrame:
    """Lines as the frame the exports and the roster read, in the order given; with MATCH_COLUMNS when
    `matches` is given (a line it lacks, e.g. one not signed: empty)."""
    records = [{"file": line.file, "file_sha256": line.id.file_sha256, "page": line.id.page_no,
                "line": line.id.line_no, "status": line.status, "name": line.name,
                "name_confidence": line.name_confidence, "needs_review": line.needs_review,
                "review_reasons": ";".join(line.review_reasons), **{c: getattr(line, c) for c in FIELD_COLUMNS},
                "human_confirmed": line.human_confirmed, "occurrence": str(line.id)} for line in effective]
    frame = pd.DataFrame.from_records(records, columns=LINE_COLUMNS)
    if matches is not None:
        found = [matches.get(line.id) for line in effective]
        frame["voter_id"] = [m.voter_id if m else "" for m in found]
        frame["match_status"] = [m.status if m else "" for m in found]
        frame["match_score"] = [f"{m.score:.3f}" if m else "" for m in found]
    return frame


def rows_export(lines: pd.DataFrame) -> pd.DataFrame:
    """rows.csv per the contract, with the other fields that any page has, then the match columns when a
    voter file is loaded."""
    frame = lines.copy()
    frame["needs_review"] = frame["needs_review"].map(lambda v: "true" if v else "false")
    frame["name_confidence"] = frame["name_confidence"].map(lambda v: f"{float(v):.3f}")
    used = [c for c in FIELD_COLUMNS if (frame[c].astype(str) != "").any()] if len(frame) else []
    return frame[ROW_COLUMNS + used + [c for c in MATCH_COLUMNS if c in frame]]


def people(lines: pd.DataFrame) -> list[Person]:
    """The signers to deduplicate: signed lines with a name."""
    signed = lines[(lines["status"] == LineStatus.SIGNED.value) & (lines["name"].astype(str).str.strip() != "")]
    voter_ids = signed["voter_id"].fillna("") if "voter_id" in signed else pd.Series("", index=signed.index)
    return [Person(id=row.occurrence, name=parse_name(row.name), zip="".join(c for c in str(row.zip) if c.isdigit()),
                   email=str(row.email).strip().lower(), address=str(row.address), voter_id=str(voter_id))
            for row, voter_id in zip(signed.itertuples(), voter_ids)]


def roster_rows(workspace: Workspace) -> Iterator[tuple]:
    """One row (roster_columns order) per deduplicated signer, as the stored roster keeps it rendered
    (pipeline/roster.py, folded forward first when it lags; pipeline/roster_rows.py renders a row): nothing is
    clustered or rendered again. Signers come in the order of their first occurrence's entry: occurrence order after
    a rebuild, signers folded in since after the others."""
    ensure_current(workspace)
    return stored_roster.stored_rows(workspace, roster_columns(workspace))


def roster_columns(workspace: Workspace) -> list[str]:
    """The roster's columns: voter_id last, only when a voter file is loaded."""
    extra = ["voter_id"] if stored_voters.current_version(workspace) else []
    return ROSTER_COLUMNS + ["middle_name"] + extra


def signer_id(first_occurrence: str) -> str:
    """A signer's roster id, from their first occurrence: S, then the first 16 hex digits of the file's hash, the page
    and the line ("S0123456789abcdef-1-2"). CRMs keep it (nationbuilder's external_id), so its form never changes."""
    line = LineId.parse(first_occurrence)
    return f"S{line.file_sha256[:16]}-{line.page_no}-{line.line_no}"


def build_roster(workspace: Workspace) -> tuple[pd.DataFrame, DedupeResult]:
    """The roster as a frame and the stored clustering in dedupe's form (for XLSX, the review app, the report)."""
    frame = pd.DataFrame(list(roster_rows(workspace)), columns=roster_columns(workspace))
    return frame, stored_result(workspace)


def write_roster(workspace: Workspace, path: Path, *, profile: str | None = None) -> int:
    """Write the roster (shaped for a CRM when `profile` is given) to CSV or XLSX; the number of signers. CSV lines
    are written by SQLite from the stored rows, cells neutralised and quoted as spreadsheet.write_csv does; XLSX is
    built whole (openpyxl)."""
    columns = roster_columns(workspace)
    spec = PROFILES[profile] if profile else None
    header = list(spec.columns.values()) + list(spec.constants) if spec else columns
    picks = [columns.index(source) if source in columns else None for source in spec.columns] if spec else None
    constants = list(spec.constants.values()) if spec else []

    if path.suffix.lower() == ".xlsx":
        rows = [[row[k] if k is not None else "" for k in picks] + constants if picks is not None else row
                for row in roster_rows(workspace)]
        spreadsheet.write_table(pd.DataFrame(rows, columns=header), path)
        return len(rows)
    ensure_current(workspace)
    cells = ([source if source in columns else stored_roster.Constant("") for source in spec.columns]
             + [stored_roster.Constant(str(v)) for v in spec.constants.values()]) if spec else columns
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")  # renamed once whole: a reader never sees half a file
    with partial.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow([spreadsheet.neutralise(c) for c in header])
        for lines in stored_roster.csv_lines(workspace, cells):  # written by SQLite (store.roster.csv_lines)
            handle.write("\n".join(lines))
            handle.write("\n")
            count += len(lines)
    partial.replace(path)
    return count


def shape(frame: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Rename and filter roster columns to what a CRM imports; empty stays empty, nothing is invented."""
    spec = PROFILES[profile]
    shaped = pd.DataFrame({target: frame[source] if source in frame else "" for source, target in spec.columns.items()})
    for column, value in spec.constants.items():
        shaped[column] = value
    return shaped


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV or XLSX by the file's suffix, text cells neutralised against formula injection (pipeline.spreadsheet);
    written to a temporary name, then renamed."""
    spreadsheet.write_table(frame, path)
