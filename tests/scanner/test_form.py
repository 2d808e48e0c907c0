"""Form files: proposed from a blank sheet, round-tripped through TOML, used instead of auto-detection."""

from __future__ import annotations

import pytest

from pipeline.forms import detect_form
from scanner.form import FormError, load_form, to_toml
from scanner.types import Role
from tests.support import DPI, blank_form, read_gray


@pytest.fixture(scope="module")
def seed_form_text(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("form") / "blank_seed.png"
    blank_form("seed")[0].save(path, dpi=(DPI, DPI))
    return detect_form(path)


def test_detected_form_describes_the_blank_sheet(seed_form_text, tmp_path):
    path = tmp_path / "seed.toml"
    path.write_text(seed_form_text, encoding="utf-8")
    form = load_form(path)
    assert form.name == "blank_seed"
    assert len(form.line_bounds) == 16
    roles = [f.role for f in form.fields]
    assert roles.count(Role.NAME) == 1 and roles.count(Role.SIGNATURE) == 1
    name, signature = form.fields[roles.index(Role.NAME)], form.fields[roles.index(Role.SIGNATURE)]
    # NAME is drawn left of SIGNATURE, 3.35 in of a 7.5 in table.
    assert name.x1 <= signature.x0 + 0.01
    assert (name.x1 - name.x0) == pytest.approx(3.35 / 8.5, abs=0.01)
    assert all(0 <= v <= 1 for v in (*form.table, *form.line_bounds))


def test_form_round_trips_through_toml(seed_form_text, tmp_path):
    path = tmp_path / "seed.toml"
    path.write_text(seed_form_text, encoding="utf-8")
    first = load_form(path)
    path.write_text(to_toml(first), encoding="utf-8")
    assert load_form(path) == first
    assert to_toml(first) == seed_form_text


@pytest.mark.slow
def test_reading_with_the_form_matches_auto_detection(seed_form_text, tmp_path, sheets):
    path = tmp_path / "seed.toml"
    path.write_text(seed_form_text, encoding="utf-8")
    with_form = read_gray(sheets.gray("seed", 1), form=load_form(path))
    auto = sheets.reading("seed", 1)
    assert len(with_form.lines) == len(auto.lines) == 15
    assert [r.status for r in with_form.lines] == [r.status for r in auto.lines]


@pytest.mark.parametrize(
    "text",
    [
        "[form\nname = 'x'",  # not TOML
        "[form]\nname = 'x'\n",  # no line_bounds or table
        "[form]\ntable = [0, 0, 1, 1]\nline_bounds = [0.5, 0.4]\n"
        "[[fields]]\nrole = 'name'\nx = [0.1, 0.5]\n[[fields]]\nrole = 'signature'\nx = [0.5, 0.9]\n",  # decreasing
        "[form]\ntable = [0, 0, 1, 1]\nline_bounds = [0.4, 0.5]\n[[fields]]\nrole = 'name'\nx = [0.1, 0.5]\n",  # no signature
        "[form]\ntable = [0, 0, 1, 1]\nline_bounds = [0.4, 0.5]\n"
        "[[fields]]\nrole = 'name'\nx = [0.1, 0.5]\n[[fields]]\nrole = 'autograph'\nx = [0.5, 0.9]\n",  # unknown role
        "[form]\ntable = [0, 0, 1, 1]\nline_bounds = [0.4, 0.5]\n"
        "[[fields]]\nrole = 'name'\nx = [0.6, 0.5]\n[[fields]]\nrole = 'signature'\nx = [0.5, 1.2]\n",  # bad boxes
    ],
)
def test_broken_form_files_raise_form_error(tmp_path, text):
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormError):
        load_form(path)


def test_missing_form_file_raises_form_error(tmp_path):
    with pytest.raises(FormError):
        load_form(tmp_path / "absent.toml")
