"""End to end over samples/scans: the rows.csv contract, every truth line, the stored expected output, eval targets."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import PETITION, ROOT, ROW_CONTRACT, SCANS

pytestmark = pytest.mark.slow

EXPECTED = Path(__file__).resolve().parent / "expected_rows.csv"
STATUSES = {"signed", "name_only", "signature_only", "blank", "uncertain", "struck"}


def _truth() -> dict:
    return json.loads((SCANS / "truth.json").read_text(encoding="utf-8"))


def _truth_keys() -> set[tuple[str, int, int]]:
    return {(name, page["page"], line["line"])
            for name, entry in _truth()["files"].items() for page in entry["pages"] for line in page["lines"]}


def _key(row: dict[str, str]) -> tuple[str, int, int]:
    return row["file"], int(row["page"]), int(row["line"])


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("e2e") / "rows.csv"
    done = subprocess.run([str(PETITION), "read", str(SCANS), "-o", str(output)], capture_output=True, text=True,
                          timeout=600, check=False)
    header, rows = _read_csv(output)
    return done, header, rows


def test_read_exits_ok(sample_run):
    done, _, _ = sample_run
    assert done.returncode == 0, done.stdout + done.stderr


def test_header_matches_the_contract(sample_run):
    _, header, _ = sample_run
    assert header[:8] == ROW_CONTRACT
    # Then one column per field role the sample layouts hold (taken from the truth).
    roles = {role for entry in _truth()["files"].values() for page in entry["pages"] for line in page["lines"]
             for role in line["fields"]}
    assert set(header[8:]) == roles
    assert len(header) == len(set(header))


def test_every_truth_line_is_present(sample_run):
    _, _, rows = sample_run
    missing = sorted(_truth_keys() - {_key(r) for r in rows})
    assert missing == []


def test_no_spurious_lines(sample_run):
    _, _, rows = sample_run
    keys = [_key(r) for r in rows]
    assert sorted(set(keys) - _truth_keys()) == []
    assert len(keys) == len(set(keys))


def test_rows_are_well_formed(sample_run):
    _, _, rows = sample_run
    for row in rows:
        assert row["status"] in STATUSES
        assert row["needs_review"] in ("true", "false")
        assert 0.0 <= float(row["name_confidence"]) <= 1.0
        assert (row["needs_review"] == "true") == bool(row["review_reasons"])
        if row["status"] in ("blank", "signature_only", "struck"):
            assert row["name"] == ""


def test_rows_match_stored_expected_output(sample_run):
    _, _, rows = sample_run
    expected_header, expected = _read_csv(EXPECTED)
    assert expected, f"regenerate {EXPECTED.name} with tests/e2e/update_expected.py"
    got = {_key(r): r for r in rows}
    want = {_key(r): r for r in expected}
    assert sorted(got) == sorted(want)
    for key, row in want.items():
        assert (got[key]["status"], got[key]["needs_review"]) == (row["status"], row["needs_review"]), key
        assert got[key]["name"] == row["name"], key
        assert float(got[key]["name_confidence"]) == pytest.approx(float(row["name_confidence"]), abs=0.05), key


@pytest.fixture(scope="module")
def eval_output() -> str:
    done = subprocess.run([str(PETITION), "eval", str(SCANS)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _figure(text: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}\s+(.+)$", text, re.MULTILINE)
    assert match, f"eval output lacks {label!r}"
    return match.group(1)


def test_eval_prints_every_figure(eval_output):
    for label in ("lines found", "spurious lines", "signature accuracy (auto)", "status accuracy (auto)",
                  "review rate", "name exact match", "name character error rate", "auto-accept precision",
                  "auto-accept coverage"):
        _figure(eval_output, label)


def test_eval_every_line_found(eval_output):
    found, total = map(int, re.match(r"(\d+)/(\d+)", _figure(eval_output, "lines found")).groups())
    assert total == len(_truth_keys())
    assert found == total
    assert int(_figure(eval_output, "spurious lines")) == 0


def test_eval_signature_accuracy_of_automatic_verdicts(eval_output):
    accuracy = float(re.match(r"([\d.]+)%", _figure(eval_output, "signature accuracy (auto)")).group(1))
    assert accuracy >= 99.5


def test_eval_auto_accept_precision(eval_output):
    accepted = int(re.search(r"\((\d+)/(\d+)\)", _figure(eval_output, "auto-accept precision")).group(2))
    precision = float(re.match(r"([\d.]+)%", _figure(eval_output, "auto-accept precision")).group(1))
    assert accepted == 0 or precision >= 98.0


def test_eval_the_surest_names_are_right(eval_output):
    """What an organiser relies on with --accept-names-at: names given 0.95 or more are right as often as
    that says (the samples' two top reliability bins, pooled: with three models reading every name, too few of
    the samples' names are left between 0.95 and 0.99 to judge that bin alone)."""
    table = eval_output.split("name confidence calibration", 1)[1]
    found = [re.search(rf"^{bin_}\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", table, re.MULTILINE)
             for bin_ in (r"0\.95-0\.99", r"0\.99-1\.00")]
    bins = [b for b in found if b]  # an empty bin is not printed
    counts = [int(b.group(1)) for b in bins]
    names = sum(counts)
    # the two bins pooled, each weighted by its names
    predicted = sum(n * float(b.group(2)) for n, b in zip(counts, bins)) / max(names, 1)
    observed = sum(n * float(b.group(3)) for n, b in zip(counts, bins)) / max(names, 1)
    assert names >= 20 and observed >= predicted - 0.02, table


def test_eval_reports_print_style_fonts_separately_and_meets_the_name_target(eval_output):
    block = eval_output.split("[print-style handwriting fonts]", 1)[1]
    print_lines = sum(len(page["lines"]) for entry in _truth()["files"].values() for page in entry["pages"]
                      if page["name_style"] == "print")
    found, total = map(int, re.match(r"(\d+)/(\d+)", _figure(block, "lines found")).groups())
    assert total == print_lines and found == total
    # ballot_batch.pdf mixes fonts by page: its other pages' lines must not count as spurious here.
    assert int(_figure(block, "spurious lines")) == 0
    assert float(re.match(r"([\d.]+)%", _figure(block, "name exact match")).group(1)) >= 90.0


def _repeat_signers() -> list[set[str]]:
    """Occurrences (file:page:line) of people who sign more than one sheet in the truth."""
    seen: dict[tuple[str, str], set[str]] = {}
    for name, entry in _truth()["files"].items():
        for page in entry["pages"]:
            for line in page["lines"]:
                if line["status"] == "signed":
                    parts = line["name"].casefold().split()
                    seen.setdefault((parts[0], parts[-1]), set()).add(f"{name}:{page['page']}:{line['line']}")
    return [sources for sources in seen.values() if len(sources) > 1]


def test_people_who_sign_two_sheets_are_one_roster_entry_with_both_sources(tmp_path):
    repeats = _repeat_signers()
    assert len(repeats) == 2  # the demo set renders two returning signers
    workspace, roster_path = tmp_path / "ws", tmp_path / "roster.csv"
    subprocess.run([str(PETITION), "add", str(SCANS), "-w", str(workspace), "--workers", "2"], check=True,
                   capture_output=True, timeout=600)
    subprocess.run([str(PETITION), "export", "roster", "-o", str(roster_path), "-w", str(workspace)], check=True,
                   capture_output=True, timeout=600)
    _, roster = _read_csv(roster_path)
    entries = [set(row["sources"].split(";")) for row in roster]
    for sources in repeats:
        assert sources in entries, sources
    assert sum(len(e) for e in entries) == sum(int(row["occurrences"]) for row in roster)
