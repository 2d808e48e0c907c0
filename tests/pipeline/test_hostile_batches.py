"""Hostile batches: file names that are not UTF-8, FIFOs and devices given as scans, batches where nothing
can be read, corrupt files whose messages must not show Python internals, and pool workers that must die
with the process that made them. Every test runs the real `petition` command in a subprocess (a real
terminal encoding, a real kill -9), under a timeout so that a regression fails instead of hanging."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from pipeline.batch import ReadJob, read_one
from pipeline.cli import EXIT_NOTHING, EXIT_OK
from scanner.types import PageRef, PageStatus
from tests.support import PETITION, SCANS, child_pids

# What a user must never see: a traceback, an exception class, a library's source file.
PYTHON_INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception|Warning)\b|\.py\b|site-packages|<class ")
REPLACED = "\N{REPLACEMENT CHARACTER}"
TIMEOUT_S = 120


def _petition(*args: object, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """The real command, with the bytes it prints decoded strictly: a surrogate or a bad byte fails here."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "LC_ALL": "C.UTF-8"}
    done = subprocess.run([str(PETITION), *map(os.fsencode, map(str, args))], capture_output=True, env=env,
                          timeout=timeout, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8"),
                                       done.stderr.decode("utf-8"))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _non_utf8(folder: Path, raw_name: bytes) -> Path:
    """A path whose last part is raw_name, bytes that are not UTF-8 (Python holds them as surrogates)."""
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + raw_name))


def _workspace_names(workspace: Path) -> list[str]:
    connection = sqlite3.connect(workspace / "workspace.sqlite")
    try:
        return [row[0] for row in connection.execute("SELECT name FROM files ORDER BY name")]
    finally:
        connection.close()


# 1. File names that are not UTF-8 ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_non_utf8_file_name_is_read_and_shown_with_replacement_characters(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(SCANS / "seed_clean.png", _non_utf8(folder, b"sheet-\xff\xfe.png"))
    shown = f"sheet-{REPLACED}{REPLACED}.png"

    output = tmp_path / "out" / "rows.csv"
    read = _petition("read", folder, "-o", output)
    assert read.returncode == EXIT_OK, read.stdout + read.stderr
    rows = _csv(output)
    assert len(rows) == 15 and {row["file"] for row in rows} == {shown}
    assert [(row["file"], row["status"]) for row in _csv(output.with_name("pages.csv"))] == [(shown, "ok")]

    workspace = tmp_path / "ws"
    added = _petition("add", folder, "-w", workspace)
    assert added.returncode == EXIT_OK, added.stdout + added.stderr
    assert _workspace_names(workspace) == [shown]
    exported = tmp_path / "rows-export.csv"
    assert _petition("export", "rows", "-o", exported, "-w", workspace).returncode == EXIT_OK
    assert len(_csv(exported)) == 15


def test_a_non_utf8_name_of_a_bad_file_is_printed_and_recorded_with_replacement_characters(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    _non_utf8(folder, b"broken-\xe9.png").write_bytes(b"")
    shown = f"broken-{REPLACED}.png"

    output = tmp_path / "rows.csv"
    read = _petition("read", folder, "-o", output)
    assert read.returncode == EXIT_NOTHING, read.stdout + read.stderr
    (page,) = _csv(output.with_name("pages.csv"))
    assert (page["file"], page["status"]) == (shown, "unreadable")
    assert page["message"].startswith(shown)
    assert shown in read.stdout

    added = _petition("add", folder, "-w", tmp_path / "ws")
    assert added.returncode == EXIT_NOTHING, added.stdout + added.stderr
    assert shown in added.stdout


# 2. Pool workers die with the process that made them --------------------------------------------------------


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead orphan may wait a while for this machine's init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_until(condition, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _kill_all(pids) -> None:
    """Never leave ~190 MB workers behind, even when the test fails."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes in /proc")
@pytest.mark.slow
def test_pool_workers_exit_when_add_is_killed(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("seed_clean.png", "seed_skewed.png", "stacked_scan.png", "ballot_batch.pdf"):
        shutil.copy(SCANS / name, scans / name)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    process = subprocess.Popen([str(PETITION), "add", str(scans), "--workers", "2", "-w", str(tmp_path / "ws")],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        assert _wait_until(lambda: len(child_pids(process.pid)) >= 2, seconds=TIMEOUT_S), "no workers started"
        workers = child_pids(process.pid)
        time.sleep(1.0)  # the workers are reading pages now
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        gone = _wait_until(lambda: not any(_running(pid) for pid in workers), seconds=10)
        assert gone, f"workers {[pid for pid in workers if _running(pid)]} outlived their killed parent"
    finally:
        process.kill()
        _kill_all(workers)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes in /proc")
@pytest.mark.slow
def test_read_survives_its_worker_killed_mid_page_and_reads_that_page_again(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    names = ("seed_clean.png", "seed_skewed.png", "stacked_scan.png")
    for name in names:
        shutil.copy(SCANS / name, scans / name)
    output = tmp_path / "rows.csv"
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    process = subprocess.Popen([str(PETITION), "read", str(scans), "-o", str(output)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    try:
        assert _wait_until(lambda: bool(child_pids(process.pid)), seconds=TIMEOUT_S), "no worker started"
        time.sleep(1.0)  # the worker is loading its models or reading the first page now
        killed = child_pids(process.pid)
        _kill_all(killed)
        out, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        process.kill()
    assert process.returncode == EXIT_OK, out + err
    assert not PYTHON_INTERNALS.search(out + err), out + err
    assert [(row["file"], row["status"]) for row in _csv(output.with_name("pages.csv"))] == [
        (name, "ok") for name in sorted(names)]
    # The page read again is read as an undisturbed run reads it (tests/e2e/expected_rows.csv).
    expected = [row for row in _csv(Path(__file__).parents[1] / "e2e" / "expected_rows.csv") if row["file"] in names]
    columns = ("file", "page", "line", "status", "name", "needs_review")
    assert sorted(tuple(r[c] for c in columns) for r in _csv(output)) == sorted(
        tuple(r[c] for c in columns) for r in expected)


_FORKSERVER_APP = """
import os, threading, time
from pipeline.review.uploads import _forkserver_pool

def batches():  # like BatchRunner: the pool is made in a thread of the app, its workers come from a forkserver
    pool = _forkserver_pool(1)
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 600)

threading.Thread(target=batches, daemon=True).start()
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes in /proc")
def test_forkserver_workers_of_the_review_app_exit_when_the_app_is_killed(tmp_path):
    root = Path(__file__).resolve().parents[2]
    app = subprocess.Popen([sys.executable, "-c", _FORKSERVER_APP], cwd=root, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(root)}, text=True)
    worker = 0
    try:
        worker = int(app.stdout.readline())
        assert _running(worker)
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=10)
        assert _wait_until(lambda: not _running(worker), seconds=10), "the worker outlived the killed app"
    finally:
        app.kill()
        if worker:
            _kill_all([worker])


# 3. FIFOs, sockets and devices --------------------------------------------------------------------------------


def test_a_fifo_or_a_device_is_reported_and_never_opened(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    os.mkfifo(folder / "pipe.png")  # in a folder...
    named = tmp_path / "named.pdf"
    os.mkfifo(named)  # ...and named on the command line: opening either for reading would block forever
    output = tmp_path / "rows.csv"

    read = _petition("read", folder, named, "/dev/zero", "-o", output, timeout=60)
    assert read.returncode == EXIT_NOTHING, read.stdout + read.stderr
    pages = {row["file"]: row for row in _csv(output.with_name("pages.csv"))}
    assert set(pages) == {"pipe.png", "named.pdf", "zero"}
    for page in pages.values():
        assert page["status"] == PageStatus.UNREADABLE.value
        assert "not a regular file" in page["message"]

    added = _petition("add", folder, named, "/dev/zero", "-w", tmp_path / "ws", timeout=60)
    assert added.returncode == EXIT_NOTHING, added.stdout + added.stderr
    for name in ("pipe.png", "named.pdf", "zero"):
        assert re.search(rf"unreadable\s+{re.escape(name)}: not a regular file", added.stdout), added.stdout


# 4. Exit codes as the README documents them --------------------------------------------------------------------


def test_add_exits_4_when_nothing_could_be_read(tmp_path, bad_dir):
    workspace = tmp_path / "ws"
    added = _petition("add", bad_dir / "empty.png", bad_dir / "webpage.pdf", bad_dir / "bomb.png", "-w", workspace)
    assert added.returncode == EXIT_NOTHING == 4, added.stdout + added.stderr
    assert "empty.png" in added.stdout and "bomb.png" in added.stdout

    empty = tmp_path / "empty-folder"
    empty.mkdir()
    assert _petition("add", empty, "-w", workspace).returncode == EXIT_NOTHING
    assert _petition("read", empty, "-o", tmp_path / "rows.csv").returncode == EXIT_NOTHING


# 5. Messages say what happened to which file, never Python internals ----------------------------------------------


def _tiff_with_a_damaged_second_page(path: Path) -> Path:
    """Two frames; the second one's width tag is renamed, so Pillow raises TypeError when counting frames."""
    frames = [Image.new("L", (30, 40), shade) for shade in (0, 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    data = buffer.getvalue()
    width_tag = data.rindex(b"\x00\x01\x04\x00")  # tag 256 (ImageWidth), type LONG, little-endian
    path.write_bytes(data[:width_tag] + b"\xe7\x03" + data[width_tag + 2:])
    return path


def _pdf_with_a_damaged_trailer(path: Path) -> Path:
    """poppler refuses it, and pypdf (asked whether it is encrypted) logs its exception reprs."""
    buffer = io.BytesIO()
    Image.new("L", (30, 40), 255).save(buffer, format="PDF")
    data = buffer.getvalue()
    trailer = data.rindex(b"trailer")
    path.write_bytes(data[:trailer] + data[trailer:].replace(b"/Root", b"\xdbRoot"))
    return path


def _truncated_png(path: Path) -> Path:
    data = (SCANS / "seed_clean.png").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(("make", "name"), [(_tiff_with_a_damaged_second_page, "corrupt.tif"),
                                            (_pdf_with_a_damaged_trailer, "corrupt.pdf"),
                                            (_truncated_png, "truncated.png")], ids=["tiff", "pdf", "png"])
def test_a_corrupt_file_gets_a_plain_message_without_python_internals(tmp_path, make, name):
    corrupt = make(tmp_path / name)
    output = tmp_path / "rows.csv"
    read = _petition("read", corrupt, "-o", output)
    assert read.returncode == EXIT_NOTHING, read.stdout + read.stderr
    assert not PYTHON_INTERNALS.search(read.stdout + read.stderr), read.stdout + read.stderr
    (page,) = _csv(output.with_name("pages.csv"))
    assert page["status"] == PageStatus.UNREADABLE.value
    assert page["message"].startswith(corrupt.name) and "scan it again" in page["message"]
    assert not PYTHON_INTERNALS.search(page["message"])

    added = _petition("add", corrupt, "-w", tmp_path / "ws")
    assert added.returncode == EXIT_NOTHING, added.stdout + added.stderr
    assert corrupt.name in added.stdout
    assert not PYTHON_INTERNALS.search(added.stdout + added.stderr), added.stdout + added.stderr


def test_an_unexpected_failure_reading_a_page_is_reported_without_its_exception_class(monkeypatch, tmp_path):
    def broken(*_args, **_kwargs):
        raise KeyError("roles")

    monkeypatch.setattr("pipeline.batch.read_file_page", broken)
    ref = PageRef(str(tmp_path / "sheet.png"), "sheet.png", 3, "image", 0)
    result = read_one(ref, ReadJob())
    assert result.status is PageStatus.FAILED
    assert result.message.startswith("sheet.png page 3: ")
    assert "KeyError" not in result.message and "roles" not in result.message


def test_a_broken_form_file_stops_with_a_message_not_a_traceback(tmp_path):
    form = tmp_path / "broken.toml"
    form.write_text("[form\n", encoding="utf-8")
    read = _petition("read", SCANS / "seed_clean.png", "-o", tmp_path / "rows.csv", "--form", form)
    assert read.returncode == 2
    assert "Traceback" not in read.stdout + read.stderr and "╭" not in read.stdout + read.stderr
    assert "broken.toml" in read.stderr and "fix the form file" in read.stderr
    assert not (tmp_path / "rows.csv").exists()
