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


# ---------------------------------------------------------------- repeat signers (roster evaluation)

# write_handwriting_eval_set(OUT, 2, split="calibration", seed=5) before repeat_share existed (sha256).
OLD_SET = {"hw_calibration_0001_seed.png": "7af68cf890153c6ddb4384e04a1d238b8394768551f2645d66d63b18f8257e1f",
           "hw_calibration_0002_ballot.png": "a6d91570b4937be2db5160c32e0a5dc276dab1ef59837fc219d5ab34d97b83ad",
           "truth.json": "f0866ba3d750c1b8b0624f803b8ef7daecee7941339ae2ff88e2bcdb1442bb68"}


def test_no_repeat_share_writes_the_same_bytes_as_before(tmp_path):
    import hashlib

    hw.write_handwriting_eval_set(tmp_path / "default", 2, split="calibration", seed=5)
    hw.write_handwriting_eval_set(tmp_path / "zero", 2, split="calibration", seed=5, repeat_share=0.0)
    for folder in ("default", "zero"):
        written = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / folder).iterdir()}
        assert written == OLD_SET, folder
    assert "person" not in (tmp_path / "zero" / "truth.json").read_text(encoding="utf-8")


def _lines(truth_path: Path) -> list[tuple[int, dict]]:
    doc = json.loads(truth_path.read_text(encoding="utf-8"))
    return [(i, line) for i, entry in enumerate(doc["files"].values()) for page in entry["pages"]
            for line in page["lines"]]


def test_repeat_share_brings_people_back_varied_with_stable_person_ids(tmp_path):
    assert render.main([str(tmp_path), "--handwriting-eval", "4", "--split", "calibration", "--seed", "2",
                        "--repeat-share", "0.5"]) == 0
    lines = _lines(tmp_path / "truth.json")
    for _, line in lines:
        assert {"person", "repeat"} <= set(line)
        assert bool(line["person"]) == bool(line["name"])  # every line with a name, and only those
        assert line["repeat"] in ("", *hw.REPEAT_KINDS) and (not line["repeat"] or line["person"])
    signed: dict[str, list[tuple[int, dict]]] = {}
    for sheet, line in lines:
        if line["status"] == "signed":
            signed.setdefault(line["person"], []).append((sheet, line))
    again = {p: seen for p, seen in signed.items() if len(seen) > 1}
    assert len(again) >= 3
    for seen in again.values():
        sheets = [sheet for sheet, _ in seen]
        assert len(set(sheets)) == len(sheets)  # never twice on one sheet
        first, *later = seen
        assert first[1]["repeat"] == "" and all(line["repeat"] for _, line in later)  # back after an earlier sheet
    assert any(len({line["name"] for _, line in seen}) > 1 for seen in again.values()), "names must vary"
    share = sum(bool(line["repeat"]) for seen in signed.values() for _, line in seen) / sum(map(len, signed.values()))
    assert 0.2 <= share <= 0.7
    doc = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert doc["repeat_share"] == 0.5


def _quick_sets(monkeypatch, sheets: int, share: float, seed: int = 1) -> list[list[tuple]]:
    """Sheets' (status, name, fields, person, repeat) per line, with the repeat logic but no ink drawn."""
    monkeypatch.setattr(hw.HandwritingSource, "write", lambda self, *args: None)
    monkeypatch.setattr(render, "_write_signature", lambda *args: None)
    repeats = hw.Repeats(share, random.Random(f"quick:{seed}"))
    out = []
    for i in range(sheets):
        layout, font = render.LAYOUTS[i % 3], hw.EVAL_FONTS["calibration"][(i // 3) % 14]
        _, truth, extra = hw.render_handwriting_sheet(layout, seed=1000 * seed + i, font=font, dpi=100,
                                                      repeats=repeats)
        out.append([(t.status, t.name, t.fields, e["person"], e["repeat"]) for t, e in zip(truth.lines, extra)])
    return out


def test_repeats_vary_as_people_do_and_keep_their_address(monkeypatch):
    sheets = _quick_sets(monkeypatch, 30, 0.3)
    first: dict[str, tuple] = {}
    kinds: dict[str, int] = {}
    earlier: set[str] = set()
    for lines in sheets:
        here = set()
        for status, name, fields, person, repeat in lines:
            if not name:
                continue
            assert person not in here
            here.add(person)
            if repeat:
                assert person in earlier, "a repeat signed an earlier sheet"
                kinds[repeat] = kinds.get(repeat, 0) + 1
                base = first[person]
                for role in ("zip", "address", "email"):
                    if fields.get(role) and base[2].get(role):
                        assert fields[role].casefold() == base[2][role].casefold(), (role, fields, base)
                if repeat == "nickname":
                    assert name.split()[0].casefold() != base[1].split()[0].casefold()
                if repeat == "middle":
                    assert len(name.split()) != len(base[1].split())
                if repeat == "case":  # (another hand may lack the accents)
                    assert name != base[1] and hw.ascii_fold(name).casefold() == hw.ascii_fold(base[1]).casefold()
            else:
                first[person] = (status, name, fields)
        earlier |= {person for status, _, _, person, _ in lines if status == "signed"}
    assert set(kinds) == set(hw.REPEAT_KINDS) and min(kinds.values()) >= 3, kinds
    signed = [line for lines in sheets[1:] for line in lines if line[0] == "signed"]
    assert 0.2 <= sum(bool(line[4]) for line in signed) / len(signed) <= 0.4


def test_varied_names_and_the_nickname_tables():
    from nicknames import NickNamer

    from pipeline.names import fold

    rng = random.Random(0)
    eli = hw.Signer("Rebecca", "Okafor", False, " J.", "", "caps")
    assert eli.written() == "REBECCA J. OKAFOR"
    assert eli.varied("same", rng, connected=False).written() == "REBECCA J. OKAFOR"
    assert eli.varied("case", rng, connected=False).written() in ("Rebecca J. Okafor", "Rebecca J. OKAFOR")
    assert eli.varied("middle", rng, connected=False).written() == "REBECCA OKAFOR"
    assert eli.varied("nickname", rng, connected=False).written() == "BECKY J. OKAFOR"
    assert eli.varied("same", rng, connected=True).written() == "Rebecca J. Okafor"  # no joined-up capitals
    added = hw.Signer("Ana", "Ruiz", False, "", "", "as_is").varied("middle", rng, connected=False).written()
    assert len(added.split()) == 3 and added.startswith("Ana ") and added.endswith(" Ruiz")
    nguyen = hw.Signer("Văn An", "Nguyễn", True, "", "", "as_is")
    assert not nguyen.can_vary("middle", False) and not nguyen.can_vary("nickname", False)
    pool = set(hw.first_names())
    namer = NickNamer()
    for given, short in hw.NICKNAMES.items():
        assert given in pool and fold(short) in namer.nicknames_of(fold(given).replace(" ", "")), given
    for given, short in hw.OTHER_SHORT_FORMS.items():
        assert given in pool and fold(short) not in namer.nicknames_of(fold(given).replace(" ", "")), given
