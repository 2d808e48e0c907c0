"""The handwriting evaluation set: strict font split, honest truth, deterministic rendering, demo set untouched."""

from __future__ import annotations

import io
import json
import random
import string
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samples import handwriting as hw
from samples import render

ROOT = Path(__file__).resolve().parent.parent.parent
BASIC = string.ascii_letters + string.digits + "-'.@/#"


def test_split_is_disjoint_balanced_and_complete():
    cal, test = set(hw.EVAL_FONTS["calibration"]), set(hw.EVAL_FONTS["test"])
    assert not cal & test
    assert len(cal) >= 10 and len(test) >= 10 and len(cal | test) >= 20
    assert cal | test == set(hw.EVAL_FONT_INFO)
    for split, fonts in hw.EVAL_FONTS.items():
        styles = {hw.EVAL_FONT_INFO[f].style for f in fonts}
        assert styles == {"print", "casual"}, f"{split} must mix neat and casual hands"
    # The assignment is fixed: calibration is fit on one side and reported on the other.
    assert hw.EVAL_FONTS["test"][:3] == ("coming-soon", "handlee", "pangolin")


def test_eval_fonts_are_new_bundled_and_licensed():
    readme = (ROOT / "samples" / "fonts" / "README.md").read_text(encoding="utf-8")
    for name, info in hw.EVAL_FONT_INFO.items():
        assert name not in render.NAME_FONTS and name not in render.SIGNATURE_FONTS
        path = hw.EVAL_FONT_DIR / f"{name}.woff"
        assert path.exists() and path.stat().st_size < 300_000
        row = next(line for line in readme.splitlines() if f"`eval/{name}.woff`" in line)
        assert info.split in row and ("OFL-1.1" in row or "Apache-2.0" in row)


def test_every_eval_font_has_the_basic_glyphs():
    for name in hw.EVAL_FONT_INFO:
        missing = [c for c in BASIC if not hw.has_glyph(name, c)]
        assert not missing, f"{name} lacks {missing}"


def test_glyph_check_knows_which_fonts_have_accents():
    assert not hw.has_glyph("gaegu", "é")  # latin subset without accented letters
    assert hw.has_glyph("handlee", "é") and not hw.has_glyph("handlee", "ễ")
    assert hw.has_glyph("mali", "ễ") and hw.has_glyph("mali", "ł")  # merged latin-ext + vietnamese subsets
    assert hw.drawable("Nguyễn Văn An", "handlee") == "Nguyen Van An"
    assert hw.drawable("Nguyễn Văn An", "mali") == "Nguyễn Văn An"
    assert hw.drawable("Hélène Lefèvre", "gaegu") == "Helene Lefevre"
    assert hw.drawable("Łukasz Weiß", "gaegu") == "Lukasz Weiss"


def _people(font: str, count: int, roles=("address", "zip", "date")) -> list[render.Person]:
    rng = random.Random(f"people:{font}")
    source = hw.HandwritingSource(300)
    return [source.person(rng, roles, font) for _ in range(count)]


@pytest.mark.parametrize("font", sorted(hw.EVAL_FONT_INFO))
def test_truth_has_accents_only_where_the_font_draws_them(font):
    people = _people(font, 150)
    for person in people:
        for text in (person.name, *person.fields.values()):
            assert all(hw.has_glyph(font, c) for c in text), (font, text)
            assert unicodedata.is_normalized("NFC", text)
        assert all(hw.has_glyph(sig, c) for sig in render.SIGNATURE_FONTS for c in person.signature)
    accented = [p.name for p in people if not p.name.isascii()]
    if hw.has_glyph(font, "é"):
        assert accented, f"{font} draws accents but no accented name was written"
    else:
        assert not accented


def test_names_are_varied_and_zip_codes_keep_leading_zeros():
    assert len(hw.first_names()) >= 400 and len(hw.last_names()) >= 400
    people = _people("mali", 400)
    names = [p.name for p in people]
    assert len(set(names)) > 380
    assert any(n.isupper() for n in names) and any(n.islower() for n in names)
    assert any("'" in n for n in names) and any("-" in n for n in names)
    assert any(len(n.split()) >= 3 for n in names)
    zips = [p.fields["zip"] for p in people]
    assert all(len(z) == 5 and z.isdigit() for z in zips)
    assert sum(z.startswith("0") for z in zips) > 40


def _name_ink(font: str, ink: str) -> np.ndarray:
    """Write one name with the letter-level writer in a 300-dpi name cell; returns the cell's pixels."""
    rng = random.Random(f"ink:{font}:{ink}")
    source = hw.HandwritingSource(300)
    person = source.person(rng, (), font)
    while True:  # draw pens until the wanted ink comes up (deterministic)
        source.pen(rng, 300)
        if source.lines[-1]["ink"] == ink:
            break
    page = Image.new("L", (1100, 130), 255)
    cell = render.Box(0, 0, 1100, 130)
    source.write(page, rng, font, person.name, cell, 0.55, source._hand.gray, 0)  # noqa: SLF001
    return np.asarray(page)


@pytest.mark.parametrize("font", sorted(hw.EVAL_FONT_INFO))
def test_every_font_writes_visible_ink(font):
    dark = _name_ink(font, "black")
    assert (dark < 128).sum() > 600, f"{font}: a written name left almost no ink"
    pale = _name_ink(font, "pale")
    # Pale strokes are pale (never near-black) but still there.
    assert pale.min() >= 110 and (pale < 215).sum() > 300, font


def test_rendering_is_deterministic():
    first, truth_a, lines_a = hw.render_handwriting_sheet("stacked", seed=11, font="mali", dpi=200)
    second, truth_b, lines_b = hw.render_handwriting_sheet("stacked", seed=11, font="mali", dpi=200)
    assert first.tobytes() == second.tobytes() and truth_a == truth_b and lines_a == lines_b
    other, _, _ = hw.render_handwriting_sheet("stacked", seed=12, font="mali", dpi=200)
    assert other.tobytes() != first.tobytes()
    # The two splits never share a sheet seed (so no shared names or form draws).
    cal = {hw._sheet_seed("calibration", 1, i) for i in range(500)}  # noqa: SLF001
    assert not cal & {hw._sheet_seed("test", 1, i) for i in range(500)}  # noqa: SLF001


def test_cli_writes_a_split_in_the_shared_truth_format(tmp_path):
    from pipeline.evaluate import truth_frame

    assert render.main([str(tmp_path), "--handwriting-eval", "1", "--split", "test", "--seed", "3"]) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and "truth.json" in files
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    (page,) = truth["files"][files[0]]["pages"]
    assert page["split"] == "test" and page["name_font"] == hw.EVAL_FONTS["test"][0]
    assert page["name_style"] == "print" and page["layout"] == "seed"
    for line in page["lines"]:
        assert {"line", "status", "name", "fields", "ink", "spacing"} <= set(line)
    frame = truth_frame(tmp_path / "truth.json")
    assert len(frame) == 15 and set(frame["name_font"]) == {hw.EVAL_FONTS["test"][0]}


def test_demo_set_is_unchanged():
    image, truth = render._sheet("seed", "patrick-hand", 101)  # noqa: SLF001
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True, dpi=(truth.dpi, truth.dpi))
    assert buffer.getvalue() == (ROOT / "samples" / "scans" / "seed_clean.png").read_bytes()
