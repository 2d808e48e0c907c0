"""The campaign workspace: one SQLite database plus a folder of crops named by their content.

Machine results (files, pages, lines) are rewritten when a page is read again with a newer pipeline;
human decisions live in their own append-only table, keyed by (file hash, page, line) so they survive
every re-read, and win on export. Schema changes are numbered migrations (migrations.py, PRAGMA user_version).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.store.migrations import MIGRATIONS, SCHEMA_VERSION
from scanner import PIPELINE_VERSION
from scanner.types import LineCrops, PageResult

DATABASE = "workspace.sqlite"
CROPS = "crops"

DECIDABLE_FIELDS = frozenset({"status", "name", "address", "zip", "date", "email", "ward", "reviewed"})


class WorkspaceError(Exception):
    """The workspace cannot be used as asked (newer schema, not a workspace, ...)."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    name: str
    page_count: int
    status: str


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def occurrence_id(file_sha256: str, page_no: int, line_no: int) -> str:
    """The stable id of one physical line: the file's content, not its name."""
    return f"{file_sha256[:16]}:{page_no}:{line_no}"


class Workspace:
    """A campaign's database and crops. Open with `Workspace.open(path)`; one per process."""

    def __init__(self, root: Path, connection: sqlite3.Connection) -> None:
        self.root = root
        self.db = connection
        self._depth = 0  # transactions open on this connection: 1 = BEGIN IMMEDIATE, more = savepoints in it
        self._durable = False  # whether the outermost one commits with synchronous=FULL

    @classmethod
    def open(cls, root: Path, *, create: bool = True) -> Workspace:
        """Open (or create) a workspace folder and bring its schema up to date."""
        root = Path(root)
        if not (root / DATABASE).exists() and not create:
            raise WorkspaceError(f"{root} is not a workspace (no {DATABASE}); run 'petition add' first")
        (root / CROPS).mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(root / DATABASE, timeout=30, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA synchronous=NORMAL")
        workspace = cls(root, connection)
        workspace.migrate()
        return workspace

    def close(self) -> None:
        self.db.close()

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, *, target: int = SCHEMA_VERSION) -> None:
        """Apply the missing migrations, each in its own transaction."""
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise WorkspaceError(f"the workspace has schema {current}; this petition knows {SCHEMA_VERSION}: upgrade it")
        for version in range(current, target):
            # One script per migration, schema and version number in the same transaction.
            try:
                self.db.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[version]}; PRAGMA user_version = {version + 1}; COMMIT;")
            except sqlite3.Error:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT; `durable` makes this commit survive power loss (human work).

        Inside another transaction it becomes a SAVEPOINT of that one: a helper that writes "in a transaction"
        (record_decision, ...) is then one step of its caller's, and nothing of it is committed before the
        caller's COMMIT. That is what makes a reviewer's verdict all-or-nothing (pipeline/review/queue.py).
        """
        if self._depth:
            # SQLite refuses to change `synchronous` inside a transaction, so durability is the outer one's.
            if durable and not self._durable:
                raise WorkspaceError("a durable write inside a transaction that was not begun durable")
            yield from self._savepoint()
            return
        if durable:
            self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("BEGIN IMMEDIATE")
        self._depth, self._durable = 1, durable
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth, self._durable = 0, False
            if durable:
                self.db.execute("PRAGMA synchronous=NORMAL")

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        name = f"nested_{self._depth}"
        self.db.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self.db
        except BaseException:
            self.db.execute(f"ROLLBACK TO {name}")
            self.db.execute(f"RELEASE {name}")
            raise
        else:
            self.db.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    # Files and pages -------------------------------------------------------------------------------

    def file(self, sha256: str) -> StoredFile | None:
        row = self.db.execute("SELECT sha256, name, page_count, status FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return StoredFile(row["sha256"], row["name"], row["page_count"], row["status"]) if row else None

    def add_file(self, *, sha256: str, name: str, size: int, kind: str, page_count: int, status: str,
                 message: str = "") -> None:
        """Record a file once (by content); a renamed copy only adds the name it was seen under."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO files (sha256, name, size, kind, page_count, status, message, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                (sha256, name, size, kind, page_count, status, message, now()))
            self.db.execute("INSERT OR IGNORE INTO file_names (sha256, name, seen_at) VALUES (?, ?, ?)",
                            (sha256, name, now()))

    def set_file_status(self, sha256: str, status: str, message: str = "") -> None:
        with self.transaction():
            self.db.execute("UPDATE files SET status = ?, message = ? WHERE sha256 = ?", (status, message, sha256))

    def pages_done(self, sha256: str) -> set[int]:
        """Pages of a file already read by this pipeline version (so a resumed run skips them)."""
        rows = self.db.execute("SELECT page_no FROM pages WHERE file_sha256 = ? AND pipeline_version = ?",
                               (sha256, PIPELINE_VERSION))
        return {int(r[0]) for r in rows}

    def save_page(self, file_sha256: str, result: PageResult) -> None:
        """Store one page's reading atomically: crops first (content-named files), then the rows."""
        crops = [self._save_crops(c) for c in result.crops] if result.crops else [("", "", "")] * len(result.lines)
        with self.transaction():
            page_id = self.db.execute(
                "INSERT INTO pages (file_sha256, page_no, page_sha256, status, message, pipeline_version, seconds,"
                " orientation, skew_deg, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (file_sha256, page_no) DO UPDATE SET page_sha256 = excluded.page_sha256,"
                " status = excluded.status, message = excluded.message, pipeline_version = excluded.pipeline_version,"
                " seconds = excluded.seconds, orientation = excluded.orientation, skew_deg = excluded.skew_deg,"
                " read_at = excluded.read_at RETURNING id",
                (file_sha256, result.ref.page, result.sha256, result.status.value, result.message, PIPELINE_VERSION,
                 result.seconds, result.orientation, result.skew_deg, now())).fetchone()[0]
            self.db.execute("DELETE FROM lines WHERE page_id = ?", (page_id,))
            self.db.executemany(
                "INSERT INTO lines (page_id, line_no, status, name, name_confidence, needs_review, review_reasons,"
                " fields, line_crop, name_crop, signature_crop) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(page_id, line.line, line.status.value, line.name.text, line.name.confidence, int(line.needs_review),
                  ";".join(r.value for r in line.review_reasons),
                  json.dumps({role.value: read.text for role, read in line.fields.items()}, sort_keys=True), *crop)
                 for line, crop in zip(result.lines, crops)])

    def _save_crops(self, crops: LineCrops) -> tuple[str, str, str]:
        return self.save_crop(crops.line), self.save_crop(crops.name), self.save_crop(crops.signature)

    def save_crop(self, image: bytes) -> str:
        """Write an image once under its content hash (temp name, then rename); return its opaque id."""
        if not image:
            return ""
        crop_id = hashlib.sha256(image).hexdigest()[:32]
        path = self.crop_path(crop_id)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
            partial.write_bytes(image)
            partial.replace(path)
        return crop_id

    def crop_path(self, crop_id: str) -> Path:
        """Crops are found by opaque id only; anything else than 32 hex digits is refused."""
        if len(crop_id) != 32 or any(c not in "0123456789abcdef" for c in crop_id):
            raise WorkspaceError("not a crop id")
        return self.root / CROPS / crop_id[:2] / f"{crop_id}.jpg"

    # Human decisions -------------------------------------------------------------------------------

    def record_decision(self, *, file_sha256: str, page_no: int, line_no: int, field: str, value: str,
                        decided_by: str) -> int:
        """Append one human decision (who, when, before, after); written with synchronous=FULL. Returns its id."""
        if field not in DECIDABLE_FIELDS:
            raise WorkspaceError(f"'{field}' is not a field a reviewer can decide")
        with self.transaction(durable=True):
            # Read under the write lock: "previous" is then the value this decision really replaced.
            previous = self.effective_value(file_sha256, page_no, line_no, field)
            return int(self.db.execute(
                "INSERT INTO decisions (file_sha256, page_no, line_no, field, value, previous, decided_by, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (file_sha256, page_no, line_no, field, value, previous, decided_by, now())).fetchone()[0])

    def record_duplicate_decision(self, a: str, b: str, *, same: bool, decided_by: str) -> None:
        first, second = sorted((a, b))
        with self.transaction(durable=True):
            self.db.execute(
                "INSERT INTO duplicate_decisions (occurrence_a, occurrence_b, same, decided_by, decided_at)"
                " VALUES (?, ?, ?, ?, ?)", (first, second, int(same), decided_by, now()))

    def duplicate_decisions(self) -> dict[frozenset[str], bool]:
        """The latest human verdict per pair of occurrences."""
        rows = self.db.execute("SELECT occurrence_a, occurrence_b, same FROM duplicate_decisions ORDER BY id")
        return {frozenset((r[0], r[1])): bool(r[2]) for r in rows}

    def effective_value(self, file_sha256: str, page_no: int, line_no: int, field: str) -> str:
        """The latest human value of a field, else the machine's."""
        row = self.db.execute(
            "SELECT value FROM decisions WHERE file_sha256 = ? AND page_no = ? AND line_no = ? AND field = ?"
            " ORDER BY id DESC LIMIT 1", (file_sha256, page_no, line_no, field)).fetchone()
        if row:
            return str(row[0])
        machine = self.db.execute(
            "SELECT l.status, l.name, l.fields FROM lines l JOIN pages p ON p.id = l.page_id"
            " WHERE p.file_sha256 = ? AND p.page_no = ? AND l.line_no = ?", (file_sha256, page_no, line_no)).fetchone()
        if machine is None:
            return ""
        if field in ("status", "name"):
            return str(machine[field])
        return str(json.loads(machine["fields"]).get(field, ""))
