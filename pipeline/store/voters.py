"""Voter files: each import a numbered version (the newest loaded one is in force; older ones are kept), its
voter rows with their name keys, and the rows an import skipped or noted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import now

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace

# The key columns a line's keys are looked up in (a fixed list: they are column names in the SQL below).
KEY_COLUMNS = ("k_phonetic", "k_prefix", "k_tail", "k_whole", "k_zip")
VOTER_COLUMNS = ("voter_id", "source_line", "first_name", "middle_name", "last_name", "address", "city", "zip",
                 "ward", "birth_year", "key_first", "key_last", *KEY_COLUMNS)
_LOOKUP_BATCH = 500  # keys per IN (...) list: well under SQLite's 32,766 variables


@dataclass(frozen=True)
class VoterFile:
    version: int
    source: str
    sha256: str
    columns: dict[str, str]  # the file's column -> the field it was read as
    rows: int
    bad_rows: int
    imported_by: str
    imported_at: str


@dataclass(frozen=True)
class Voter:
    """One voter row as stored (the key columns left out)."""

    voter_id: str
    source_line: int
    first_name: str
    middle_name: str
    last_name: str
    address: str
    city: str
    zip: str
    ward: str
    birth_year: int | None
    key_first: str
    key_last: str


@dataclass(frozen=True)
class Problem:
    source_line: int
    skipped: bool  # the row was left out (else imported, with the problem noted)
    message: str


def begin_version(workspace: Workspace, *, source: str, sha256: str, columns: dict[str, str],
                  imported_by: str) -> int:
    """A new version in state 'loading'; in the caller's transaction (the whole import is one)."""
    return int(workspace.db.execute(
        "INSERT INTO voter_files (source, sha256, columns, state, imported_by, imported_at)"
        " VALUES (?, ?, ?, 'loading', ?, ?) RETURNING version",
        (source, sha256, json.dumps(columns, sort_keys=True), imported_by, now())).fetchone()[0])


def add_voters(workspace: Workspace, version: int, rows: Iterable[Sequence[object]]) -> None:
    """Voter rows, each in VOTER_COLUMNS order."""
    marks = ", ".join("?" * (len(VOTER_COLUMNS) + 1))
    workspace.db.executemany(f"INSERT INTO voters (version, {', '.join(VOTER_COLUMNS)}) VALUES ({marks})",
                             ((version, *row) for row in rows))


def add_problems(workspace: Workspace, version: int, problems: Iterable[Problem]) -> None:
    workspace.db.executemany(
        "INSERT INTO voter_file_problems (version, source_line, skipped, message) VALUES (?, ?, ?, ?)",
        ((version, p.source_line, int(p.skipped), p.message) for p in problems))


def finish_version(workspace: Workspace, version: int, *, rows: int, bad_rows: int) -> None:
    workspace.db.execute("UPDATE voter_files SET state = 'loaded', rows = ?, bad_rows = ? WHERE version = ?",
                         (rows, bad_rows, version))


def _voter_file(row) -> VoterFile:
    return VoterFile(row["version"], row["source"], row["sha256"], json.loads(row["columns"]), row["rows"],
                     row["bad_rows"], row["imported_by"], row["imported_at"])


_FILE_COLUMNS = "version, source, sha256, columns, rows, bad_rows, imported_by, imported_at"


def current_version(workspace: Workspace) -> VoterFile | None:
    """The voter file in force: the newest loaded version; None when no file was imported."""
    row = workspace.db.execute(f"SELECT {_FILE_COLUMNS} FROM voter_files WHERE state = 'loaded'"
                               " ORDER BY version DESC LIMIT 1").fetchone()
    return _voter_file(row) if row else None


def versions(workspace: Workspace) -> list[VoterFile]:
    """Every loaded version, oldest first."""
    rows = workspace.db.execute(f"SELECT {_FILE_COLUMNS} FROM voter_files WHERE state = 'loaded' ORDER BY version")
    return [_voter_file(r) for r in rows]


def problems(workspace: Workspace, version: int) -> list[Problem]:
    rows = workspace.db.execute("SELECT source_line, skipped, message FROM voter_file_problems WHERE version = ?"
                                " ORDER BY source_line", (version,))
    return [Problem(r[0], bool(r[1]), r[2]) for r in rows]


# A key's voters grouped by the name fields matching prefilters on: (key, k_whole, key_first, key_last,
# first_name, their rowids as SQLite joined them: "12,4077,90211"). A voter file holds each name many times over
# (7 voters a name in a million synthetic rows; Smiths and Garcias in a real one): the prefilter runs once a name,
# not once a voter, and most names fail it, so their rowids are never parsed (rowids_of).
NameHit = tuple[str, str, str, str, str, str]


def lookup(workspace: Workspace, version: int, column: str, keys: Sequence[str]) -> list[NameHit]:
    """Every voter whose `column` key is one of `keys`, grouped by name (read from the covering index alone)."""
    if column not in KEY_COLUMNS:  # a column name in the SQL: only the key columns
        raise ValueError(f"{column} is not a voter key column")
    wanted = sorted({k for k in keys if k})
    found: list[NameHit] = []
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        batch = wanted[start:start + _LOOKUP_BATCH]
        found += workspace.db.execute(
            f"SELECT {column}, k_whole, key_first, key_last, first_name, group_concat(rowid) FROM voters"
            f" WHERE version = ? AND {column} IN ({', '.join('?' * len(batch))})"
            f" GROUP BY {column}, k_whole, key_first, key_last, first_name", (version, *batch)).fetchall()
    return found


def rowids_of(hit: NameHit) -> list[int]:
    return [int(r) for r in hit[5].split(",")]


_VOTER = ("voter_id, source_line, first_name, middle_name, last_name, address, city, zip, ward, birth_year,"
          " key_first, key_last")


def voters_by_rowid(workspace: Workspace, rowids: Iterable[int]) -> dict[int, Voter]:
    wanted = sorted(set(rowids))
    found: dict[int, Voter] = {}
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        batch = wanted[start:start + _LOOKUP_BATCH]
        for row in workspace.db.execute(f"SELECT rowid, {_VOTER} FROM voters WHERE rowid IN"
                                        f" ({', '.join('?' * len(batch))})", batch):
            found[int(row[0])] = Voter(*tuple(row)[1:])
    return found


def voters_by_id(workspace: Workspace, version: int, voter_ids: Iterable[str]) -> dict[str, Voter]:
    wanted = sorted(set(voter_ids))
    found: dict[str, Voter] = {}
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        batch = wanted[start:start + _LOOKUP_BATCH]
        for row in workspace.db.execute(f"SELECT {_VOTER} FROM voters WHERE version = ? AND voter_id IN"
                                        f" ({', '.join('?' * len(batch))})", (version, *batch)):
            found[row[0]] = Voter(*tuple(row))
    return found


def count_voters(workspace: Workspace, version: int) -> int:
    return int(workspace.db.execute("SELECT count(*) FROM voters WHERE version = ?", (version,)).fetchone()[0])
