"""The roster kept in the store (migration 10): each signer's cluster and block keys, the scored pairs that link
clusters, the lines waiting to be folded in, and the watermark of what has been. pipeline/roster.py decides what
goes here; this module is its SQL.

A signer is an "entry": an integer id for one signed, named line, found by its page's id and its line number
(a page keeps its id when it is read again). Block keys are stored as 47-bit hashes (SQLite keeps them in six
bytes): a hash names a block's candidates, and the caller keeps only those whose real key matches.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from pipeline import spreadsheet
from pipeline.store.ids import LineId
from pipeline.store.migrations import closed_by_voter_file

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace

KEY_COLUMNS = tuple(f"k{k}" for k in range(9))  # one per rule of dedupe.block_keys
# A rendered row's columns (migration 11; pipeline/roster_rows.py renders them): the roster's, middle_name, voter_id.
ROW_COLUMNS = ("signer_id", "name", "first_name", "last_name", "occurrences", "sources", "source_states", "address",
               "zip", "email", "auto_accepted", "human_confirmed", "needs_review", "possible_duplicates",
               "middle_name", "voter_id")
NUMBER_ROW_COLUMNS = frozenset({"occurrences", "auto_accepted", "human_confirmed", "possible_duplicates"})
LineKey = tuple[int, int]  # (pages.id, line_no): how the roster names a line
_INDEXES = {f"roster_{c}": f"roster_entries ({c})" for c in KEY_COLUMNS} | {
    "roster_by_cluster": "roster_entries (cluster)", "roster_pairs_by_b": "roster_pairs (b)"}


@dataclass(frozen=True)
class RosterState:
    """What has been folded into the stored roster, and what waits."""

    built: bool  # False: never built (or thrown away): the next update rebuilds
    decision_id: int  # the last line decision folded in
    duplicate_id: int  # ... duplicate decision
    match_decision_id: int  # ... voter-match decision
    voter_version: int  # the voter-file version the signers' voter ids come from (0: none)
    rebuilds: int  # full rebuilds so far
    updates: int  # incremental updates so far
    rescored: int  # signers re-scored by incremental updates so far
    settings: str  # the dedupe settings it was built with
    dirty_lines: int  # lines read or re-matched since the last update


@dataclass(frozen=True)
class Signer:
    """A line as the roster reads it: effective values (human decisions applied) and its effective voter."""

    line: LineKey
    occurrence: str  # LineId text
    status: str
    name: str
    zip: str
    email: str
    address: str
    voter_id: str


@dataclass(frozen=True)
class Entry:
    entry: int
    line: LineKey
    cluster: int
    keys: tuple[int | None, ...]  # per rule, the block key's hash (None: in no block of that rule)


@dataclass(frozen=True)
class StoredPair:
    a: int  # entries, a < b
    b: int
    score: float
    reasons: int  # dedupe.evidence_bits


class Member(NamedTuple):
    """One occurrence on the roster, as export streams them. A tuple (not a dataclass): a million go by."""

    entry: int
    cluster: int
    occurrence: str
    file: str
    page_no: int
    line_no: int
    name: str
    name_confidence: float
    address: str
    zip: str
    email: str
    human_confirmed: int
    needs_review: int
    voter_id: str
    first: str | None  # the name's display parts when nameparser had to split it (roster_names), else None
    middle: str | None
    last: str | None


def _occurrence(page: str, line: str) -> str:
    return f"'line:' || {page}.file_sha256 || ':' || {page}.page_no || ':' || {line}.line_no"


def _voter(version: int | None, page: str, *, line: str | None = None) -> str:
    """SQL: the line's effective voter for this voter-file version (store/matches.effective_matches): the latest
    human verdict if any (a voter of this version, else ''), else the machine's ('' unless matched). `page`
    names the file's hash and page number, `line` (default: the same table) its line number."""
    if version is None:
        return "''"

    def one(alias: str) -> str:
        return (f"{alias}.file_sha256 = {page}.file_sha256 AND {alias}.page_no = {page}.page_no"
                f" AND {alias}.line_no = {line or page}.line_no")

    return (f"coalesce((SELECT CASE WHEN md.voter_id != '' AND EXISTS (SELECT 1 FROM voters v WHERE v.version ="
            f" {int(version)} AND v.voter_id = md.voter_id) THEN md.voter_id ELSE '' END FROM match_decisions md"
            f" WHERE {one('md')} ORDER BY md.id DESC LIMIT 1),"
            f" (SELECT vm.voter_id FROM voter_matches vm WHERE vm.version = {int(version)} AND {one('vm')}), '')")


# ---- state ----

def roster_state(workspace: Workspace) -> RosterState:
    row = workspace.db.execute("SELECT built, decision_id, duplicate_id, match_decision_id, voter_version, rebuilds,"
                               " updates, rescored, settings, (SELECT count(*) FROM roster_dirty) FROM roster_state"
                               " WHERE id = 1").fetchone()
    return RosterState(bool(row[0]), *(int(x) for x in row[1:8]), str(row[8]), int(row[9]))


def save_state(workspace: Workspace, *, decision_id: int, duplicate_id: int, match_decision_id: int,
               voter_version: int, settings: str, rebuilt: bool, rescored: int) -> None:
    """The new watermark after an update or a rebuild; in the caller's transaction."""
    workspace.db.execute(
        "UPDATE roster_state SET built = 1, decision_id = ?, duplicate_id = ?, match_decision_id = ?,"
        " voter_version = ?, settings = ?, rebuilds = rebuilds + ?, updates = updates + ?, rescored = rescored + ?"
        " WHERE id = 1", (decision_id, duplicate_id, match_decision_id, voter_version, settings, int(rebuilt),
                          int(not rebuilt), rescored))


def last_match_decision_id(workspace: Workspace) -> int:
    return int(workspace.db.execute("SELECT coalesce(max(id), 0) FROM match_decisions").fetchone()[0])


def dirty_lines(workspace: Workspace) -> set[LineKey]:
    return {(int(r[0]), int(r[1])) for r in workspace.db.execute("SELECT page_id, line_no FROM roster_dirty")}


def clear_dirty(workspace: Workspace) -> None:
    workspace.db.execute("DELETE FROM roster_dirty")


def line_keys(workspace: Workspace, lines: Iterable[LineId]) -> set[LineKey]:
    """The roster's names of these lines (lines of pages not stored are left out)."""
    wanted = json.dumps([[x.file_sha256, x.page_no, x.line_no] for x in lines])
    rows = workspace.db.execute("SELECT p.id, j.value ->> '$[2]' FROM json_each(?) j JOIN pages p"
                                " ON p.file_sha256 = j.value ->> '$[0]' AND p.page_no = j.value ->> '$[1]'", (wanted,))
    return {(int(r[0]), int(r[1])) for r in rows}


def duplicate_decisions_after(workspace: Workspace, after: int) -> list[tuple[str, str]]:
    rows = workspace.db.execute("SELECT occurrence_a, occurrence_b FROM duplicate_decisions WHERE id > ?", (after,))
    return [(str(r[0]), str(r[1])) for r in rows]


def match_decided_after(workspace: Workspace, after: int) -> set[LineId]:
    rows = workspace.db.execute("SELECT DISTINCT file_sha256, page_no, line_no FROM match_decisions WHERE id > ?",
                                (after,))
    return {LineId(*r) for r in rows}


# ---- signers (from the lines) ----

_SIGNER = ("SELECT p.id, el.line_no, 'line:' || el.file_sha256 || ':' || el.page_no || ':' || el.line_no,"
           " el.status, el.name, el.zip, el.email, el.address, {voter} FROM {source}")


def signers_at(workspace: Workspace, lines: Collection[LineKey], voter_version: int | None) -> list[Signer]:
    """These lines as the roster reads them (lines no stored page holds are left out)."""
    source = ("json_each(?) j JOIN pages p ON p.id = j.value ->> '$[0]' JOIN effective_lines el"
              " ON el.file_sha256 = p.file_sha256 AND el.page_no = p.page_no AND el.line_no = j.value ->> '$[1]'")
    rows = workspace.db.execute(_SIGNER.format(voter=_voter(voter_version, "el"), source=source),
                                (json.dumps([list(x) for x in lines]),))
    return [_signer(r) for r in rows]


def all_signers(workspace: Workspace, voter_version: int | None) -> Iterator[Signer]:
    """Every stored line as the roster reads it, in no particular order."""
    source = "effective_lines el JOIN pages p ON p.file_sha256 = el.file_sha256 AND p.page_no = el.page_no"
    return (_signer(r) for r in workspace.db.execute(_SIGNER.format(voter=_voter(voter_version, "el"), source=source)))


def _signer(row) -> Signer:
    return Signer((int(row[0]), int(row[1])), row[2], row[3], row[4], row[5], row[6], row[7], row[8])


# ---- entries ----

def entries_at(workspace: Workspace, lines: Collection[LineKey]) -> dict[LineKey, Entry]:
    rows = workspace.db.execute(f"SELECT e.entry, e.page_id, e.line_no, e.cluster, {', '.join(KEY_COLUMNS)} FROM"
                                " json_each(?) j JOIN roster_entries e ON e.page_id = j.value ->> '$[0]'"
                                " AND e.line_no = j.value ->> '$[1]'", (json.dumps([list(x) for x in lines]),))
    return {(r[1], r[2]): Entry(r[0], (r[1], r[2]), r[3], tuple(r[4:])) for r in rows}


def entries_by_id(workspace: Workspace, entries: Collection[int]) -> dict[int, Entry]:
    rows = workspace.db.execute(f"SELECT e.entry, e.page_id, e.line_no, e.cluster, {', '.join(KEY_COLUMNS)} FROM"
                                " json_each(?) j JOIN roster_entries e ON e.entry = j.value",
                                (json.dumps(list(entries)),))
    return {r[0]: Entry(r[0], (r[1], r[2]), r[3], tuple(r[4:])) for r in rows}


def insert_entry(workspace: Workspace, line: LineKey, keys: Sequence[int | None]) -> int:
    """A new signer, its own cluster until clustered; its entry id."""
    entry = workspace.db.execute(f"INSERT INTO roster_entries (page_id, line_no, cluster, {', '.join(KEY_COLUMNS)})"
                                 f" VALUES (?, ?, 0, {', '.join('?' * len(KEY_COLUMNS))}) RETURNING entry",
                                 (*line, *keys)).fetchone()[0]
    workspace.db.execute("UPDATE roster_entries SET cluster = entry WHERE entry = ?", (entry,))
    return int(entry)


def update_entry_keys(workspace: Workspace, entry: int, keys: Sequence[int | None]) -> None:
    workspace.db.execute(f"UPDATE roster_entries SET {', '.join(f'{c} = ?' for c in KEY_COLUMNS)} WHERE entry = ?",
                         (*keys, entry))


def delete_entries(workspace: Workspace, entries: Iterable[int]) -> None:
    entries = list(entries)
    workspace.db.executemany("DELETE FROM roster_entries WHERE entry = ?", ((e,) for e in entries))
    delete_names(workspace, entries)


def save_names(workspace: Workspace, names: Iterable[tuple[int, str, str, str]]) -> None:
    """(entry, first, middle, last) of names nameparser had to split."""
    workspace.db.executemany("INSERT OR REPLACE INTO roster_names (entry, first, middle, last) VALUES (?, ?, ?, ?)",
                             names)


def delete_names(workspace: Workspace, entries: Iterable[int]) -> None:
    workspace.db.executemany("DELETE FROM roster_names WHERE entry = ?", ((e,) for e in entries))


def block_members(workspace: Workspace, rule: int, key: int) -> list[int]:
    """Entries whose block key of this rule hashes to `key`."""
    return [int(r[0]) for r in workspace.db.execute(
        f"SELECT entry FROM roster_entries WHERE {KEY_COLUMNS[rule]} = ?", (key,))]


def set_clusters(workspace: Workspace, clusters: Iterable[tuple[int, int]]) -> None:
    """(entry, cluster) per entry."""
    workspace.db.executemany("UPDATE roster_entries SET cluster = ? WHERE entry = ? AND cluster != ?",
                             ((c, e, c) for e, c in clusters))


def occurrences(workspace: Workspace, entries: Collection[int]) -> dict[int, str]:
    rows = workspace.db.execute(f"SELECT e.entry, {_occurrence('p', 'e')} FROM json_each(?) j JOIN roster_entries e"
                                " ON e.entry = j.value JOIN pages p ON p.id = e.page_id", (json.dumps(list(entries)),))
    return {int(r[0]): str(r[1]) for r in rows}


def entries_of_occurrences(workspace: Workspace, lines: Iterable[LineId]) -> dict[str, int]:
    """The entries of these lines (LineId text -> entry) that are on the roster."""
    wanted = json.dumps([[x.file_sha256, x.page_no, x.line_no] for x in lines])
    rows = workspace.db.execute(f"SELECT {_occurrence('p', 'e')}, e.entry FROM json_each(?) j JOIN pages p"
                                " ON p.file_sha256 = j.value ->> '$[0]' AND p.page_no = j.value ->> '$[1]'"
                                " JOIN roster_entries e ON e.page_id = p.id AND e.line_no = j.value ->> '$[2]'",
                                (wanted,))
    return {str(r[0]): int(r[1]) for r in rows}


def cluster_members(workspace: Workspace, clusters: Collection[int]) -> set[int]:
    rows = workspace.db.execute("SELECT e.entry FROM json_each(?) j JOIN roster_entries e ON e.cluster = j.value",
                                (json.dumps(list(clusters)),))
    return {int(r[0]) for r in rows}


# ---- pairs ----

def pairs_touching(workspace: Workspace, entries: Collection[int], *, at_least: float = 0.0) -> list[StoredPair]:
    wanted = json.dumps(list(entries))
    rows = workspace.db.execute(
        "SELECT a, b, score, reasons FROM roster_pairs WHERE a IN (SELECT value FROM json_each(?1)) AND score >= ?2"
        " UNION SELECT a, b, score, reasons FROM roster_pairs WHERE b IN (SELECT value FROM json_each(?1))"
        " AND score >= ?2", (wanted, at_least))
    return [StoredPair(int(r[0]), int(r[1]), float(r[2]), int(r[3])) for r in rows]


def pairs_within(workspace: Workspace, entries: Collection[int]) -> list[StoredPair]:
    wanted = json.dumps(list(entries))
    rows = workspace.db.execute(
        "SELECT a, b, score, reasons FROM roster_pairs WHERE a IN (SELECT value FROM json_each(?1))"
        " AND b IN (SELECT value FROM json_each(?1))", (wanted,))
    return [StoredPair(int(r[0]), int(r[1]), float(r[2]), int(r[3])) for r in rows]


def delete_pairs_touching(workspace: Workspace, entries: Collection[int]) -> None:
    wanted = json.dumps(list(entries))
    workspace.db.execute("DELETE FROM roster_pairs WHERE a IN (SELECT value FROM json_each(?1))"
                         " OR b IN (SELECT value FROM json_each(?1))", (wanted,))


def delete_pairs(workspace: Workspace, pairs: Iterable[tuple[int, int]]) -> None:
    workspace.db.executemany("DELETE FROM roster_pairs WHERE a = ? AND b = ?", pairs)


def save_pairs(workspace: Workspace, pairs: Iterable[StoredPair]) -> None:
    workspace.db.executemany("INSERT OR REPLACE INTO roster_pairs (a, b, score, reasons) VALUES (?, ?, ?, ?)",
                             ((p.a, p.b, p.score, p.reasons) for p in pairs))


# ---- a full rebuild ----

def replace_roster(workspace: Workspace, entries: Iterable[tuple], pairs: Iterable[tuple[int, int, float, int]],
                   names: Iterable[tuple[int, str, str, str]]) -> None:
    """Everything anew: entries as (entry, page_id, line_no, cluster, k0..k8), pairs as (a, b, score, reasons),
    names as save_names takes them.
    In the caller's transaction; the indexes are dropped during the bulk insert and built once after it."""
    db = workspace.db
    for name in _INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {name}")
    db.execute("DELETE FROM roster_entries")
    db.execute("DELETE FROM roster_pairs")
    db.execute("DELETE FROM roster_dirty")
    db.execute("DELETE FROM roster_names")
    db.execute("DELETE FROM roster_rows")  # the caller renders them anew
    save_names(workspace, names)
    db.executemany(f"INSERT INTO roster_entries (entry, page_id, line_no, cluster, {', '.join(KEY_COLUMNS)})"
                   f" VALUES (?, ?, ?, ?, {', '.join('?' * len(KEY_COLUMNS))})", entries)
    db.executemany("INSERT INTO roster_pairs (a, b, score, reasons) VALUES (?, ?, ?, ?)", pairs)
    for name, target in _INDEXES.items():
        db.execute(f"CREATE INDEX {name} ON {target}")


# ---- readers ----

def counts(workspace: Workspace) -> tuple[int, int, int]:
    """(signers, clusters, clusters of more than one)."""
    row = workspace.db.execute("SELECT count(*), count(*) FILTER (WHERE n > 0), count(*) FILTER (WHERE n > 1) FROM"
                               " (SELECT count(*) AS n FROM roster_entries GROUP BY cluster)").fetchone()
    signers = workspace.db.execute("SELECT count(*) FROM roster_entries").fetchone()[0]
    return int(signers), int(row[1]), int(row[2])


def cluster_of_occurrences(workspace: Workspace) -> dict[str, int]:
    """Every signer's occurrence and its cluster."""
    rows = workspace.db.execute(f"SELECT {_occurrence('p', 'e')}, e.cluster FROM roster_entries e"
                                " JOIN pages p ON p.id = e.page_id")
    return {str(r[0]): int(r[1]) for r in rows}


def pairs_across(workspace: Workspace, touching: Collection[int] | None = None) -> list[tuple[str, str, float, int]]:
    """Stored pairs whose entries are in different clusters (those with an entry among `touching`, when given), as
    (occurrence, occurrence, score, reasons)."""
    pairs = "roster_pairs r"
    if touching is not None:
        pairs = ("(SELECT * FROM roster_pairs WHERE a IN (SELECT value FROM json_each(?1)) UNION"
                 " SELECT * FROM roster_pairs WHERE b IN (SELECT value FROM json_each(?1))) r")
    rows = workspace.db.execute(
        f"SELECT {_occurrence('pa', 'x')}, {_occurrence('pb', 'y')}, r.score, r.reasons FROM {pairs}"
        " JOIN roster_entries x ON x.entry = r.a JOIN roster_entries y ON y.entry = r.b"
        " JOIN pages pa ON pa.id = x.page_id JOIN pages pb ON pb.id = y.page_id WHERE x.cluster != y.cluster",
        () if touching is None else (json.dumps(sorted(touching)),))
    return [(str(r[0]), str(r[1]), float(r[2]), int(r[3])) for r in rows]


def clusters_of(workspace: Workspace, entries: Collection[int]) -> set[int]:
    """The clusters these entries are in now."""
    rows = workspace.db.execute("SELECT DISTINCT e.cluster FROM json_each(?) j JOIN roster_entries e"
                                " ON e.entry = j.value", (json.dumps(sorted(entries)),))
    return {int(r[0]) for r in rows}


def partners(workspace: Workspace, entries: Collection[int]) -> set[int]:
    """The entries paired (any stored score) with one of these."""
    return {x for pair in pairs_touching(workspace, entries) for x in (pair.a, pair.b)}


# ---- the rendered rows (pipeline/roster_rows.py) ----

def replace_rows(workspace: Workspace, clusters: Collection[int] | None, rows: Iterable[Sequence[object]]) -> None:
    """The rows of these clusters (every row when None) replaced by `rows`: (cluster, *ROW_COLUMNS) each. Each is
    kept with its CSV line too (csv_line)."""
    if clusters is None:
        workspace.db.execute("DELETE FROM roster_rows")
    else:
        workspace.db.execute("DELETE FROM roster_rows WHERE cluster IN (SELECT value FROM json_each(?))",
                             (json.dumps(sorted(clusters)),))
    workspace.db.executemany(f"INSERT INTO roster_rows (cluster, {', '.join(ROW_COLUMNS)}, csv)"
                             f" VALUES ({', '.join('?' * (len(ROW_COLUMNS) + 2))})",
                             ((*row, csv_line(row[1:-1])) for row in rows))


def csv_line(values: Sequence[object]) -> str:
    """A row's CSV line (without its line end): text cells as csv_cell writes them, numbers as csv.writer does."""
    return ",".join(csv_cell(v) if isinstance(v, str) else str(v) for v in values)


def stored_rows(workspace: Workspace, columns: Sequence[str]) -> Iterator[tuple]:
    """The stored rows' values of these columns (of ROW_COLUMNS), in roster order (by cluster)."""
    unknown = set(columns) - set(ROW_COLUMNS)
    if unknown:
        raise ValueError(f"not roster columns: {sorted(unknown)}")
    cursor = workspace.db.cursor()
    cursor.row_factory = None
    yield from cursor.execute(f"SELECT {', '.join(columns)} FROM roster_rows ORDER BY cluster")


class Constant(NamedTuple):
    """A cell with the same text on every row (a CRM profile's constant column)."""

    value: str


def csv_lines(workspace: Workspace, cells: Sequence[str | Constant], *, batch: int = 8192) -> Iterator[list[str]]:
    """The stored rows as CSV lines (without their line end), in roster order and in batches; `cells` each a column
    of ROW_COLUMNS or a Constant.

    Each text cell is neutralised as spreadsheet.neutralise does (a leading formula trigger gets an apostrophe),
    then quoted as Python's csv.writer quotes with its default dialect and a newline line end (a comma, a double
    quote or a newline: in double quotes, double quotes doubled); tests/pipeline/test_roster_store.py holds the two
    byte for byte equal. The roster's own columns are the line stored with the row (a million lines are copied,
    not built); other choices of columns (a CRM profile's) are written by SQLite, a pass in C."""
    stored_line = {ROW_COLUMNS[:-1]: "csv", ROW_COLUMNS: f"csv || ',' || {_csv_sql('voter_id')}"}.get(tuple(cells))
    parts = []
    for cell in cells:
        if isinstance(cell, Constant):
            parts.append(_sql_text(csv_cell(cell.value)))
        elif cell in NUMBER_ROW_COLUMNS:
            parts.append(f"CAST({cell} AS TEXT)")
        elif cell in ROW_COLUMNS:
            parts.append(_csv_sql(cell))
        else:
            raise ValueError(f"not a roster column: {cell}")
    cursor = workspace.db.cursor()
    cursor.row_factory = None
    line = stored_line or " || ',' || ".join(parts)
    rows = cursor.execute(f"SELECT {line} FROM roster_rows ORDER BY cluster")
    while chunk := rows.fetchmany(batch):
        yield [r[0] for r in chunk]


FORMULA_TRIGGERS = spreadsheet.FORMULA_TRIGGERS  # what csv_lines neutralises in SQL as neutralise does in Python
_CSV_SPECIAL = (",", '"', "\n")  # what makes csv.writer quote a cell (with "\n" line ends)


def csv_cell(value: str) -> str:
    """One text cell as csv_lines writes it: neutralised, then quoted when csv.writer would."""
    value = str(spreadsheet.neutralise(value))
    if any(c in value for c in _CSV_SPECIAL):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_sql(column: str) -> str:
    """SQL: csv_cell of the column's text."""
    triggers = ", ".join(f"char({ord(c)})" for c in FORMULA_TRIGGERS)
    safe = f"(CASE WHEN substr({column}, 1, 1) IN ({triggers}) THEN '''' || {column} ELSE {column} END)"
    special = " OR ".join(f"instr({safe}, char({ord(c)}))" for c in _CSV_SPECIAL)
    return f"(CASE WHEN {special} THEN '\"' || replace({safe}, '\"', '\"\"') || '\"' ELSE {safe} END)"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def members(workspace: Workspace, voter_version: int | None, clusters: Collection[int] | None = None
            ) -> Iterator[Member]:
    """Every signer (of these clusters, when given) with what the roster shows of it, cluster by cluster (by the
    entry of each cluster's first occurrence, then entry): one query whose rows are used as they come.

    The lines are read in their table's order and sorted by (cluster, entry) in SQLite's sorter: integer keys,
    no B-tree walk per row (pages, files and the kept name parts are looked up in small dicts instead). A cluster's
    entries are then in the order the signers were folded in: occurrence order after a rebuild (entries are
    numbered so), a later arrival after the others (export sorts a cluster's few members itself).

    Values are the effective_lines view's (migration 6): the machine's for lines nobody decided on (most), the
    view's own for the few a decision names; tests/pipeline/test_roster_store.py holds the two equal."""
    pages = {int(r[0]): (str(r[1]), int(r[2]), str(r[3])) for r in workspace.db.execute(
        "SELECT p.id, p.file_sha256, p.page_no, f.name FROM pages p JOIN files f ON f.sha256 = p.file_sha256")}
    kept = {int(r[0]): (r[1], r[2], r[3]) for r in workspace.db.execute("SELECT entry, first, middle, last FROM"
                                                                          " roster_names")}
    decided = {(int(r[0]), int(r[1])): tuple(r[2:]) for r in workspace.db.execute(
        "SELECT p.id, el.line_no, el.name, el.address, el.zip, el.email, el.human_confirmed, el.needs_review FROM"
        " (SELECT DISTINCT file_sha256, page_no, line_no FROM decisions) d JOIN effective_lines el"
        " ON el.file_sha256 = d.file_sha256 AND el.page_no = d.page_no AND el.line_no = d.line_no"
        " JOIN pages p ON p.file_sha256 = el.file_sha256 AND p.page_no = el.page_no")}
    voters = _voters_decided(workspace, voter_version)
    machine = ("''" if voter_version is None else
               f"coalesce((SELECT vm.voter_id FROM voter_matches vm WHERE vm.version = {int(voter_version)} AND"
               " vm.file_sha256 = p.file_sha256 AND vm.page_no = p.page_no AND vm.line_no = l.line_no), '')")
    # the view's needs_review for a line nobody decided on: the machine's, unless the voter file answers it
    review = "l.needs_review" if voter_version is None else f"l.needs_review AND NOT {closed_by_voter_file()}"
    pages_join = "" if voter_version is None else " JOIN pages p ON p.id = l.page_id"
    cursor = workspace.db.cursor()
    cursor.row_factory = None  # plain tuples: a million rows
    # All of them: the lines in table order, joined to their entries. Some clusters: their entries first.
    source = ("lines l CROSS JOIN roster_entries e ON e.page_id = l.page_id AND e.line_no = l.line_no"
              if clusters is None else "json_each(?) j JOIN roster_entries e ON e.cluster = j.value"
              " JOIN lines l ON l.page_id = e.page_id AND l.line_no = e.line_no")
    rows = cursor.execute(
        "SELECT e.cluster, e.entry, l.page_id, l.line_no, l.name, l.name_confidence,"
        " coalesce(json_extract(l.fields, '$.address'), ''), coalesce(json_extract(l.fields, '$.zip'), ''),"
        f" coalesce(json_extract(l.fields, '$.email'), ''), {review}, {machine} FROM {source}{pages_join}"
        " ORDER BY e.cluster, e.entry", () if clusters is None else (json.dumps(sorted(clusters)),))
    for cluster, entry, page_id, line_no, name, confidence, address, zip_code, email, review, voter in rows:
        sha, page_no, file_name = pages[page_id]
        confirmed = 0
        if decided and (page_id, line_no) in decided:
            name, address, zip_code, email, confirmed, review = decided[page_id, line_no]
        if voters and (page_id, line_no) in voters:
            voter = voters[page_id, line_no]
        first, middle, last = kept.get(entry, (None, None, None))
        yield Member(entry, cluster, f"line:{sha}:{page_no}:{line_no}", file_name, page_no, line_no, name,
                     float(confidence), address, zip_code, email, int(confirmed), int(review), voter, first, middle,
                     last)


def _voters_decided(workspace: Workspace, version: int | None) -> dict[LineKey, str]:
    """Per line a person gave a match verdict on, the effective voter for this version (store/matches:
    a voter of this version, else '')."""
    if version is None:
        return {}
    rows = workspace.db.execute(
        "SELECT p.id, md.line_no, md.voter_id, EXISTS (SELECT 1 FROM voters v WHERE v.version = ?"
        " AND v.voter_id = md.voter_id) FROM match_decisions md JOIN pages p ON p.file_sha256 = md.file_sha256"
        " AND p.page_no = md.page_no ORDER BY md.id", (version,))
    return {(int(r[0]), int(r[1])): (str(r[2]) if r[2] and r[3] else "") for r in rows}


@dataclass(frozen=True)
class LineCounts:
    lines: int
    by_status: dict[str, int]  # effective status -> lines
    to_review: int
    human_decided: int
    voter_confirmed: int = 0  # lines the machine asked about whose question the voter file answers, no person yet


def line_counts(workspace: Workspace) -> LineCounts:
    """Lines per effective status, those waiting for a person, those a person decided and those the voter file
    answered. Two aggregates: lines nobody decided anything on (most of them: their machine values are the effective
    ones, one index seek each), and the effective_lines view over the few lines some decision names."""
    undecided = workspace.db.execute(
        f"SELECT l.status, count(*), coalesce(sum(l.needs_review AND NOT closed), 0), 0,"
        f" coalesce(sum(l.needs_review AND closed), 0) FROM (SELECT l.*, {closed_by_voter_file()} AS closed"
        " FROM lines l JOIN pages p ON p.id = l.page_id"
        " WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.file_sha256 = p.file_sha256 AND d.page_no = p.page_no"
        " AND d.line_no = l.line_no)) l GROUP BY l.status").fetchall()
    decided = workspace.db.execute(
        "SELECT el.status, count(*), coalesce(sum(el.needs_review), 0), coalesce(sum(el.human_confirmed), 0),"
        " coalesce(sum(el.voter_confirmed AND NOT el.human_confirmed), 0) FROM"
        " (SELECT DISTINCT file_sha256, page_no, line_no FROM decisions) d JOIN effective_lines el"
        " ON el.file_sha256 = d.file_sha256 AND el.page_no = d.page_no AND el.line_no = d.line_no"
        " GROUP BY el.status").fetchall()
    by_status: dict[str, int] = {}
    for row in [*undecided, *decided]:
        by_status[str(row[0])] = by_status.get(str(row[0]), 0) + int(row[1])
    rows = [*undecided, *decided]
    return LineCounts(sum(by_status.values()), by_status, sum(int(r[2]) for r in rows), sum(int(r[3]) for r in rows),
                      sum(int(r[4]) for r in rows))
