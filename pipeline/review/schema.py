"""The review app's tables, applied as workspace migration 3 (pipeline/store.py).

IF NOT EXISTS throughout: workspaces set up before it was a migration (by ensure_review_schema) migrate cleanly,
and tables added here later (review_failed_logins, review_devices) appear in workspaces already at version 3,
because ensure_review_schema runs this script again at every app start. review_login_failures is no longer
written (the throttle in auth.py replaced it); it stays so that no existing workspace loses a table.
"""

REVIEW_MIGRATION = """
CREATE TABLE IF NOT EXISTS review_users (
    name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer')),
    disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS review_sessions (
    token_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES review_users(name), csrf TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS review_login_failures (
    user_name TEXT NOT NULL, ip TEXT NOT NULL, failures INTEGER NOT NULL, last_failed_at REAL NOT NULL,
    PRIMARY KEY (user_name, ip));
CREATE TABLE IF NOT EXISTS review_failed_logins (
    id INTEGER PRIMARY KEY, user_name TEXT NOT NULL, address TEXT NOT NULL, device TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS review_failed_logins_by_name ON review_failed_logins (user_name, at);
CREATE INDEX IF NOT EXISTS review_failed_logins_by_address ON review_failed_logins (address, at);
CREATE INDEX IF NOT EXISTS review_failed_logins_by_device ON review_failed_logins (device, at);
CREATE TABLE IF NOT EXISTS review_devices (
    token_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS review_leases (
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
