"""Handwritten fields read by the PP-OCR recognizers: a cascade of models, a name-list prior that proposes
spellings the pixels then judge, and the evidence a calibrated confidence is computed from.

Names: v6-small and v6-tiny read the crop; the readings' words that no name list knows get near names from the
lists as alternatives, a word that is two known names run together gets its space back, and every candidate
text is scored by its CTC likelihood under both models plus a bonus for known names. v5-mobile is asked
only when the two disagree. Never a closed vocabulary: a name on no list is still read as written.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np

from scanner import ctc
from scanner.name_prior import accent_unsure, fold, name_weight, near_names
from scanner.ocr import OcrResult, TextKind
from scanner.pp_ocr import LineProbabilities, Model, PpOcrRecognizer
from scanner.textread import tidy_text

LATIN = "latin"  # stands for every Latin letter, accented ones included
CHARSETS: dict[TextKind, frozenset[str]] = {
    TextKind.NAME: frozenset({LATIN, " ", "-", "'", "."}),
    TextKind.ADDRESS: frozenset({LATIN, *string.digits, *" -'.,#/"}),
    TextKind.ZIP: frozenset({*string.digits, "-"}),
    TextKind.DATE: frozenset({*string.digits, *"/-."}),
    TextKind.EMAIL: frozenset({*string.ascii_letters, *string.digits, *"@._-+"}),
}
KNOWN_NAME_BONUS = 2.0  # nats per known name part: a list name wins a near tie, never against clear pixels
MAX_ALTERNATIVES = 6


@dataclass(frozen=True)
class Evidence:
    """What the confidence of a read is computed from (also what the calibration is fit on)."""

    text: str
    models_agreeing: int  # models whose own best reading (folded) equals the chosen text
    models_run: int
    min_char_prob: float  # weakest character of the chosen text along its best alignment (v6-small)
    mean_log_prob: float  # per character, CTC log-likelihood of the text under v6-small
    margin: float  # nats between the chosen text and the best different candidate (capped)
    known_parts: int  # name parts a list knows
    parts: int
    changed_by_prior: bool  # the lists changed what the models read
    contrast: float  # 0..1, how dark the writing is against the paper
    accent_doubt: float = 0.0  # 0..1, how split the pixels are between a letter's accented and plain forms
    accent_unsure_parts: int = 0  # name parts the lists spell with accents other than those read


@dataclass(frozen=True)
class Reading:
    text: str
    evidence: Evidence


def prepare(crop: np.ndarray) -> np.ndarray:
    """A cleaned crop as the recognizers read it best (measured on rendered names): only the main line of
    writing, a little white margin, and pale ink stretched to full contrast so faint ballpoint reads like dark."""
    crop = main_text_band(crop)
    height = crop.shape[0]
    ink = crop[crop < 250]
    darkest = float(np.percentile(ink, 5)) if ink.size else 0.0
    stretched = np.clip((crop.astype(np.float32) - darkest) * (255.0 / max(255.0 - darkest, 1.0)), 0, 255)
    pad_v, pad_h = int(0.1 * height) + 2, int(0.2 * height) + 2
    return cv2.copyMakeBorder(stretched.astype(np.uint8), pad_v, pad_v, pad_h, pad_h, cv2.BORDER_CONSTANT, value=255)


def main_text_band(crop: np.ndarray) -> np.ndarray:
    """The crop cut to its main line of writing: a label remnant or a speck far above or below would make the
    crop tall and the name tiny once scaled to the recognizer's 48 px."""
    ink = (crop < 200).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count <= 2:
        return crop
    areas = stats[1:, cv2.CC_STAT_AREA]
    centre = int(np.average(stats[1:, cv2.CC_STAT_TOP] + stats[1:, cv2.CC_STAT_HEIGHT] / 2, weights=areas))
    tall = int(np.percentile(stats[1:, cv2.CC_STAT_HEIGHT], 90, method="nearest"))
    top, bottom = centre - tall, centre + tall
    keep = [i + 1 for i, (y, h) in enumerate(zip(stats[1:, cv2.CC_STAT_TOP], stats[1:, cv2.CC_STAT_HEIGHT]))
            if y + h > top and y < bottom]
    rows = np.flatnonzero(np.isin(labels, keep).any(axis=1))
    if rows.size == 0:
        return crop
    cleaned = np.where(np.isin(labels, keep) | (ink == 0), crop, 255).astype(np.uint8)
    return cleaned[rows[0] : rows[-1] + 1]


def contrast_of(crop: np.ndarray) -> float:
    ink = crop[crop < 250]
    return 0.0 if ink.size == 0 else round(1.0 - float(np.percentile(ink, 5)) / 255.0, 3)


def read_name(crop: np.ndarray, recognizer: PpOcrRecognizer) -> Reading:
    """The cascade for a name crop: two models, candidates from the lists, a third model on disagreement."""
    line = prepare(crop)
    charset = CHARSETS[TextKind.NAME]
    matrices = {}
    readings = {}
    for model in (Model.V6_SMALL, Model.V6_TINY):
        matrices[model], readings[model] = _run(recognizer, line, model, charset)
    if fold(readings[Model.V6_SMALL]) != fold(readings[Model.V6_TINY]):
        matrices[Model.V5_MOBILE], readings[Model.V5_MOBILE] = _run(recognizer, line, Model.V5_MOBILE, charset)
    candidates = _candidates(readings.values())
    scored = _score_candidates(candidates, matrices)
    best_text, best_score = scored[0]
    shown = candidates[best_text]
    runner_up = next((s for t, s in scored[1:] if ctc.fold_text(t) != ctc.fold_text(best_text)), best_score - 20.0)
    small = matrices[Model.V6_SMALL]
    aligned = ctc.align(small, shown)
    breaks = word_breaks(line, aligned.frames, steps=len(small.probs), shown=shown)
    marked = marks_above(line, aligned.frames, steps=len(small.probs), written=aligned.written)
    written = with_marked_accents(aligned.written, small, aligned.frames, marked)
    text = tidy_text(_respace(written, shown, best_text, breaks), TextKind.NAME)
    evidence = Evidence(
        text=text,
        models_agreeing=sum(ctc.fold_text(r) == ctc.fold_text(best_text) for r in readings.values()),
        models_run=len(readings),
        min_char_prob=round(min(aligned.char_probs), 4) if aligned.char_probs else 0.0,
        mean_log_prob=ctc.log_likelihood(small, shown) / max(len(shown), 1) if shown else -20.0,
        margin=min(20.0, best_score - runner_up),
        known_parts=sum(name_weight(p) > 0 for p in _parts(text)),
        parts=len(_parts(text)),
        changed_by_prior=all(ctc.fold_text(best_text) != ctc.fold_text(r) for r in readings.values()),
        contrast=contrast_of(crop),
        accent_doubt=aligned.accent_doubt,
        accent_unsure_parts=sum(accent_unsure(p) for p in _parts(text)),
    )
    return Reading(text, evidence)


def read_other(crop: np.ndarray, kind: TextKind, recognizer: PpOcrRecognizer) -> Reading:
    """Address, zip, date, email: v6-small in the field's alphabet, v6-tiny as a second opinion."""
    line = prepare(crop)
    charset = CHARSETS[kind]
    small, small_text = _run(recognizer, line, Model.V6_SMALL, charset)
    _, tiny_text = _run(recognizer, line, Model.V6_TINY, charset)
    text = " ".join(small_text.split())
    evidence = Evidence(text, 1 + (" ".join(tiny_text.split()) == text), 2, _min_char_prob(small, text),
                        ctc.log_likelihood(small, text) / max(len(text), 1) if text else -20.0, 0.0, 0, 0, False,
                        contrast_of(crop))
    return Reading(text, evidence)


def _run(recognizer: PpOcrRecognizer, line: np.ndarray, model: Model,
         charset: frozenset[str]) -> tuple[ctc.FoldedMatrix, str]:
    lines: LineProbabilities = recognizer.probabilities(line, model)
    decoded = ctc.greedy(lines, ctc.allowed_columns(model, charset))
    return ctc.fold_matrix(lines, charset), _tidy(decoded.text)


def _tidy(text: str) -> str:
    """Spaces collapsed, none around a hyphen ("Hyun -woo"), stray punctuation at the ends dropped (a speck
    read as '.' or an apostrophe)."""
    return re.sub(r"\s*-\s*", "-", " ".join(text.split())).strip(" -'.,")


def _parts(text: str) -> list[str]:
    return [p for token in text.split() for p in token.split("-") if len(fold(p)) > 1]


def _candidates(readings) -> dict[str, str]:
    """Candidate texts, each with what the pixels must show for it: each model's reading, and the reading with
    one name part at a time replaced by a near list name or split into two known names. A restored space is
    not asked of the pixels: the writer left none."""
    found: dict[str, str] = {}
    for reading in readings:
        if not reading:
            continue
        found.setdefault(reading, reading)
        words = reading.split()
        for position, word in enumerate(words):
            pieces = word.split("-")
            for index, piece in enumerate(pieces):
                for alternative in _part_alternatives(piece, may_split=len(words) == 1 and len(pieces) == 1):
                    new_word = "-".join(pieces[:index] + [alternative] + pieces[index + 1 :])
                    before, after = words[:position], words[position + 1 :]
                    shown = "-".join(pieces[:index] + [alternative.replace(" ", "")] + pieces[index + 1 :])
                    found.setdefault(" ".join(before + [new_word] + after), " ".join(before + [shown] + after))
    return found or {"": ""}


def _part_alternatives(part: str, *, may_split: bool) -> list[str]:
    """Near names for a name part (a letter or two off), and, when the whole reading is one word (a person
    writes at least two names), the word split into two known names: first and last name run together."""
    letters = fold(part)
    if len(letters) < 2 or not part.replace("'", "").isalpha():
        return []
    weight = name_weight(letters)
    if weight >= 1.0:  # a common name as read: a near spelling almost never wins, and looking costs ~10 ms
        return []
    alternatives = [n for n in near_names(letters, limit=MAX_ALTERNATIVES) if n != letters]
    if may_split and len(letters) >= 4:
        for cut in range(2, len(letters) - 1):
            if name_weight(letters[:cut]) > 0 and name_weight(letters[cut:]) > 0:
                alternatives.append(f"{letters[:cut]} {letters[cut:]}")
    return alternatives


def _score_candidates(candidates: dict[str, str], matrices: dict[Model, ctc.FoldedMatrix]) -> list[tuple[str, float]]:
    """Candidates best first: mean CTC log-likelihood over the models run, plus the name-list bonus."""
    scored = []
    for candidate, shown in candidates.items():
        likelihood = sum(ctc.log_likelihood(m, shown) for m in matrices.values()) / len(matrices)
        bonus = KNOWN_NAME_BONUS * sum(min(1.0, name_weight(p)) for p in _parts(candidate))
        scored.append((candidate, likelihood + bonus if math.isfinite(likelihood) else -1e9))
    return sorted(scored, key=lambda item: -item[1])


def _respace(written: str, shown: str, spaced: str, breaks: frozenset[int] = frozenset()) -> str:
    """The written form of `shown` with the spaces that a list split restored ("JUNEYOON" -> "JUNE YOON")
    and those the pixels show after the positions in breaks."""
    out, j = [], 0
    for char in spaced:
        if j < len(shown) and (char == " ") == (shown[j] == " "):
            out.append(written[j])
            if j in breaks:
                out.append(" ")
            j += 1
        else:
            out.append(" ")
    return " ".join("".join(out).split())


# The least weight the models must give a letter's accented forms along its frames for a mark above it to
# count as its accent: below it, the mark was a speck or a stray stroke (measured on the calibration fonts).
MIN_ACCENT_MASS = 0.01
_DOTTED = frozenset("ij")  # a mark above a small i or j is its dot


def marks_above(line: np.ndarray, frames: tuple[tuple[int, ...], ...], *, steps: int, written: str) -> frozenset[int]:
    """Positions of letters with a separate small mark above them: an accent the models read past.

    At 200 dpi a handwritten accent is a few pixels; the recognizers, trained mostly on print, often
    read "É" as "E" although the mark is plain to see. A mark is a component a fraction of the writing's
    height whose bottom is above the top of the letter under it; it belongs to the letter whose centre is
    nearest. A mark over a stem (a letter narrower than a quarter of the writing's height) is an i's or
    j's dot, unless the letter there was read as a capital I.
    """
    if len(frames) != len(written) or steps <= 0:
        return frozenset()
    ink = line < LINE_INK
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    height = _writing_height(ink)
    if count <= 2 or height == 0:
        return frozenset()
    per_step = line.shape[1] / steps
    centres = [(j, (f[0] + f[-1] + 1) / 2 * per_step) for j, f in enumerate(frames) if f and not written[j].isspace()]
    if not centres:
        return frozenset()
    boxes = [tuple(int(v) for v in stats[i, :4]) for i in range(1, count)]
    found = set()
    for x, y, w, h in boxes:
        # Bigger than a speck (a tenth of the writing's height), smaller than a letter.
        if h > 0.45 * height or w > 0.8 * height or max(w, h) < 0.1 * height:
            continue
        body = _body_below(boxes, x, y + h, w, height)
        if body is None:
            continue
        middle = x + w / 2
        nearest, centre = min(centres, key=lambda item: abs(item[1] - middle))
        if abs(centre - middle) > 0.5 * height or not written[nearest].isalpha():
            continue
        if body[2] < 0.25 * height and written[nearest] != "I":
            continue
        found.add(nearest)
    return frozenset(found)


def _body_below(boxes, x: int, bottom: int, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The letter-sized component under the columns of a mark, starting below the mark's bottom."""
    for bx, by, bw, bh in boxes:
        overlap = min(x + width, bx + bw) - max(x, bx)
        if overlap > 0 and bh >= 0.45 * height and by >= bottom - 1:
            return bx, by, bw, bh
    return None


def with_marked_accents(written: str, matrix: ctc.FoldedMatrix, frames: tuple[tuple[int, ...], ...],
                        marked: frozenset[int]) -> str:
    """written with an accented form for each plain letter that has a mark above it: the accented variant
    the models weigh most along the letter's frames, if they weigh it at all. (Taking the accent the name
    lists give the word instead turned specks into accents: "Muller" -> "Müller".)"""
    if not marked:
        return written
    out = list(written)
    probs, names = matrix.source.probs, matrix.source.alphabet
    for j in marked:
        char = written[j]
        base = ctc.fold_char(char)
        if char in _DOTTED or char != base and char != base.upper() or base not in matrix.index:
            continue  # a dot, or already accented
        accented = [c for c in matrix.variants[matrix.index[base]] if _accent_above(names[c])]
        mass = probs[np.ix_(list(frames[j]), accented)].sum(axis=0) if accented and frames[j] else np.zeros(0)
        if not mass.size or float(mass.max()) < MIN_ACCENT_MASS:
            continue
        choice = names[accented[int(mass.argmax())]]
        out[j] = choice.upper() if char.isupper() else choice.lower()
    return "".join(out)


def _accent_above(char: str) -> bool:
    """A letter whose diacritic sits above it (acute, grave, circumflex, diaeresis, tilde, ring, caron, breve)."""
    marks = unicodedata.normalize("NFD", char)[1:]
    return bool(marks) and all(unicodedata.combining(m) == 230 for m in marks)


def word_breaks(line: np.ndarray, frames: tuple[tuple[int, ...], ...], *, steps: int, shown: str) -> frozenset[int]:
    """Positions i where the pixels show a word gap between letters shown[i] and shown[i + 1] that the
    models read as one word ("REEMKHOURY", "GLADYSHUNTINGTON"): the recognizers often drop a narrow space.

    A gap counts when its empty columns are wider than half the writing's height and well over the
    writer's own gaps between letters (a writer of spaced capitals leaves wide gaps inside words too).
    """
    if len(frames) != len(shown) or steps <= 0 or len(shown) < 4:
        return frozenset()
    ink = line < LINE_INK
    ink_columns = ink.any(axis=0)
    height = _writing_height(ink)
    if height == 0:
        return frozenset()
    per_step = line.shape[1] / steps
    gaps: dict[int, int] = {}
    for i in range(len(shown) - 1):
        if not (shown[i].isalpha() and shown[i + 1].isalpha()) or not frames[i] or not frames[i + 1]:
            continue
        start, end = round((frames[i][-1] + 0.5) * per_step), round((frames[i + 1][0] + 0.5) * per_step)
        gaps[i] = _longest_empty_run(ink_columns[start : max(start, end)])
    if not gaps:
        return frozenset()
    usual = float(np.median(list(gaps.values())))
    floor = max(0.5 * height, 2.5 * usual)
    return frozenset(i for i, gap in gaps.items() if gap >= floor)


LINE_INK = 160  # a prepared line's ink (its contrast is stretched: writing is near 0, paper 255)


def _writing_height(ink: np.ndarray) -> int:
    """Rows from the top of the writing to its bottom (0 when there is none)."""
    rows = np.flatnonzero(ink.any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def _longest_empty_run(ink_columns: np.ndarray) -> int:
    longest = current = 0
    for inked in ink_columns:
        current = 0 if inked else current + 1
        longest = max(longest, current)
    return longest


def _min_char_prob(matrix: ctc.FoldedMatrix, text: str) -> float:
    probs = ctc.char_probabilities(matrix, text)
    return round(min(probs), 4) if probs else 0.0


class PpOcrEngine:
    """The handwriting recognizer behind the OcrEngine protocol (one line in, text and per-character
    confidences out): v6-small's best path in the kind's alphabet, for callers that need only that."""

    def __init__(self, recognizer: PpOcrRecognizer | None = None) -> None:
        self._recognizer = recognizer or PpOcrRecognizer()

    def read_line(self, image: np.ndarray, *, kind: TextKind) -> OcrResult:
        charset = CHARSETS.get(kind, CHARSETS[TextKind.ADDRESS])
        lines = self._recognizer.probabilities(prepare(image), Model.V6_SMALL)
        decoded = ctc.greedy(lines, ctc.allowed_columns(Model.V6_SMALL, charset))
        text = _tidy(decoded.text)
        char_confidences = tuple(round(100.0 * p, 1) for p in decoded.char_probs)
        words = tuple(min(char_confidences, default=0.0) for _ in text.split())
        return OcrResult(text, words, char_confidences)
