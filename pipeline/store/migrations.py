"""Every schema change of the workspace, numbered: MIGRATIONS[N] moves a workspace from version N to N+1.

The version is SQLite's PRAGMA user_version; Workspace.migrate applies what a workspace lacks, each migration in
its own transaction. Never edit a migration that has shipped (workspaces out there ran its text): append one.
"""

from __future__ import annotations

# 1: files, pages, lines, and the append-only human decisions
_CORE = """
CREATE TABLE files (
    sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL, kind TEXT NOT NULL,
    page_count INTEGER NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL);
CREATE TABLE file_names (sha256 TEXT NOT NULL REFERENCES files(sha256), name TEXT NOT NULL,
    seen_at TEXT NOT NULL, PRIMARY KEY (sha256, name));
CREATE TABLE pages (
    id INTEGER PRIMARY KEY, file_sha256 TEXT NOT NULL REFERENCES files(sha256), page_no INTEGER NOT NULL,
    page_sha256 TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
    pipeline_version TEXT NOT NULL, seconds REAL NOT NULL DEFAULT 0, orientation INTEGER NOT NULL DEFAULT 0,
    skew_deg REAL NOT NULL DEFAULT 0, read_at TEXT NOT NULL, UNIQUE (file_sha256, page_no));
CREATE TABLE lines (
    id INTEGER PRIMARY KEY, page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL, status TEXT NOT NULL, name TEXT NOT NULL, name_confidence REAL NOT NULL,
    needs_review INTEGER NOT NULL, review_reasons TEXT NOT NULL, fields TEXT NOT NULL,
    line_crop TEXT NOT NULL DEFAULT '', name_crop TEXT NOT NULL DEFAULT '',
    signature_crop TEXT NOT NULL DEFAULT '', UNIQUE (page_id, line_no));
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, file_sha256 TEXT NOT NULL, page_no INTEGER NOT NULL,
    line_no INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, previous TEXT NOT NULL,
    decided_by TEXT NOT NULL, decided_at TEXT NOT NULL);
CREATE INDEX decisions_by_line ON decisions (file_sha256, page_no, line_no);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
"""

# 2: human verdicts on possible duplicates (pairs of occurrences), append-only too
_DUPLICATES = """
CREATE TABLE duplicate_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, occurrence_a TEXT NOT NULL, occurrence_b TEXT NOT NULL,
    same INTEGER NOT NULL, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL,
    CHECK (occurrence_a < occurrence_b));
CREATE TRIGGER duplicate_decisions_no_update BEFORE UPDATE ON duplicate_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER duplicate_decisions_no_delete BEFORE DELETE ON duplicate_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE INDEX lines_to_review ON lines (needs_review);
"""

# The login throttle's tables, added to migration 3 after it shipped; migration 4 adds them again (IF NOT EXISTS)
# for workspaces that ran migration 3's first text.
_LOGIN_THROTTLE = """CREATE TABLE IF NOT EXISTS review_failed_logins (
    id INTEGER PRIMARY KEY, user_name TEXT NOT NULL, address TEXT NOT NULL, device TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS review_failed_logins_by_name ON review_failed_logins (user_name, at);
CREATE INDEX IF NOT EXISTS review_failed_logins_by_address ON review_failed_logins (address, at);
CREATE INDEX IF NOT EXISTS review_failed_logins_by_device ON review_failed_logins (device, at);
CREATE TABLE IF NOT EXISTS review_devices (
    token_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
"""

# 3: the review app's accounts, sessions, leases, action log and upload batches. IF NOT EXISTS throughout:
# workspaces whose review tables an app start made before this was a migration migrate cleanly.
# review_login_failures is no longer written (the throttle in review/auth.py replaced it); it stays so that no
# workspace loses a table. This text grew after it shipped (failed logins, devices, pages_by_read_at), which
# app starts used to apply by running it again; migration 4 now does that once.
REVIEW_MIGRATION = f"""
CREATE TABLE IF NOT EXISTS review_users (
    name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer')),
    disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS review_sessions (
    token_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES review_users(name), csrf TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS review_login_failures (
    user_name TEXT NOT NULL, ip TEXT NOT NULL, failures INTEGER NOT NULL, last_failed_at REAL NOT NULL,
    PRIMARY KEY (user_name, ip));
{_LOGIN_THROTTLE}CREATE TABLE IF NOT EXISTS review_leases (
    item TEXT PRIMARY KEY, holder TEXT NOT NULL, claimed_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS review_leases_by_holder ON review_leases (holder, expires_at);
CREATE TABLE IF NOT EXISTS review_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL, user_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('decide', 'skip', 'undo', 'duplicate')), detail TEXT NOT NULL DEFAULT '',
    decision_ids TEXT NOT NULL DEFAULT '[]', undoes INTEGER, at REAL NOT NULL, day TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS review_actions_by_item ON review_actions (item, id);
CREATE INDEX IF NOT EXISTS review_actions_by_user ON review_actions (user_name, day, kind);
CREATE TRIGGER IF NOT EXISTS review_actions_no_update BEFORE UPDATE ON review_actions
    BEGIN SELECT RAISE(ABORT, 'review actions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS review_actions_no_delete BEFORE DELETE ON review_actions
    BEGIN SELECT RAISE(ABORT, 'review actions are append-only'); END;
CREATE TABLE IF NOT EXISTS review_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_by TEXT NOT NULL, created_at TEXT NOT NULL, state TEXT NOT NULL,
    pages_done INTEGER NOT NULL DEFAULT 0, pages_total INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS review_batch_files (
    batch_id INTEGER NOT NULL REFERENCES review_batches(id), name TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, PRIMARY KEY (batch_id, name));
CREATE INDEX IF NOT EXISTS review_queue_order ON lines (needs_review, name_confidence);
-- max(read_at) is part of the stamp that tells the review caches a page was read again (queue._LINES_STAMP)
CREATE INDEX IF NOT EXISTS pages_by_read_at ON pages (read_at);
"""

# 4: what migration 3 gained after it shipped, for workspaces that ran its first text and were never opened by
# an app start since (which ran migration 3 again to add them).
_REVIEW_ADDITIONS = f"""
{_LOGIN_THROTTLE}CREATE INDEX IF NOT EXISTS pages_by_read_at ON pages (read_at);
"""


def _line_id_of(occurrence: str) -> str:
    """SQL: the line id ("line:<sha256>:<page>:<line>") of an occurrence named the old way ("<16 hex>:<page>:
    <line>"), by the stored file whose hash starts so; the old name when no stored file does."""
    old = "[0-9a-f]" * 16 + ":[0-9]*:[0-9]*"
    return (f"coalesce((SELECT 'line:' || f.sha256 || substr({occurrence}, 17) FROM files f"
            f" WHERE {occurrence} GLOB '{old}' AND f.sha256 >= substr({occurrence}, 1, 16)"
            f" AND f.sha256 < substr({occurrence}, 1, 16) || 'g' ORDER BY f.sha256 LIMIT 1), {occurrence})")


# 5: one text form for a line (pipeline/store/ids.py LineId), the one review items already had. Duplicate verdicts
# named their lines by a 16-digit hash prefix: rewritten here, the one time a line is found by a prefix. Both of a
# pair are rewritten in one statement (CHECK a < b holds before and after: the new names sort as the old ones).
# Pair leases named them too: they last minutes and are dropped (the pair is offered again). review_actions keep
# the old names of pairs as history (append-only, and nothing reads a pair's name back from them).
_LINE_IDS = f"""
DROP TRIGGER duplicate_decisions_no_update;
UPDATE duplicate_decisions
    SET occurrence_a = min({_line_id_of('occurrence_a')}, {_line_id_of('occurrence_b')}),
        occurrence_b = max({_line_id_of('occurrence_a')}, {_line_id_of('occurrence_b')});
CREATE TRIGGER duplicate_decisions_no_update BEFORE UPDATE ON duplicate_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
DELETE FROM review_leases WHERE item LIKE 'dup:%';
"""


def _latest(field: str) -> str:
    """SQL: the latest human value of `field` for the line `l` of page `p` (NULL when nobody decided it)."""
    return ("(SELECT d.value FROM decisions d WHERE d.file_sha256 = p.file_sha256 AND d.page_no = p.page_no"
            f" AND d.line_no = l.line_no AND d.field = '{field}' ORDER BY d.id DESC LIMIT 1)")


# A person confirmed the line: some decision exists and their last word on "reviewed" (if any) was not "" (an undo
# restores it to ""). The queue offers what needs review and is not confirmed. Most lines have no decision: CASE
# stops there after one index seek.
_CONFIRMED = ("CASE WHEN EXISTS (SELECT 1 FROM decisions d WHERE d.file_sha256 = p.file_sha256 AND d.page_no = p.page_no"
              f" AND d.line_no = l.line_no) THEN coalesce({_latest('reviewed')} != '', 1) ELSE 0 END")

def _effective_lines_view(*, closed_by_voter_file: str = "") -> str:
    """SQL: the effective_lines view; `closed_by_voter_file` (from migration 12) a condition under which the voter
    file answers what the machine asked a person, shown as the view's column voter_confirmed."""
    voter = f" AND NOT {closed_by_voter_file}" if closed_by_voter_file else ""
    column = f"\n    {closed_by_voter_file} AS voter_confirmed," if closed_by_voter_file else ""
    return f"""CREATE VIEW effective_lines AS SELECT
    'line:' || p.file_sha256 || ':' || p.page_no || ':' || l.line_no AS line_id,
    p.file_sha256, f.name AS file, p.page_no, l.line_no,
    coalesce({_latest('status')}, l.status) AS status,
    coalesce({_latest('name')}, l.name) AS name,
    l.name_confidence, l.review_reasons,
    coalesce({_latest('address')}, json_extract(l.fields, '$.address'), '') AS address,
    coalesce({_latest('zip')}, json_extract(l.fields, '$.zip'), '') AS zip,
    coalesce({_latest('date')}, json_extract(l.fields, '$.date'), '') AS date,
    coalesce({_latest('email')}, json_extract(l.fields, '$.email'), '') AS email,
    coalesce({_latest('ward')}, json_extract(l.fields, '$.ward'), '') AS ward,
    coalesce({_latest('reviewed')}, '') AS reviewed,
    ({_CONFIRMED}) AS human_confirmed,
    l.needs_review = 1 AND NOT ({_CONFIRMED}){voter} AS needs_review,{column}
    l.line_crop, l.name_crop, l.signature_crop
FROM lines l JOIN pages p ON p.id = l.page_id JOIN files f ON f.sha256 = p.file_sha256;
"""


# 6: effective_lines, the one place where a human decision beats the machine: every stored line, each decidable
# field the latest human value if any, else the machine's. Export, status, the review queue and the duplicates read
# it. Flattened into each query by SQLite, so a column nobody selects costs nothing; decisions_latest answers each
# field's latest value with one index seek.
_EFFECTIVE_LINES = f"""
CREATE INDEX decisions_latest ON decisions (file_sha256, page_no, line_no, field, id);
{_effective_lines_view()}"""

# 7: how a page read with a form's blank sheet lined up with it (the share of the sheet's print found on the page,
# 0 when it did not line up; NULL when no blank sheet was used)
_REGISTRATION = "ALTER TABLE pages ADD COLUMN registration REAL;"

# 8: named forms kept in the workspace (their files in forms/, <name>.toml and its blank sheet <name>.png; the
# hash says which text was stored), and the form an upload batch is read with (NULL: the automatic layout)
_FORMS = """
CREATE TABLE forms (name TEXT PRIMARY KEY, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
    sha256 TEXT NOT NULL);
ALTER TABLE review_batches ADD COLUMN form TEXT;
"""

# 9: voter files (each import a new version; the newest loaded one is in force, older ones are kept), their
# voters with the name keys matching blocks on, the rows an import skipped or noted, the machine's match of each
# line per version (rewritten when its inputs change: `basis`), and the human verdicts on matches (append-only,
# by voter_id, '' = "not on the file"), which beat the machine's.
_VOTERS = """
CREATE TABLE voter_files (
    version INTEGER PRIMARY KEY, source TEXT NOT NULL, sha256 TEXT NOT NULL, columns TEXT NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0, bad_rows INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('loading', 'loaded')), imported_by TEXT NOT NULL, imported_at TEXT NOT NULL);
CREATE TABLE voters (
    version INTEGER NOT NULL REFERENCES voter_files(version), voter_id TEXT NOT NULL, source_line INTEGER NOT NULL,
    first_name TEXT NOT NULL, middle_name TEXT NOT NULL, last_name TEXT NOT NULL, address TEXT NOT NULL,
    city TEXT NOT NULL, zip TEXT NOT NULL, ward TEXT NOT NULL, birth_year INTEGER,
    key_first TEXT NOT NULL, key_last TEXT NOT NULL, k_phonetic TEXT NOT NULL, k_prefix TEXT NOT NULL,
    k_tail TEXT NOT NULL, k_whole TEXT NOT NULL, k_zip TEXT NOT NULL, UNIQUE (version, voter_id));
CREATE INDEX voters_by_phonetic ON voters (version, k_phonetic);
CREATE INDEX voters_by_prefix ON voters (version, k_prefix);
CREATE INDEX voters_by_tail ON voters (version, k_tail);
CREATE INDEX voters_by_whole ON voters (version, k_whole);
CREATE INDEX voters_by_zip ON voters (version, k_zip);
CREATE TABLE voter_file_problems (
    version INTEGER NOT NULL REFERENCES voter_files(version), source_line INTEGER NOT NULL, skipped INTEGER NOT NULL,
    message TEXT NOT NULL);
CREATE TABLE voter_matches (
    version INTEGER NOT NULL REFERENCES voter_files(version), file_sha256 TEXT NOT NULL, page_no INTEGER NOT NULL,
    line_no INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('matched', 'ambiguous', 'not_found', 'review')),
    voter_id TEXT NOT NULL, score REAL NOT NULL, candidates TEXT NOT NULL, basis TEXT NOT NULL,
    matched_at TEXT NOT NULL, PRIMARY KEY (version, file_sha256, page_no, line_no));
CREATE TABLE match_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, file_sha256 TEXT NOT NULL, page_no INTEGER NOT NULL,
    line_no INTEGER NOT NULL, voter_id TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL);
CREATE INDEX match_decisions_by_line ON match_decisions (file_sha256, page_no, line_no, id);
CREATE TRIGGER match_decisions_no_update BEFORE UPDATE ON match_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER match_decisions_no_delete BEFORE DELETE ON match_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
"""

# 10: the roster kept in the store (pipeline/roster.py, store/roster.py), so that status and export read it instead
# of clustering every signer again. One row per signer (a signed line with a name: its page id and line number),
# its cluster (the entry of the cluster's first occurrence), and per blocking rule of dedupe.block_keys a 47-bit
# hash of its block key (NULL: in no block of that rule), each indexed so a block's members are one seek away;
# the scored pairs that clustering reads (score >= possible, reasons as bits); the display parts of the few
# names nameparser must split (a millisecond each: an export of a million rows cannot afford them); the lines whose reading or voter
# match changed since they were folded in (filled by the triggers below, once the roster was built); and the
# watermark: the last line, duplicate and match decision folded in, and the voter-file version.
_ROSTER = """
CREATE TABLE roster_entries (
    entry INTEGER PRIMARY KEY, page_id INTEGER NOT NULL, line_no INTEGER NOT NULL, cluster INTEGER NOT NULL,
    k0 INTEGER, k1 INTEGER, k2 INTEGER, k3 INTEGER, k4 INTEGER, k5 INTEGER, k6 INTEGER, k7 INTEGER, k8 INTEGER,
    UNIQUE (page_id, line_no));
CREATE INDEX roster_by_cluster ON roster_entries (cluster);
CREATE INDEX roster_k0 ON roster_entries (k0);
CREATE INDEX roster_k1 ON roster_entries (k1);
CREATE INDEX roster_k2 ON roster_entries (k2);
CREATE INDEX roster_k3 ON roster_entries (k3);
CREATE INDEX roster_k4 ON roster_entries (k4);
CREATE INDEX roster_k5 ON roster_entries (k5);
CREATE INDEX roster_k6 ON roster_entries (k6);
CREATE INDEX roster_k7 ON roster_entries (k7);
CREATE INDEX roster_k8 ON roster_entries (k8);
CREATE TABLE roster_pairs (
    a INTEGER NOT NULL, b INTEGER NOT NULL, score REAL NOT NULL, reasons INTEGER NOT NULL, PRIMARY KEY (a, b),
    CHECK (a < b)) WITHOUT ROWID;
CREATE INDEX roster_pairs_by_b ON roster_pairs (b);
CREATE TABLE roster_names (
    entry INTEGER PRIMARY KEY, first TEXT NOT NULL, middle TEXT NOT NULL, last TEXT NOT NULL);
CREATE TABLE roster_dirty (page_id INTEGER NOT NULL, line_no INTEGER NOT NULL, PRIMARY KEY (page_id, line_no))
    WITHOUT ROWID;
CREATE TABLE roster_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), built INTEGER NOT NULL DEFAULT 0,
    decision_id INTEGER NOT NULL DEFAULT 0, duplicate_id INTEGER NOT NULL DEFAULT 0,
    match_decision_id INTEGER NOT NULL DEFAULT 0, voter_version INTEGER NOT NULL DEFAULT 0,
    rebuilds INTEGER NOT NULL DEFAULT 0, updates INTEGER NOT NULL DEFAULT 0, rescored INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '');
INSERT INTO roster_state (id) VALUES (1);
CREATE TRIGGER roster_line_added AFTER INSERT ON lines WHEN (SELECT built FROM roster_state WHERE id = 1)
    BEGIN INSERT OR IGNORE INTO roster_dirty VALUES (NEW.page_id, NEW.line_no); END;
CREATE TRIGGER roster_line_removed AFTER DELETE ON lines WHEN (SELECT built FROM roster_state WHERE id = 1)
    BEGIN INSERT OR IGNORE INTO roster_dirty VALUES (OLD.page_id, OLD.line_no); END;
CREATE TRIGGER roster_match_added AFTER INSERT ON voter_matches WHEN (SELECT built FROM roster_state WHERE id = 1)
    BEGIN INSERT OR IGNORE INTO roster_dirty SELECT id, NEW.line_no FROM pages
        WHERE file_sha256 = NEW.file_sha256 AND page_no = NEW.page_no; END;
CREATE TRIGGER roster_match_changed AFTER UPDATE ON voter_matches
    WHEN (SELECT built FROM roster_state WHERE id = 1) AND NEW.voter_id IS NOT OLD.voter_id
    BEGIN INSERT OR IGNORE INTO roster_dirty SELECT id, NEW.line_no FROM pages
        WHERE file_sha256 = NEW.file_sha256 AND page_no = NEW.page_no; END;
CREATE TRIGGER roster_match_dropped AFTER DELETE ON voter_matches WHEN (SELECT built FROM roster_state WHERE id = 1)
    BEGIN INSERT OR IGNORE INTO roster_dirty SELECT id, OLD.line_no FROM pages
        WHERE file_sha256 = OLD.file_sha256 AND page_no = OLD.page_no; END;
"""

# 11: the roster's rows as export shows them, one per cluster (pipeline/roster_rows.py renders them when a fold or a
# rebuild touches the cluster), each also as its CSV line (every column but voter_id, neutralised and quoted): an
# export of a million signers copies finished lines instead of building each again.
# A roster stored before this is marked unbuilt, so the next status or export rebuilds it with its rows.
_ROSTER_ROWS = """
CREATE TABLE roster_rows (
    cluster INTEGER PRIMARY KEY, signer_id TEXT NOT NULL, name TEXT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, occurrences INTEGER NOT NULL, sources TEXT NOT NULL, source_states TEXT NOT NULL,
    address TEXT NOT NULL, zip TEXT NOT NULL, email TEXT NOT NULL, auto_accepted INTEGER NOT NULL,
    human_confirmed INTEGER NOT NULL, needs_review TEXT NOT NULL, possible_duplicates INTEGER NOT NULL,
    middle_name TEXT NOT NULL, voter_id TEXT NOT NULL, csv TEXT NOT NULL);
UPDATE roster_state SET built = 0;
"""



def closed_by_voter_file(line: str = "l", page: str = "p") -> str:
    """SQL: the voter file answers what the machine asked about the line `line` of page `page`. The machine's only
    doubt was the name's spelling (review_reasons exactly LOW_NAME_CONFIDENCE: nothing about the signature, the
    layout or a strike-out), and the line is matched, in the voter file in force, to a voter whose name the crop's
    pixels explain best among the look-alikes (match.py: >= 99% precise by bench_voters): the latest person's verdict
    if any (a voter of that file; '' is "not on the file" and reopens it), else the machine's match. The signer is
    known; what the sheet spells stays the reading in rows.csv. Migration 12's text: a change is a new migration
    (store/roster.py computes the same thing for lines nobody decided on). The effective-voter rule is the one
    store/roster.py's _voter writes for a given version; it is spelled out here, not imported, because a
    migration's text must never change with that module."""
    version = "(SELECT max(version) FROM voter_files WHERE state = 'loaded')"

    def same_line(alias: str) -> str:
        return (f"{alias}.file_sha256 = {page}.file_sha256 AND {alias}.page_no = {page}.page_no"
                f" AND {alias}.line_no = {line}.line_no")

    return (f"({line}.review_reasons = 'LOW_NAME_CONFIDENCE' AND coalesce("
            f"(SELECT md.voter_id != '' AND EXISTS (SELECT 1 FROM voters v WHERE v.version = {version}"
            f" AND v.voter_id = md.voter_id) FROM match_decisions md WHERE {same_line('md')} ORDER BY md.id DESC LIMIT 1),"
            f" EXISTS (SELECT 1 FROM voter_matches vm WHERE vm.version = {version} AND {same_line('vm')}"
            " AND vm.status = 'matched')))")


# 12: a line whose only doubt was its name's spelling is closed while the voter file in force matches it
# (closed_by_voter_file): volunteers are asked what neither the machine nor the voter file can answer. A stored
# roster's rows say which of their lines need review: marked unbuilt, so the next status or export rebuilds them.
_CLOSED_BY_VOTER_FILE = f"""
DROP VIEW effective_lines;
{_effective_lines_view(closed_by_voter_file=closed_by_voter_file())}UPDATE roster_state SET built = 0;
"""

# 13: the voters' name-key indexes carry the name fields matching prefilters on (pipeline/store/voters.py,
# lookup), so a lookup reads the index alone, in its order: no row fetched from the table per voter, no sort for
# the GROUP BY. Measured on 1M voters, 500 lines' keys: 2.4 s of lookups became 0.8 s.
_COVERING_NAME_KEYS = """
DROP INDEX voters_by_phonetic;
CREATE INDEX voters_by_phonetic ON voters (version, k_phonetic, k_whole, key_first, key_last, first_name);
DROP INDEX voters_by_prefix;
CREATE INDEX voters_by_prefix ON voters (version, k_prefix, k_whole, key_first, key_last, first_name);
DROP INDEX voters_by_tail;
CREATE INDEX voters_by_tail ON voters (version, k_tail, k_whole, key_first, key_last, first_name);
DROP INDEX voters_by_whole;
CREATE INDEX voters_by_whole ON voters (version, k_whole, key_first, key_last, first_name);
"""

MIGRATIONS: tuple[str, ...] = (_CORE, _DUPLICATES, REVIEW_MIGRATION, _REVIEW_ADDITIONS, _LINE_IDS, _EFFECTIVE_LINES,
                               _REGISTRATION, _FORMS, _VOTERS, _ROSTER, _ROSTER_ROWS, _CLOSED_BY_VOTER_FILE,
                               _COVERING_NAME_KEYS)
SCHEMA_VERSION = len(MIGRATIONS)
# Migrations that rebuild indexes over every voter: on a big voter file they run for a while (about 45 s per
# million voters), so opening an older workspace says why it pauses.
REBUILDS_VOTER_INDEXES = frozenset({MIGRATIONS.index(_COVERING_NAME_KEYS)})
