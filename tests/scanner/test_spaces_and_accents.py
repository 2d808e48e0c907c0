"""What the pixels show that the models read past: a word gap they ran together, an accent mark above a
letter they read plain; and the name lists' accented spellings."""

from __future__ import annotations

import random

import numpy as np
import pytest

from scanner import pp_ocr
from scanner.handwriting import (
    _breaks_outside_known_names,
    _capital_inside,
    _known_weight,
    _homoglyph_spelling,
    _split_glued_initials,
    _with_homoglyphs,
    marks_above,
    read_name,
    with_listed_accents,
    word_breaks,
)
from scanner.textread import tidy_text
from scanner.ocr import TextKind
from scanner.name_prior import accent_unsure, fold, known_names

STEP = 8  # columns per CTC time step in these synthetic lines


def _line(widths_and_gaps: list[tuple[int, int]], *, height: int = 40) -> tuple[np.ndarray, tuple[tuple[int, ...], ...]]:
    """A line of letter blobs (width, gap after) and, for each, the time steps at its centre."""
    total = sum(w + g for w, g in widths_and_gaps) + 20
    line = np.full((height + 20, total), 255, np.uint8)
    frames, x = [], 10
    for width, gap in widths_and_gaps:
        line[10 : 10 + height, x : x + width] = 0
        frames.append((int((x + width / 2) // STEP),))
        x += width + gap
    return line, tuple(frames)


def test_a_wide_gap_the_models_ran_together_becomes_a_space():
    line, frames = _line([(16, 5)] * 3 + [(16, 30)] + [(16, 5)] * 5)
    breaks = word_breaks(line, frames, steps=line.shape[1] // STEP, shown="REEMKHOURY"[:9])
    assert breaks == frozenset({3})


def test_even_gaps_and_a_spaced_capitals_hand_make_no_space():
    even, frames = _line([(16, 6)] * 9)
    assert word_breaks(even, frames, steps=even.shape[1] // STEP, shown="ABCDEFGHI") == frozenset()
    # A writer who leaves 22 px between capitals: a 30 px gap is one of theirs, not a word break.
    spaced, frames = _line([(16, 22)] * 4 + [(16, 30)] + [(16, 22)] * 4)
    assert word_breaks(spaced, frames, steps=spaced.shape[1] // STEP, shown="ABCDEFGHI") == frozenset()


def _with_mark(line: np.ndarray, frames, index: int, *, size: int = 7) -> np.ndarray:
    marked = line.copy()
    centre = frames[index][0] * STEP + STEP // 2
    marked[2 : 2 + size // 2, centre - size // 2 : centre + size // 2] = 0
    return marked


def test_a_mark_above_a_letter_is_found_and_a_dot_over_a_small_i_is_not():
    line, frames = _line([(22, 6), (22, 6), (22, 6), (22, 6)], height=30)
    marked = _with_mark(line, frames, 2)
    assert marks_above(marked, frames, steps=marked.shape[1] // STEP, written="THEO") == frozenset({2})
    assert marks_above(line, frames, steps=line.shape[1] // STEP, written="THEO") == frozenset()
    stems, frames = _line([(22, 6), (6, 6), (22, 6)], height=30)
    dotted = _with_mark(stems, frames, 1)
    assert marks_above(dotted, frames, steps=dotted.shape[1] // STEP, written="Lin") == frozenset()
    assert marks_above(dotted, frames, steps=dotted.shape[1] // STEP, written="LIN") == frozenset({1})


def test_a_wide_mark_or_two_marks_over_a_small_i_are_an_accent():
    stems, frames = _line([(22, 6), (6, 6), (22, 6)], height=30)
    centre = frames[1][0] * STEP + STEP // 2
    circumflex = stems.copy()
    circumflex[3:6, centre - 7 : centre + 7] = 0  # 14 px wide over a 6 px stem: î
    assert marks_above(circumflex, frames, steps=stems.shape[1] // STEP, written="Lin") == frozenset({1})
    diaeresis = stems.copy()
    stem_left = 10 + 22 + 6  # _line's margin, then the first blob and its gap
    diaeresis[3:7, stem_left - 2 : stem_left + 2] = 0
    diaeresis[3:7, stem_left + 4 : stem_left + 8] = 0  # two dots, one over each edge of the stem: ï
    assert marks_above(diaeresis, frames, steps=stems.shape[1] // STEP, written="Lin") == frozenset({1})


def test_a_mark_over_a_small_letter_beside_an_ascender_is_found():
    # "Hé": a capital 40 px tall, then a small letter 15 px tall on the same baseline with a mark above it.
    # The small letter is under half the writing's height (ascender to baseline) yet is the mark's letter.
    line = np.full((60, 80), 255, np.uint8)
    line[10:50, 10:30] = 0  # H
    line[35:50, 40:58] = 0  # e
    line[26:31, 46:52] = 0  # its accent, 4 px clear of it
    frames = ((20 // STEP,), (49 // STEP,))
    assert marks_above(line, frames, steps=line.shape[1] // STEP, written="He") == frozenset({1})
    line[26:31, 46:52] = 255
    assert marks_above(line, frames, steps=line.shape[1] // STEP, written="He") == frozenset()


def test_the_prior_never_rewards_splitting_a_known_name_in_two():
    # Donnel and Ly are both list names, but together they spell Donnelly: split, they weigh what it does.
    assert _known_weight(["Donnel", "ly"]) <= _known_weight(["Donnelly"])
    # A particle is a word of its own: "de la Cruz" weighs its three known words.
    assert _known_weight(["de", "la", "Cruz"]) == 3 * _known_weight(["Cruz"])
    # A long list name pulls harder than a short one; a short one still counts whole, an unknown one not at all.
    assert _known_weight(["Bergström"]) > _known_weight(["Vu"]) == 1.0
    assert _known_weight(["Xqzvw"]) == 0.0


def test_a_speck_is_not_an_accent():
    line, frames = _line([(22, 6)] * 4, height=40)
    centre = frames[1][0] * STEP + STEP // 2
    line[3:5, centre : centre + 2] = 0  # 2 px: under a tenth of the writing's height
    assert marks_above(line, frames, steps=line.shape[1] // STEP, written="LINA") == frozenset()


def test_a_bar_starting_a_small_letter_word_may_be_either_an_i_or_an_l():
    assert _homoglyph_spelling("Iuis", "luis") and _homoglyph_spelling("lrene", "irene")
    assert not _homoglyph_spelling("IVAN", "lvan")  # in capitals an I is an I
    assert not _homoglyph_spelling("Ellen", "eilen")  # inside a word an l is told from an i by the dot
    assert _with_homoglyphs("josé Iuis salazar", "josé luis salazar") == "josé luis salazar"
    assert _with_homoglyphs("lrene Adler", "irene Adler") == "Irene Adler"
    assert _with_homoglyphs("Ellen Ray", "Ellen Ray") == "Ellen Ray"
    # Tesseract's rule (a name never starts with a small l) stays for Tesseract, not for the lists' reader.
    assert tidy_text("luis", TextKind.NAME) == "Iuis"
    assert tidy_text("silas lefebvre", TextKind.NAME, initial_l_is_i=False) == "silas lefebvre"
    assert tidy_text("BJORN KHAN Il", TextKind.NAME, initial_l_is_i=False) == "BJORN KHAN II"


def test_a_capital_inside_a_word_starts_a_new_name_except_after_a_family_prefix():
    assert _capital_inside("MamadouDoumbia") == [7]
    assert _capital_inside("KadiatouBa") == [8]
    assert _capital_inside("McAllister") == [] and _capital_inside("MacDonald") == [] and _capital_inside("DeShawn") == []
    assert _capital_inside("JaKub") == []  # two letters: more often a case slip than two names
    assert _capital_inside("ROSA") == [] and _capital_inside("rosa") == []


def test_a_middle_initial_glued_to_a_known_name_is_set_apart():
    assert _split_glued_initials("DOLORESF.GARCÍA") == "DOLORES F. GARCÍA"
    assert _split_glued_initials("FaisalM. AHMADI") == "Faisal M. AHMADI"
    assert _split_glued_initials("Xqzvw. Smith") == "Xqzvw. Smith"  # no known name before the letter
    assert _split_glued_initials("J.R. Smith") == "J.R. Smith"
    assert _split_glued_initials("amani r.gebremedhin") == "amani r. gebremedhin"  # initial glued after
    assert _split_glued_initials("R.Xqzvw") == "R. Xqzvw"  # ...whatever the name after it
    assert _split_glued_initials("J.R.") == "J.R."  # two initials stay together
    assert _split_glued_initials("Anna-MarieE. Montgomery") == "Anna-Marie E. Montgomery"  # a hyphenated name
    assert _split_glued_initials("Chloe-AnnJ Muller") == "Chloe-Ann J Muller"  # a capital after small letters
    assert _split_glued_initials("MaryK Smith") == "Mary K Smith"
    assert _split_glued_initials("ANNJ Smith") == "ANNJ Smith"  # all capitals: nothing shows an initial
    assert _split_glued_initials("Ann LeeJ") == "Ann LeeJ"  # the last word: a surname's letter, not a middle initial
    assert _split_glued_initials("JohnA Smith") == "JohnA Smith"  # Johna is a name itself


def test_a_wide_gap_inside_a_known_name_is_the_writers_spacing():
    assert _breaks_outside_known_names(frozenset({6}), "Kai Williams") == frozenset()
    assert _breaks_outside_known_names(frozenset({3}), "REEMKHOURY") == frozenset({3})
    # Inside "Smith" (after its i) and inside the unknown "Qzxwvk" (after its Q).
    assert _breaks_outside_known_names(frozenset({6, 11}), "Ana Smith-Qzxwvk") == frozenset({11})


@pytest.mark.slow
def test_two_names_written_close_with_capitals_get_their_space_back():
    from tests.scanner.test_handwriting import written

    first, second = written("Mamadou"), written("Doumbia")[:, 4:]
    tall = max(first.shape[0], second.shape[0])
    # Neither name has a descender: pad the shorter at the top, so that the two stand on one baseline.
    first, second = (np.pad(a, ((tall - a.shape[0], 0), (0, 0)), constant_values=255) for a in (first, second))
    tight = np.hstack([first, second])
    assert read_name(tight, pp_ocr.PpOcrRecognizer()).text == "Mamadou Doumbia"


def test_the_lists_know_accented_spellings():
    assert "benoit" in known_names() and "adelaide" in known_names()
    assert accent_unsure("Benoit") and accent_unsure("Ines")
    assert not accent_unsure("Benoît") and not accent_unsure("John")
    # Surnames from many countries, accents kept (Faker's locale lists): not in the US Census list.
    assert "jorgensen" in known_names() and accent_unsure("Zuniga") and not accent_unsure("Rodríguez")


def test_letters_with_a_stroke_fold_to_their_base_letter():
    """ı, ø, ł, đ have no decomposition into letter and mark: folded as they were, "Yılmaz" was listed under
    "yılmaz", so a reading of "Yilmaz" was neither a known name nor one whose accent might have been lost."""
    assert fold("Yılmaz") == "yilmaz" and fold("Jørgensen") == "jorgensen" and fold("Michał") == "michal"
    assert fold("Đặng") == "dang" and fold("Æbelø") == "aebelo"
    assert "yilmaz" in known_names() and accent_unsure("Yilmaz") and not accent_unsure("Yılmaz")
    assert accent_unsure("Jorgensen") and not accent_unsure("Jørgensen")
    # Vietnamese middle names are a list of their own in Faker's locale (Thị, Văn).
    assert accent_unsure("Thi") and not accent_unsure("Thị")


def _matrix(text: str, accent_weight: dict[int, tuple[str, float]]):
    """A v6-small probability matrix that reads `text` one character a frame, giving some of a letter's weight
    to an accented form where asked: {position: (accented letter, weight)}."""
    from scanner import ctc
    from scanner.handwriting import CHARSETS

    alphabet = pp_ocr.alphabet(pp_ocr.Model.V6_SMALL)
    column = {c: i for i, c in enumerate(alphabet) if i}
    probs = np.full((len(text), len(alphabet)), 1e-6, dtype=np.float32)
    for step, char in enumerate(text):
        accented, weight = accent_weight.get(step, (char, 0.0))
        probs[step, column[char]] = 1.0 - weight
        probs[step, column[accented]] += weight
    lines = pp_ocr.LineProbabilities(pp_ocr.Model.V6_SMALL, probs / probs.sum(axis=1, keepdims=True), alphabet)
    return ctc.fold_matrix(lines, CHARSETS[TextKind.NAME]), tuple((i,) for i in range(len(text)))


def test_a_stroked_letter_is_scored_with_its_base_letter():
    """A written ł is read as l (or t), ø as o: scored as classes of their own, a voter's "JAROSŁAW" was the
    crop's worst explanation though the writer wrote it (a calibration-split line went 'not found' so)."""
    from scanner import ctc

    matrix, _ = _matrix("Jaroslaw Sorensen", {})
    plain = ctc.log_likelihood(matrix, "jaroslaw sorensen")
    assert ctc.log_likelihood(matrix, "JAROSŁAW SØRENSEN") == pytest.approx(plain)
    assert ctc.log_likelihood(matrix, "Jarosław Sørensen") > -1.0


def test_an_accent_the_lists_know_is_written_only_where_the_pixels_support_it():
    # The models read past the acute of Sánchez but still weigh it: the lists' spelling is taken, case kept.
    assert with_listed_accents("Esteban Sanchez", *_matrix("Esteban Sanchez", {9: ("á", 0.2)})) == "Esteban Sánchez"
    assert with_listed_accents("SANCHEZ", *_matrix("SANCHEZ", {1: ("Á", 0.2)})) == "SÁNCHEZ"
    # No weight on the accented form: the name stays as read, however the lists spell it (every Muller is no Müller).
    assert with_listed_accents("Esteban Sanchez", *_matrix("Esteban Sanchez", {9: ("á", 0.01)})) == "Esteban Sanchez"
    assert with_listed_accents("Muller", *_matrix("Muller", {})) == "Muller"
    # Weight on an accent no list spells the word with changes nothing: the lists propose, the pixels confirm.
    assert with_listed_accents("Smith", *_matrix("Smith", {2: ("í", 0.5)})) == "Smith"
    # Every accent the spelling adds must be supported: Rodríguez needs its í, not only some mass somewhere.
    assert with_listed_accents("Rodriguez", *_matrix("Rodriguez", {1: ("ó", 0.5)})) == "Rodriguez"
    assert with_listed_accents("Rodriguez", *_matrix("Rodriguez", {4: ("í", 0.3)})) == "Rodríguez"


@pytest.mark.slow
@pytest.mark.parametrize(("font", "text"), [("schoolbell", "THÉO W. DUBOIS"), ("permanent-marker", "JOAQUÍN RINCÓN"),
                                            ("sue-ellen-francisco", "REEM KHOURY")])
def test_rendered_accents_and_spaces_are_read(font, text):
    from samples import handwriting
    from scanner.pp_ocr import PpOcrRecognizer

    hand = handwriting.Hand("black", 40, 0.5, 0.0, 1.0, 0.05, "normal")
    ink = handwriting.compose(font, text, 26, hand, random.Random(0), 2.0)
    crop = 255 - np.asarray(ink.mask)
    assert read_name(crop, PpOcrRecognizer()).text == text


def test_the_name_tables_are_cached_once_and_a_damaged_cache_is_rebuilt(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from tests.support import ROOT

    probe = ("import json; from scanner import name_prior as n; t = n.tables(); "
             "print(json.dumps([len(t.known), n.name_weight('Williams'), n.near_names('iuis'), "
             "sorted(n.accented_spellings('Ines')), n.name_weight('qzxw')]))")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}

    def probe_run() -> list:
        done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                              check=True)
        return json.loads(done.stdout)

    built = probe_run()
    files = list((tmp_path / "petition").glob("name-tables-*.marshal"))
    assert len(files) == 1 and built[0] > 100_000 and built[1] == 1.0 and "luis" in built[2]
    assert probe_run() == built  # read back from the cache: the same answers
    files[0].write_bytes(b"\x00garbage")
    assert probe_run() == built  # a damaged cache is rebuilt, not trusted
    assert files[0].read_bytes() != b"\x00garbage"
