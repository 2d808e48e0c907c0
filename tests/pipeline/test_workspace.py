"""The workspace with a real SQLite file: idempotent adds, content keys, resume after SIGKILL, human decisions
that survive re-reads, migrations, append-only decisions, crops by opaque id."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import pipeline.store.workspace as store_module
from pipeline.add import add_paths
from pipeline.batch import ReadJob
from pipeline.store import MIGRATIONS, Workspace, WorkspaceError
from scanner.read import ReadSettings
from tests.pipeline.conftest import BAD_FILES
from tests.support import PETITION, SCANS, child_pids

pytestmark = pytest.mark.slow

JOB = ReadJob(settings=ReadSettings(keep_crops=True))
TWO_SHEETS = ("seed_clean.png", "stacked_scan.png")


@pytest.fixture()
def scans(tmp_path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in TWO_SHEETS:
        shutil.copy(SCANS / name, folder / name)
    return folder


@pytest.fixture()
def workspace(tmp_path):
    opened = Workspace.open(tmp_path / "ws")
    yield opened
    opened.close()


def snapshot(path: Path) -> list[tuple]:
    """Everything the machine stored per line, in a stable order (what must equal between two runs)."""
    connection = sqlite3.connect(path / "workspace.sqlite")
    try:
        return connection.execute(
            "SELECT f.sha256, p.page_no, p.status, l.line_no, l.status, l.name, l.name_confidence, l.needs_review,"
            " l.review_reasons, l.fields, l.line_crop, l.name_crop, l.signature_crop FROM lines l"
            " JOIN pages p ON p.id = l.page_id JOIN files f ON f.sha256 = p.file_sha256 ORDER BY 1, 2, 4").fetchall()
    finally:
        connection.close()


def test_adding_the_same_scans_twice_adds_nothing(workspace, scans):
    first = add_paths(workspace, [scans], job=JOB)
    before = snapshot(workspace.root)
    second = add_paths(workspace, [scans], job=JOB)
    assert [f.status for f in first.files] == ["new", "new"]
    assert [f.status for f in second.files] == ["already added", "already added"]
    assert second.pages == []
    assert snapshot(workspace.root) == before
    assert len(before) == 15 + 8


def test_a_renamed_copy_is_recognised_by_content(workspace, scans, tmp_path):
    add_paths(workspace, [scans / "seed_clean.png"], job=JOB)
    renamed = tmp_path / "box-7-sheet-1.png"
    shutil.copy(scans / "seed_clean.png", renamed)
    report = add_paths(workspace, [renamed], job=JOB)
    assert report.files[0].status == "already added"
    names = {r[0] for r in workspace.db.execute("SELECT name FROM file_names")}
    assert names == {"seed_clean.png", "box-7-sheet-1.png"}
    assert workspace.db.execute("SELECT count(*) FROM pages").fetchone()[0] == 1


def test_crops_are_stored_once_and_served_by_opaque_id_only(workspace, scans):
    add_paths(workspace, [scans / "seed_clean.png"], job=JOB)
    crop_ids = [r[0] for r in workspace.db.execute("SELECT line_crop FROM lines")]
    assert len(crop_ids) == 15 and all(crop_ids)
    path = workspace.crop_path(crop_ids[0])
    assert path.is_file() and path.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG
    for bad in ("../workspace.sqlite", "a" * 31, "/etc/passwd", "ZZ" * 16):
        with pytest.raises(WorkspaceError):
            workspace.crop_path(bad)


def test_a_human_decision_survives_a_re_read_with_a_newer_pipeline(workspace, scans, monkeypatch):
    from pipeline.export import effective_lines

    add_paths(workspace, [scans / "seed_clean.png"], job=JOB)
    sha = workspace.db.execute("SELECT sha256 FROM files").fetchone()[0]
    workspace.record_decision(file_sha256=sha, page_no=1, line_no=2, field="name", value="Mariam Traoré",
                              decided_by="vol1")
    workspace.record_decision(file_sha256=sha, page_no=1, line_no=4, field="status", value="struck", decided_by="vol1")
    monkeypatch.setattr(store_module, "PIPELINE_VERSION", "999.0")
    report = add_paths(workspace, [scans / "seed_clean.png"], job=JOB)
    assert [p.ref.page for p in report.pages] == [1]  # read again: the pipeline is newer
    assert workspace.db.execute("SELECT pipeline_version FROM pages").fetchone()[0] == "999.0"
    lines = effective_lines(workspace).set_index("line")
    assert lines.loc[2, "name"] == "Mariam Traoré" and bool(lines.loc[2, "human_confirmed"])
    assert lines.loc[4, "status"] == "struck"
    assert not bool(lines.loc[2, "needs_review"])
    assert workspace.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 2


def test_decisions_are_append_only_and_record_before_and_after(workspace, scans):
    add_paths(workspace, [scans / "seed_clean.png"], job=JOB)
    sha = workspace.db.execute("SELECT sha256 FROM files").fetchone()[0]
    machine_name = workspace.effective_value(sha, 1, 3, "name")
    workspace.record_decision(file_sha256=sha, page_no=1, line_no=3, field="name", value="Imani Vargas", decided_by="a")
    workspace.record_decision(file_sha256=sha, page_no=1, line_no=3, field="name", value="Imani Vargas-Ruiz", decided_by="b")
    rows = workspace.db.execute("SELECT previous, value, decided_by FROM decisions ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(machine_name, "Imani Vargas", "a"), ("Imani Vargas", "Imani Vargas-Ruiz", "b")]
    for statement in ("UPDATE decisions SET value = 'x'", "DELETE FROM decisions"):
        with pytest.raises(sqlite3.DatabaseError):
            workspace.db.execute(statement)
    with pytest.raises(WorkspaceError):
        workspace.record_decision(file_sha256=sha, page_no=1, line_no=3, field="needs_review", value="0", decided_by="a")


def test_a_workspace_of_the_first_schema_is_migrated_without_losing_anything(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    connection = sqlite3.connect(root / "workspace.sqlite")
    connection.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    connection.execute("INSERT INTO files VALUES ('f' || hex(randomblob(31)), 'a.pdf', 1, 'pdf', 1, 'ok', '', 'then')")
    sha = connection.execute("SELECT sha256 FROM files").fetchone()[0]
    connection.execute("INSERT INTO decisions (file_sha256, page_no, line_no, field, value, previous, decided_by,"
                       " decided_at) VALUES (?, 1, 1, 'name', 'Ann Lee', '', 'v', 'then')", (sha,))
    connection.commit()
    connection.close()
    migrated = Workspace.open(root)
    try:
        assert migrated.schema_version == len(MIGRATIONS)
        assert migrated.effective_value(sha, 1, 1, "name") == "Ann Lee"
        migrated.record_duplicate_decision("b:1:1", "a:1:1", same=False, decided_by="v")
        assert migrated.duplicate_decisions() == {frozenset({"a:1:1", "b:1:1"}): False}
    finally:
        migrated.close()


def test_a_workspace_from_a_newer_petition_is_refused(tmp_path):
    root = tmp_path / "future"
    Workspace.open(root).close()
    connection = sqlite3.connect(root / "workspace.sqlite")
    connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    connection.close()
    with pytest.raises(WorkspaceError):
        Workspace.open(root)


def test_bad_files_get_a_status_and_good_pages_are_kept(workspace, bad_dir, good_file):
    report = add_paths(workspace, [bad_dir, good_file], job=JOB)
    by_name = {f.name: f for f in report.files}
    for name, expected in BAD_FILES.items():
        outcome = by_name[name]
        statuses = {outcome.status} | {p.status.value for p in outcome.pages}
        assert expected.value in statuses, name
    assert [p.status.value for p in by_name[good_file.name].pages] == ["ok"]
    assert workspace.db.execute("SELECT count(*) FROM lines").fetchone()[0] == 15
    assert not report.all_read


def _pages_saved(root: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{root / 'workspace.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            return connection.execute("SELECT count(*) FROM pages").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def _wait_for(condition, *, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


@pytest.mark.parametrize("victim", ["main", "worker"])
def test_killed_with_sigkill_mid_batch_then_rerun_equals_an_uninterrupted_run(tmp_path, victim):
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("seed_clean.png", "seed_skewed.png", "stacked_scan.png", "ballot_batch.pdf"):
        shutil.copy(SCANS / name, scans / name)
    command = [str(PETITION), "add", str(scans), "--workers", "2", "--workspace"]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen(command + [str(killed)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: _pages_saved(killed) >= 1)
    if victim == "main":
        workers = child_pids(process.pid)
        process.send_signal(signal.SIGKILL)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    else:
        _wait_for(lambda: bool(child_pids(process.pid)))
        os.kill(child_pids(process.pid)[0], signal.SIGKILL)
    process.communicate(timeout=300)
    assert _pages_saved(killed) >= 1
    finished = subprocess.run(command + [str(killed)], env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    clean = tmp_path / "clean"
    subprocess.run(command + [str(clean)], env=env, capture_output=True, text=True, timeout=300, check=True)
    assert snapshot(killed) == snapshot(clean)
    assert len(snapshot(clean)) == 15 + 15 + 8 + 36
    statuses = sqlite3.connect(killed / "workspace.sqlite").execute("SELECT DISTINCT status FROM files").fetchall()
    assert statuses == [("ok",)]


def test_cli_add_status_and_export(tmp_path, scans):
    ws = tmp_path / "ws"
    added = subprocess.run([str(PETITION), "add", str(scans), "-w", str(ws)], capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    status = subprocess.run([str(PETITION), "status", "-w", str(ws)], capture_output=True, text=True)
    assert status.returncode == 0
    assert "pages      2 (ok 2)" in status.stdout
    assert "lines      23" in status.stdout
    missing = subprocess.run([str(PETITION), "status", "-w", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode != 0
    assert "not a workspace" in missing.stderr + missing.stdout
    assert not (tmp_path / "nowhere").exists()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_the_same_command_continues(tmp_path, scans):
    shutil.copy(SCANS / "seed_skewed.png", scans / "seed_skewed.png")
    shutil.copy(SCANS / "ballot_batch.pdf", scans / "ballot_batch.pdf")
    ws = tmp_path / "ws"
    command = [str(PETITION), "add", str(scans), "--workers", "2", "-w", str(ws)]
    # A shell without job control starts a background job (`make test &`) with SIGINT ignored, children inherit
    # that, and a Python started so never raises KeyboardInterrupt: give the command Ctrl-C as a terminal would.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=_default_sigint)
    _wait_for(lambda: _pages_saved(ws) >= 1)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group gets SIGINT
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "interrupted" in out and "Traceback" not in err
    saved = _pages_saved(ws)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _pages_saved(ws) == 6 > saved or saved == 6


# The effective_lines view and the migrations that made it: machine rows written directly, no reading needed.

SHA = "ab" * 32


def _machine_line(workspace: Workspace, line_no: int, *, name: str = "Ann Lee", status: str = "signed",
                  zip_code: str = "02139", needs_review: bool = True, sha: str = SHA) -> None:
    """One line as the machine stored it (on page 1 of the file `sha`)."""
    with workspace.transaction() as db:
        db.execute("INSERT OR IGNORE INTO files (sha256, name, size, kind, page_count, status, added_at)"
                   " VALUES (?, 'a.pdf', 1, 'pdf', 1, 'ok', 'then')", (sha,))
        db.execute("INSERT OR IGNORE INTO pages (file_sha256, page_no, status, pipeline_version, read_at)"
                   " VALUES (?, 1, 'ok', 'v', 'then')", (sha,))
        page_id = db.execute("SELECT id FROM pages WHERE file_sha256 = ?", (sha,)).fetchone()[0]
        db.execute("INSERT INTO lines (page_id, line_no, status, name, name_confidence, needs_review, review_reasons,"
                   " fields) VALUES (?, ?, ?, ?, 0.5, ?, 'LOW_NAME_CONFIDENCE', ?)",
                   (page_id, line_no, status, name, int(needs_review), f'{{"zip": "{zip_code}", "ward": "3"}}'))


def _decide(workspace: Workspace, line_no: int, field: str, value: str) -> None:
    workspace.record_decision(file_sha256=SHA, page_no=1, line_no=line_no, field=field, value=value, decided_by="v")


def test_the_effective_lines_view_gives_the_human_decision_over_the_machine_value(workspace):
    from pipeline.export import effective_lines
    from pipeline.store import LineId, lines, review

    _machine_line(workspace, 1)
    _machine_line(workspace, 2, name="Bo Chen")
    _decide(workspace, 1, "name", "Anne Lee")
    _decide(workspace, 1, "name", "Anna Lee")  # the latest decision wins
    _decide(workspace, 1, "zip", "02140")
    _decide(workspace, 1, "status", "struck")
    line_1, line_2 = LineId(SHA, 1, 1), LineId(SHA, 1, 2)
    view = {r["line_id"]: dict(r) for r in workspace.db.execute("SELECT * FROM effective_lines")}
    assert set(view) == {str(line_1), str(line_2)}  # the view's line ids are LineId's text form
    decided, machine = view[str(line_1)], view[str(line_2)]
    assert (decided["name"], decided["zip"], decided["status"], decided["ward"]) == ("Anna Lee", "02140", "struck", "3")
    assert (decided["human_confirmed"], decided["needs_review"]) == (1, 0)
    assert (machine["name"], machine["zip"], machine["status"]) == ("Bo Chen", "02139", "signed")
    assert (machine["human_confirmed"], machine["needs_review"]) == (0, 1)
    # Every reader sees the same: typed rows, one field, exports, the queue.
    assert lines.get_line(workspace, line_1).name == "Anna Lee"
    assert workspace.effective_value(SHA, 1, 1, "zip") == "02140"
    exported = effective_lines(workspace).set_index("line")
    assert (exported.loc[1, "name"], exported.loc[1, "zip"], bool(exported.loc[1, "human_confirmed"])) == (
        "Anna Lee", "02140", True)
    assert exported.loc[1, "occurrence"] == str(line_1)
    assert review.open_lines(workspace) == {line_2}


def test_an_undone_confirmation_reopens_the_line_in_the_view(workspace):
    from pipeline.store import LineId, review

    _machine_line(workspace, 1)
    _decide(workspace, 1, "status", "blank")
    _decide(workspace, 1, "reviewed", "yes")
    assert not review.is_open(workspace, LineId(SHA, 1, 1))
    _decide(workspace, 1, "status", "signed")  # what an undo appends: the values before, "reviewed" back to ""
    _decide(workspace, 1, "reviewed", "")
    row = workspace.db.execute("SELECT status, human_confirmed, needs_review FROM effective_lines").fetchone()
    assert tuple(row) == ("signed", 0, 1)
    assert review.is_open(workspace, LineId(SHA, 1, 1))


def test_the_view_has_a_column_for_every_field_a_person_decides():
    from dataclasses import fields

    from pipeline.store import DECIDABLE_FIELDS, EffectiveLine
    from scanner.types import TEXT_ROLES

    columns = {f.name for f in fields(EffectiveLine)}
    assert DECIDABLE_FIELDS <= columns and {r.value for r in TEXT_ROLES} <= DECIDABLE_FIELDS


def _workspace_at(root: Path, version: int) -> sqlite3.Connection:
    """A workspace folder whose database has the first `version` migrations only."""
    root.mkdir()
    connection = sqlite3.connect(root / "workspace.sqlite", isolation_level=None)
    for migration in MIGRATIONS[:version]:
        connection.executescript(migration)
    connection.execute(f"PRAGMA user_version = {version}")
    return connection


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
def test_a_workspace_of_every_earlier_schema_opens_and_reads_through_the_view(tmp_path, version):
    connection = _workspace_at(tmp_path / "ws", version)
    connection.close()
    migrated = Workspace.open(tmp_path / "ws", create=False)
    try:
        assert migrated.schema_version == len(MIGRATIONS)
        _machine_line(migrated, 1)
        _decide(migrated, 1, "name", "Anna Lee")
        assert migrated.db.execute("SELECT name FROM effective_lines").fetchone()[0] == "Anna Lee"
        tables = {r[0] for r in migrated.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"review_failed_logins", "review_devices", "review_leases", "duplicate_decisions"} <= tables
    finally:
        migrated.close()


def test_opening_a_workspace_whose_voter_indexes_are_rebuilt_says_so_first(tmp_path, caplog, monkeypatch):
    """Migration 13 rebuilds the name indexes of every voter (44 s for a million): the pause is announced, with
    the number of records, before it starts; a workspace with few voters opens without a word."""
    from pipeline.store import workspace as module
    from pipeline.store.migrations import REBUILDS_VOTER_INDEXES

    rebuild = min(REBUILDS_VOTER_INDEXES)
    for name, voters in (("few", 2), ("many", 3)):
        connection = _workspace_at(tmp_path / name, rebuild)
        connection.execute("INSERT INTO voter_files (version, source, sha256, columns, state, imported_by,"
                           " imported_at) VALUES (1, 'v.csv', '', '', 'loaded', 'me', '2026-12-01')")
        for number in range(voters):
            connection.execute("INSERT INTO voters VALUES (1, ?, ?, 'ANN', '', 'LEE', '', '', '', '', NULL, 'ann',"
                               " 'lee', '', '', '', '', '')", (str(number), number + 2))
        connection.close()
    monkeypatch.setattr(module, "ANNOUNCE_REBUILD_VOTERS", 3)
    with caplog.at_level("WARNING", logger="pipeline.store.workspace"):
        Workspace.open(tmp_path / "few", create=False).close()
        assert not caplog.records
        Workspace.open(tmp_path / "many", create=False).close()
    assert [r.getMessage() for r in caplog.records] == [
        "upgrading this workspace: rebuilding the indexes of its 3 voter records, once (about 1 s)"]


def test_a_workspace_of_the_first_review_tables_gains_the_later_ones(tmp_path):
    """Migration 3 grew after it shipped (failed logins, devices); migration 4 adds them where it ran first."""
    connection = _workspace_at(tmp_path / "ws", 3)
    connection.executescript("DROP TABLE review_failed_logins; DROP TABLE review_devices;"
                             " DROP INDEX pages_by_read_at;")
    connection.close()
    migrated = Workspace.open(tmp_path / "ws", create=False)
    try:
        names = {r[0] for r in migrated.db.execute("SELECT name FROM sqlite_master")}
        assert {"review_failed_logins", "review_devices", "pages_by_read_at", "review_failed_logins_by_device"} <= names
    finally:
        migrated.close()


def test_duplicate_verdicts_of_the_old_occurrence_ids_are_named_by_line_id(tmp_path):
    """Before migration 5 a pair named its lines "<16 hex of the hash>:<page>:<line>"; the verdicts keep working."""
    other = "cd" * 32
    connection = _workspace_at(tmp_path / "ws", 4)
    for sha in (SHA, other):
        connection.execute("INSERT INTO files VALUES (?, 'a.pdf', 1, 'pdf', 1, 'ok', '', 'then')", (sha,))
    verdicts = [(f"{SHA[:16]}:1:2", f"{other[:16]}:1:10", 0), ("a:1:1", "b:1:1", 1), (f"{SHA[:16]}:1:2", "zz:1:1", 1)]
    for a, b, same in verdicts:
        connection.execute("INSERT INTO duplicate_decisions (occurrence_a, occurrence_b, same, decided_by, decided_at)"
                           " VALUES (?, ?, ?, 'v', 'then')", (a, b, same))
    connection.execute("INSERT INTO review_leases VALUES (?, 'rita', 1, 2)", (f"dup:{verdicts[0][0]}|{verdicts[0][1]}",))
    connection.close()
    migrated = Workspace.open(tmp_path / "ws", create=False)
    try:
        assert migrated.duplicate_decisions() == {
            frozenset({f"line:{SHA}:1:2", f"line:{other}:1:10"}): False,
            frozenset({"a:1:1", "b:1:1"}): True,  # names no stored file matches are kept as they were
            frozenset({f"line:{SHA}:1:2", "zz:1:1"}): True}
        assert migrated.db.execute("SELECT count(*) FROM review_leases").fetchone()[0] == 0
        with pytest.raises(sqlite3.DatabaseError):  # still append-only
            migrated.db.execute("UPDATE duplicate_decisions SET same = 1")
    finally:
        migrated.close()
