"""Let the pixels decide between a line's candidate voters: the name crop kept at `add` is run through the
PP-OCR recognizer again and each candidate's name is scored by its CTC log-likelihood (scanner/ctc.py, the
forward algorithm over every alignment), the same evidence the reader uses to choose among name-list spellings.

A candidate's gap is how much worse the crop explains the candidate's name, written as a signer would ("First
Last", with a middle initial, or the two run together), than the best text: the line's reading or another
candidate, and for a name that differs from the reading also the recognizer's own best path. A registered
signer misread by a letter the crop leaves in doubt scores close to the best; a look-alike voter whose name
differs by a letter the crop shows clearly scores nats lower. Thresholds were chosen on the calibration
handwriting fonts (samples/handwriting.py) and measured on the held-out test fonts (BENCHMARKS.md).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from pipeline.names import fold, same_given_name
from pipeline.store.voters import Voter
from scanner import ctc
from scanner.handwriting import CHARSETS, prepare, tidy_reading
from scanner.ocr import TextKind
from scanner.pp_ocr import Model, PpOcrRecognizer

_NAME_CHARSET = CHARSETS[TextKind.NAME]


class CropScorer:
    """Scores candidate names against name crops; loads the recognizer once, on first use."""

    def __init__(self, recognizer: PpOcrRecognizer | None = None, *, model: Model = Model.V6_SMALL) -> None:
        self._recognizer = recognizer
        self._model = model

    def matrix(self, crop_path: Path) -> ctc.FoldedMatrix | None:
        """The recognizer's folded probabilities for a stored crop; None when the crop cannot be read."""
        image = cv2.imread(str(crop_path), cv2.IMREAD_GRAYSCALE)
        if image is None or image.size == 0 or not (image < 200).any():
            return None
        if self._recognizer is None:
            self._recognizer = PpOcrRecognizer()
        probabilities = self._recognizer.probabilities(prepare(image), self._model)
        return ctc.fold_matrix(probabilities, _NAME_CHARSET)

    def gaps(self, matrix: ctc.FoldedMatrix, reading: str, voters: Sequence[Voter], differs: Sequence[bool], *,
             middle: str = "", first: str = "", suffix: str = "") -> list[tuple[float, float]]:
        """Per voter: (gap in nats, the name's log-likelihood). The gap of a voter whose name is the reading is
        measured from the best of the reading and the candidates; of a voter whose name differs from the reading
        (`differs`), from the recognizer's own best path too, so that the crop must show that spelling, not just
        allow it (Wu/Wv, Gallagher/Gollagher: a look-alike the pixels do not refute is not proof).
        `middle`: an initial read on the line (a signer may add one the voter file lacks); `first`: the first name
        read, scored for a voter whose first name it is a nickname of (Abby for Abigail); `suffix`: a generation
        suffix read at the end of the line (Jr, III), which the voter file's name seldom carries."""
        likelihoods = [max(_likelihood(matrix, t) for t in written_forms(voter, middle, first, suffix))
                       for voter in voters]
        finite = [x for x in [_likelihood(matrix, reading), *likelihoods] if np.isfinite(x)]
        if not finite:
            return [(1e6, float("-inf")) for _ in voters]
        base = max(finite)
        # The recognizer's own best path, tidied as the reader tidies its readings: a period after a final "Jr"
        # or a stray mark at an end is no part of any name, and kept it made every other spelling look worse.
        greedy = tidy_reading(ctc.greedy(matrix.source, ctc.allowed_columns(matrix.source.model, _NAME_CHARSET)).text)
        strict = max(base, _likelihood(matrix, greedy)) if greedy else base
        return [(round((strict if other else base) - x, 3) if np.isfinite(x) else 1e6, x)
                for x, other in zip(likelihoods, differs)]


def written_forms(voter: Voter, written_middle: str = "", written_first: str = "", written_suffix: str = "") -> set[str]:
    """How a voter's name may be written on a sheet (case and accents do not matter: CTC scores them folded):
    with or without their middle name or its initial; with an initial the line shows (people add one the voter
    file lacks, never a whole middle name); with the nickname or short form the line shows; with the suffix the
    line shows; each word's first I or l spelled either way (with_bar_homoglyphs)."""
    first, middle, last = voter.first_name, voter.middle_name.strip(". "), voter.last_name
    if not first:
        return {last}
    firsts = {first} | ({written_first} if written_first and same_given_name(
        fold(written_first).replace(" ", ""), fold(first).replace(" ", "")) else set())
    shown = {middle} | ({written_middle.strip(". ")} if len(written_middle.strip(". ")) == 1 else set())
    # A middle of several words with initials among them ("JOSÉ A. LÓPEZ"): signers write the words, not the
    # initials the file adds.
    shown.add(" ".join(word for word in middle.split() if len(word.strip(".")) > 1))
    forms = set()
    for given in firsts:
        forms |= {f"{given} {last}", f"{given}{last}", f"{last} {given}"}
        for m in shown - {""}:
            forms |= {f"{given} {m[:1]} {last}", f"{given} {m[:1]}. {last}", f"{given} {m} {last}"}
    if written_suffix:
        forms |= {f"{form} {written_suffix}" for form in forms}
    return {variant for form in forms for variant in with_bar_homoglyphs(form)}


# At most this many words starting with a bare bar get both spellings (2**n forms): more is never a name.
MAX_BAR_WORDS = 3


def with_bar_homoglyphs(form: str) -> set[str]:
    """The form with each word's first letter I or l spelled either way: a capital I and a small l are the same
    bare bar in most hands, and the recognizer reads it by context (IYER read "lyer"), as the reader itself
    allows (scanner.handwriting.HOMOGLYPHS). CTC scores letters folded, so only I/l need the second spelling."""
    starts = [m.start() for m in re.finditer(r"\b\w", form) if form[m.start()] in "IiLl"][:MAX_BAR_WORDS]
    variants = set()
    for choice in itertools.product((False, True), repeat=len(starts)):
        letters = list(form)
        for position, swapped in zip(starts, choice):
            if swapped:
                letters[position] = "l" if letters[position] in "Ii" else "I"
        variants.add("".join(letters))
    return variants


def _likelihood(matrix: ctc.FoldedMatrix, text: str) -> float:
    return ctc.log_likelihood(matrix, text)
