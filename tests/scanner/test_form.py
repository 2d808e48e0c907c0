"""Form files: proposed from a blank sheet, round-tripped through TOML, used instead of auto-detection."""

from __future__ import annotations

import tomllib

import pytest

from pipeline.forms import detect_form
from scanner.form import FormError, load_form, to_toml
from scanner.types import Role
from tests.pipeline.test_hostile_batches import PYTHON_INTERNALS, _petition
from tests.support import DPI, SCANS, blank_form, read_gray


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


@pytest.mark.parametrize("layout", ["seed", "stacked"])
def test_an_upside_down_blank_sheet_gives_the_same_form(tmp_path, monkeypatch, layout):
    """form detect turns a sheet right way up by its line-number column, as reading does (one shared stage):
    Tesseract's orientation detector, which it used to ask, is not needed for a sheet with line numbers."""

    def not_asked(*_args):
        raise AssertionError("the orientation detector was asked")

    monkeypatch.setattr("scanner.normalize.needs_half_turn", not_asked)
    monkeypatch.setattr("scanner.layout.needs_half_turn", not_asked)
    image = blank_form(layout)[0]
    forms = []
    for name, sheet in (("upright", image), ("turned", image.rotate(180))):
        sheet.save(tmp_path / f"{name}.png", dpi=(DPI, DPI))
        (tmp_path / f"{name}.toml").write_text(detect_form(tmp_path / f"{name}.png"), encoding="utf-8")
        forms.append(load_form(tmp_path / f"{name}.toml"))
    upright, turned = forms
    assert [f.role for f in turned.fields] == [f.role for f in upright.fields]
    assert len(turned.line_bounds) == len(upright.line_bounds)
    # Turned, a 2-px rule's centre may round to the other pixel: within 2 px (0.001 of the page) everywhere.
    assert turned.line_bounds == pytest.approx(upright.line_bounds, abs=0.001)
    assert turned.table == pytest.approx(upright.table, abs=0.001)
    for a, b in zip(turned.fields, upright.fields):
        assert (a.x0, a.x1) == pytest.approx((b.x0, b.x1), abs=0.001)
        assert (a.top, a.bottom) == pytest.approx((b.top, b.bottom), abs=0.01)  # a share of a line's height


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


# What is wrong with a form file, in words for the person editing it: never an exception class, "[Errno 2]" or a
# repr. PYTHON_INTERNALS and the real `petition` command come from the hostile-batch tests.
GOOD_FIELDS = "[[fields]]\nrole = 'name'\nx = [0.1, 0.5]\n[[fields]]\nrole = 'signature'\nx = [0.5, 0.9]\n"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        # tomllib's own words; "(at line 1, column 6)" before Python 3.14, "at line 1, column 6" after
        (b"[form\nname = 'x'", "is not valid TOML: Expected ']' at the end of a table declaration"),
        (b"[form]\nlines = 15\nname = = 'x'\n", "at line 3, column 8"),
        (b"[form]\nname = 'x'\n", "has no 'line_bounds'"),
        (b"[forms]\nname = 'x'\n", "has no 'form'"),
        (b"[form]\ntable = [0, 0, 1, 1]\nline_bounds = [0.4, 0.5]\n[[fields]]\nrole = 'autograph'\nx = [0.5, 0.9]\n",
         "role is one of line_number, name, signature"),
        (b"[form]\ntable = 'wide'\nline_bounds = [0.4, 0.5]\n" + GOOD_FIELDS.encode(), "take numbers"),
        (b"[form]\ntable = [0, 0, 1, 1]\nline_bounds = [0.4, 0.5]\n[[fields]]\nrole = 'name'\nx = [0.1]\n",
         "take numbers"),
        (b"[form]\nname = 'Gr\xfcn'\n", "is not UTF-8 text"),
    ],
    ids=["not TOML", "position", "no line_bounds", "no form table", "unknown role", "not a number", "short list", "Latin-1"],
)
def test_a_broken_form_file_says_what_is_wrong_in_plain_words(tmp_path, content, said):
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    with pytest.raises(FormError) as raised:
        load_form(path)
    message = str(raised.value)
    assert message.startswith(f"form file {path} ") and said in message, message
    assert not PYTHON_INTERNALS.search(message) and "Errno" not in message, message


@pytest.mark.parametrize("where", ["absent.toml", "."], ids=["missing", "a folder"])
def test_a_form_file_that_cannot_be_opened_says_why_without_errno(tmp_path, where):
    with pytest.raises(FormError) as raised:
        load_form(tmp_path / where)
    message = str(raised.value)
    assert "cannot be read (" in message and "Errno" not in message and not PYTHON_INTERNALS.search(message)


def test_a_toml_error_with_its_own_position_is_shown_at_that_line_and_column(tmp_path, monkeypatch):
    """Python 3.14's TOMLDecodeError carries msg, lineno and colno; those are used when present."""
    def decode_error(_text: str):
        error = tomllib.TOMLDecodeError("Invalid value (at line 3, column 7)")
        error.msg, error.lineno, error.colno = "Invalid value", 3, 7
        raise error

    monkeypatch.setattr(tomllib, "loads", decode_error)
    path = tmp_path / "broken.toml"
    path.write_text("[form]\n", encoding="utf-8")
    with pytest.raises(FormError, match=r"is not valid TOML: Invalid value at line 3, column 7: fix the form file"):
        load_form(path)


def test_petition_read_with_a_broken_form_prints_no_class_name(tmp_path):
    form = tmp_path / "broken.toml"
    form.write_text("[form]\nname 'seed'\n", encoding="utf-8")  # no "="
    read = _petition("read", SCANS / "seed_clean.png", "-o", tmp_path / "rows.csv", "--form", form)
    assert read.returncode == 2, read.stdout + read.stderr
    assert read.stderr.startswith(f"error: form file {form} is not valid TOML: "), read.stderr
    assert "line 2" in read.stderr
    assert not PYTHON_INTERNALS.search(read.stdout + read.stderr), read.stdout + read.stderr
