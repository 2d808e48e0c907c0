"""End to end over samples/city (the government-style city petition): read without a form and with its form
file (samples/forms/city-form.toml and the blank sheet beside it), as `petition read` runs for a user."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from tests.support import PETITION, ROOT

pytestmark = pytest.mark.slow

CITY = ROOT / "samples" / "city"
FORM = ROOT / "samples" / "forms" / "city-form.toml"


def _truth() -> dict[tuple[str, int, int], dict]:
    doc = json.loads((CITY / "truth.json").read_text(encoding="utf-8"))
    return {(name, page["page"], line["line"]): {**line, "blank_copy": page["blank_copy"]}
            for name, entry in doc["files"].items() for page in entry["pages"] for line in page["lines"]}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module", params=["auto", "form"])
def city_run(request, tmp_path_factory):
    output = tmp_path_factory.mktemp(f"city-{request.param}") / "rows.csv"
    form = ["--form", str(FORM)] if request.param == "form" else []
    done = subprocess.run([str(PETITION), "read", str(CITY), *form, "-o", str(output), "--workers", "2"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return request.param, _rows(output), _rows(output.with_name("pages.csv"))


def _by_key(rows: list[dict[str, str]]) -> dict[tuple[str, int, int], dict[str, str]]:
    return {(r["file"], int(r["page"]), int(r["line"])): r for r in rows}


def test_every_line_is_found_and_none_is_invented(city_run):
    _, rows, _ = city_run
    assert sorted(_by_key(rows)) == sorted(_truth())


def test_blank_copies_read_blank_and_printed_labels_are_never_names(city_run):
    """The form's print (SIGNATURE, ADDRESS, "PRINTED NAME OF SIGNER", rules, line numbers) is no writing."""
    _, rows, _ = city_run
    got = _by_key(rows)
    for key, line in _truth().items():
        if line["blank_copy"]:
            assert (got[key]["status"], got[key]["name"]) == ("blank", ""), key
        assert "SIGNER" not in got[key]["name"].upper() and "PRINTED" not in got[key]["name"].upper(), key


def test_struck_lines_are_struck_and_automatic_verdicts_are_right(city_run):
    """Every struck line is found struck (the city strike runs along the SIGNATURE/ADDRESS rule); a line not
    sent to review has the truth's status."""
    _, rows, _ = city_run
    got = _by_key(rows)
    for key, line in _truth().items():
        if line["status"] == "struck":
            assert got[key]["status"] == "struck", key
        if got[key]["needs_review"] == "0":
            assert got[key]["status"] == line["status"], key


def test_written_names_are_seen(city_run):
    """A name written in the printed-name cell (below or across its label) makes the line signed or name-only;
    without the form, the photo's name written over its label may still be missed."""
    mode, rows, _ = city_run
    got = _by_key(rows)
    named = [key for key, line in _truth().items() if line["status"] in ("signed", "name_only")]
    seen = [key for key in named if got[key]["status"] in ("signed", "name_only") and got[key]["name"]]
    assert len(seen) >= (len(named) if mode == "form" else len(named) - 1), sorted(set(named) - set(seen))


def test_with_the_form_every_page_is_registered(city_run):
    mode, _, pages = city_run
    if mode != "form":
        assert all("registration" not in page for page in pages)
        return
    assert [page["status"] for page in pages] == ["ok"] * len(pages)
    assert all(float(page["registration"]) >= 0.8 for page in pages), [page["registration"] for page in pages]
