"""What the pixels show that the models read past: a word gap they ran together, an accent mark above a
letter they read plain; and the name lists' accented spellings."""

from __future__ import annotations

import random

import numpy as np
import pytest

from scanner.handwriting import marks_above, read_name, word_breaks
from scanner.name_prior import accent_unsure, known_names

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


def test_a_speck_is_not_an_accent():
    line, frames = _line([(22, 6)] * 4, height=40)
    centre = frames[1][0] * STEP + STEP // 2
    line[3:5, centre : centre + 2] = 0  # 2 px: under a tenth of the writing's height
    assert marks_above(line, frames, steps=line.shape[1] // STEP, written="LINA") == frozenset()


def test_the_lists_know_accented_spellings():
    assert "benoit" in known_names() and "adelaide" in known_names()
    assert accent_unsure("Benoit") and accent_unsure("Ines")
    assert not accent_unsure("Benoît") and not accent_unsure("John")
    # Surnames from many countries, accents kept (Faker's locale lists): not in the US Census list.
    assert "jorgensen" in known_names() and accent_unsure("Zuniga") and not accent_unsure("Rodríguez")


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
