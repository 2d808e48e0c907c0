"""Exports from the workspace: rows and roster as CSV or XLSX, optionally shaped for a CRM's import.

Human decisions win over machine results everywhere here. Only lines whose (effective) status is `signed`
are signers; name-only, struck, blank and uncertain lines are not on the roster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline import spreadsheet
from pipeline.dedupe import DedupeResult, Person, dedupe
from pipeline.names import parse_name
from pipeline.rows import ROW_COLUMNS
from pipeline.store import EffectiveLine, LineId, Workspace
from pipeline.store import lines as stored_lines
from pipeline.store import matches as stored_matches
from pipeline.store import voters as stored_voters
from pipeline.store.matches import EffectiveMatch
from scanner.types import TEXT_ROLES, LineStatus

FIELD_COLUMNS = [role.value for role in TEXT_ROLES]
ROSTER_COLUMNS = ["signer_id", "name", "first_name", "last_name", "occurrences", "sources", "source_states",
                  "address", "zip", "email", "auto_accepted", "human_confirmed", "needs_review", "possible_duplicates"]


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


def roster(lines: pd.DataFrame, result: DedupeResult) -> pd.DataFrame:
    """One row per deduplicated signer, with every occurrence as file:page:line."""
    by_id = lines.set_index("occurrence")
    possible: dict[str, int] = {}
    for pair in result.possible:
        possible[pair.a] = possible.get(pair.a, 0) + 1
        possible[pair.b] = possible.get(pair.b, 0) + 1
    records = []
    for cluster in result.clusters:
        members = by_id.loc[list(cluster)]
        best = members.sort_values(["human_confirmed", "name_confidence"], ascending=False).iloc[0]
        name = parse_name(str(best["name"]))
        records.append({
            "signer_id": signer_id(cluster[0]),
            "name": name.written, "first_name": name.first, "middle_name": name.middle, "last_name": name.last,
            "occurrences": len(cluster),
            "sources": ";".join(f"{r.file}:{r.page}:{r.line}" for r in members.itertuples()),
            # Per source, in the same order: confirmed by a person, accepted by the machine, or still to review.
            "source_states": ";".join(_state(r) for r in members.itertuples()),
            "address": _first_nonempty(members["address"]), "zip": _first_nonempty(members["zip"]),
            "email": _first_nonempty(members["email"]),
            "auto_accepted": int((~members["needs_review"] & ~members["human_confirmed"]).sum()),
            "human_confirmed": int(members["human_confirmed"].sum()),
            "needs_review": "true" if members["needs_review"].any() else "false",
            "possible_duplicates": sum(possible.get(o, 0) for o in cluster),
            "voter_id": _first_nonempty(members["voter_id"]) if "voter_id" in members else "",
        })
    extra = ["voter_id"] if "voter_id" in lines else []  # only when a voter file is loaded
    return pd.DataFrame.from_records(records, columns=ROSTER_COLUMNS + ["middle_name"] + extra)


def signer_id(first_occurrence: str) -> str:
    """A signer's roster id, from their first occurrence: S, then the first 16 hex digits of the file's hash, the page
    and the line ("S0123456789abcdef-1-2"). CRMs keep it (nationbuilder's external_id), so its form never changes."""
    line = LineId.parse(first_occurrence)
    return f"S{line.file_sha256[:16]}-{line.page_no}-{line.line_no}"


def build_roster(workspace: Workspace) -> tuple[pd.DataFrame, DedupeResult]:
    lines = effective_lines(workspace)
    result = dedupe(people(lines), decisions=workspace.duplicate_decisions())
    return roster(lines, result), result


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


def _state(line) -> str:
    if line.human_confirmed:
        return "human"
    return "review" if line.needs_review else "auto"


def _first_nonempty(values: pd.Series) -> str:
    return next((str(v) for v in values if str(v).strip()), "")
