"""The campaign workspace: one SQLite database plus a folder of crops named by their content.

Machine results (files, pages, lines) are rewritten when a page is read again with a newer pipeline;
human decisions live in their own append-only table, keyed by (file hash, page, line) so they survive
every re-read, and win wherever a line is read (the effective_lines view). Schema changes are numbered
migrations (migrations.py, PRAGMA user_version).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.store import decisions, files, lines
from pipeline.store.base import DECIDABLE_FIELDS, WorkspaceError
from pipeline.store.files import Crops, StoredFile
from pipeline.store.ids import LineId
from pipeline.store.migrations import MIGRATIONS, REBUILDS_VOTER_INDEXES, SCHEMA_VERSION
from scanner import PIPELINE_VERSION
from scanner.types import LineCrops, PageResult

DATABASE = "workspace.sqlite"
CROPS = "crops"


def occurrence_id(file_sha256: str, page_no: int, line_no: int) -> str:
    """The stable id of one physical line (the file's content, not its name): LineId's text form."""
    return str(LineId(file_sha256, page_no, line_no))


log = logging.getLogger(__name__)
ANNOUNCE_REBUILD_VOTERS = 100_000  # fewer rebuild within a few seconds: nothing to say
REBUILD_SECONDS_PER_MILLION = 45  # measured: migration 13 on 1M voters, 44 s (2 cores, shared)


class Workspace:
    """A campaign's database and crops. Open with `Workspace.open(path)`; one per process (one per thread in the app).

    The SQL is in this package's modules, each a function of the workspace; they read `db` at every call."""

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
            if version in REBUILDS_VOTER_INDEXES:
                self._announce_voter_index_rebuild()
            # One script per migration, schema and version number in the same transaction.
            try:
                self.db.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[version]}; PRAGMA user_version = {version + 1}; COMMIT;")
            except sqlite3.Error:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def _announce_voter_index_rebuild(self) -> None:
        """A warning (on stderr from the CLI: logging's last-resort handler) before a long index rebuild."""
        voters = int(self.db.execute("SELECT count(*) FROM voters").fetchone()[0])
        if voters >= ANNOUNCE_REBUILD_VOTERS:
            log.warning("upgrading this workspace: rebuilding the indexes of its %s voter records, once "
                        "(about %d s)", f"{voters:,}", max(1, round(REBUILD_SECONDS_PER_MILLION * voters / 1e6)))

    @contextmanager
    def page_cache(self, mib: int) -> Iterator[None]:
        """SQLite's page cache raised to `mib` MiB for bulk work (a voter import, a matching run), then put back.
        With the default 2 MiB, a million voters inserted into five indexes in random key order spill and re-read
        index pages all along, and matching reads the same index pages again chunk after chunk."""
        before = int(self.db.execute("PRAGMA cache_size").fetchone()[0])
        self.db.execute(f"PRAGMA cache_size = {-1024 * int(mib)}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA cache_size = {before}")

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
        return files.get_file(self, sha256)

    def add_file(self, *, sha256: str, name: str, size: int, kind: str, page_count: int, status: str,
                 message: str = "") -> None:
        """Record a file once (by content); a renamed copy only adds the name it was seen under."""
        with self.transaction():
            files.add_file(self, sha256=sha256, name=name, size=size, kind=kind, page_count=page_count,
                           status=status, message=message)

    def set_file_status(self, sha256: str, status: str, message: str = "") -> None:
        with self.transaction():
            files.set_file_status(self, sha256, status, message)

    def pages_done(self, sha256: str) -> set[int]:
        """Pages of a file already read by this pipeline version (so a resumed run skips them)."""
        return files.pages_read_by(self, sha256, PIPELINE_VERSION)

    def page_statuses(self, file_sha256: str) -> list[str]:
        """The statuses of the file's stored pages (whether the file is read whole, and well)."""
        return files.page_statuses(self, file_sha256)

    def save_page(self, file_sha256: str, result: PageResult) -> None:
        """Store one page's reading atomically: crops first (content-named files), then the rows."""
        crops = [self._save_crops(c) for c in result.crops] if result.crops else [("", "", "")] * len(result.lines)
        with self.transaction():
            files.save_page(self, file_sha256, result, crops, version=PIPELINE_VERSION)

    def _save_crops(self, crops: LineCrops) -> Crops:
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
            return decisions.append_decision(self, LineId(file_sha256, page_no, line_no), field, value,
                                             previous=previous, decided_by=decided_by)

    def record_duplicate_decision(self, a: str, b: str, *, same: bool, decided_by: str) -> None:
        """Same or different people on two occurrences (LineId texts); written with synchronous=FULL."""
        with self.transaction(durable=True):
            decisions.append_duplicate_decision(self, a, b, same=same, decided_by=decided_by)

    def duplicate_decisions(self) -> dict[frozenset[str], bool]:
        """The latest human verdict per pair of occurrences."""
        return decisions.duplicate_verdicts(self)

    def effective_value(self, file_sha256: str, page_no: int, line_no: int, field: str) -> str:
        """The latest human value of a field, else the machine's (the effective_lines view)."""
        if field not in DECIDABLE_FIELDS:
            raise WorkspaceError(f"'{field}' is not a field a reviewer can decide")
        line = LineId(file_sha256, page_no, line_no)
        value = lines.effective_value(self, line, field)
        if value is None:  # no stored page holds the line (not read yet, or not any more): only people said anything
            value = decisions.latest_decision_value(self, line, field)
        return value or ""


def ensure_review_schema(workspace: Workspace) -> None:
    """The review tables exist once the workspace is open (they are migrations 3 and 4); kept for its callers."""
    workspace.migrate()
