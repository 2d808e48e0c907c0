"""The `petition` command: help, exit codes, pages.csv, debug overlays, forms and parallel workers."""

from __future__ import annotations

import csv
import subprocess

import cv2
import pytest
from typer.testing import CliRunner

from pipeline.cli import EXIT_NOTHING, EXIT_OK, EXIT_PARTIAL, app
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
    filled = tmp_path / "filled.png"
    sheets.sheet("seed", 2)[0].save(filled, dpi=(DPI, DPI))
    auto, forms = tmp_path / "auto" / "rows.csv", tmp_path / "form" / "rows.csv"
    assert _invoke("read", str(filled), "-o", str(auto)).exit_code == EXIT_OK
    assert _invoke("read", str(filled), "-o", str(forms), "--form", str(form)).exit_code == EXIT_OK
    auto_rows, form_rows = _csv(auto), _csv(forms)
    assert len(form_rows) == len(auto_rows) == 15
    assert [r["status"] for r in form_rows] == [r["status"] for r in auto_rows]


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
