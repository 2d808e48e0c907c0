"""Handwritten fields read by the PP-OCR recognizers: a cascade of models, a name-list prior that proposes
spellings the pixels then judge, and the evidence a calibrated confidence is computed from.

Names: v6-small, v6-tiny and v5-mobile read the crop; the readings' words that no name list knows get near names
from the lists as alternatives (a bar read "I" in a small-letter word may be an l), a word that is two known
names run together gets its space back (one word in all, or a capital inside a word), and every candidate text
is scored by its CTC likelihood under the models plus a bonus for known names. Never a closed vocabulary: a
name on no list is still read as written.
"""

from __future__ import annotations

import itertools
import math
import re
import string
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np

from scanner import ctc
from scanner.name_prior import accent_unsure, accented_spellings, fold, name_weight, near_names
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
NAME_MODELS = (Model.V6_SMALL, Model.V6_TINY, Model.V5_MOBILE)
KNOWN_NAME_BONUS = 2.0  # nats per known name part: a list name wins a near tie, never against clear pixels
NAME_LETTERS = 5  # ...of up to this many letters; a longer one earns the bonus per this many of its letters
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
    weakest_log_likelihood: float = 0.0  # the least any model believes the chosen text: min CTC log P(text | crop)


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
    # All three models read every name: three agreeing independent readings (and the weakest model's belief in
    # the chosen text) are what lets a name be accepted without review; asking v5 only on disagreement (as
    # before 2026-12-02) left half as many names above the auto-accept threshold (calibration split, by font).
    for model in NAME_MODELS:
        matrices[model], readings[model] = _run(recognizer, line, model, charset)
    candidates = _candidates(readings.values())
    scored, likelihoods = _score_candidates(candidates, matrices)
    best_text, best_score = scored[0]
    shown = candidates[best_text]
    runner_up = next((s for t, s in scored[1:] if ctc.fold_text(t) != ctc.fold_text(best_text)), best_score - 20.0)
    small = matrices[Model.V6_SMALL]
    aligned = ctc.align(small, shown)
    breaks = word_breaks(line, aligned.frames, steps=len(small.probs), shown=shown)
    marked = marks_above(line, aligned.frames, steps=len(small.probs), written=aligned.written)
    written = with_listed_accents(with_marked_accents(aligned.written, small, aligned.frames, marked), small,
                                  aligned.frames)
    spaced = _with_homoglyphs(_respace(written, shown, best_text, breaks), best_text)
    text = tidy_text(_split_glued_initials(spaced), TextKind.NAME, initial_l_is_i=False)
    evidence = Evidence(
        text=text,
        models_agreeing=sum(ctc.fold_text(r) == ctc.fold_text(best_text) for r in readings.values()),
        models_run=len(readings),
        weakest_log_likelihood=min(likelihoods[best_text].values()),
        min_char_prob=round(min(aligned.char_probs), 4) if aligned.char_probs else 0.0,
        mean_log_prob=likelihoods[best_text][Model.V6_SMALL] / max(len(shown), 1) if shown else -20.0,
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
    tiny, tiny_text = _run(recognizer, line, Model.V6_TINY, charset)
    text = " ".join(small_text.split())
    tiny_text = " ".join(tiny_text.split())
    if kind is TextKind.DATE:
        text, tiny_text = with_slashes_read_as_ones(text, small), with_slashes_read_as_ones(tiny_text, tiny)
    if kind is TextKind.EMAIL:
        text, tiny_text = with_email_shape(text, small), with_email_shape(tiny_text, tiny)
    evidence = Evidence(text, 1 + (tiny_text == text), 2, _min_char_prob(small, text),
                        ctc.log_likelihood(small, text) / max(len(text), 1) if text else -20.0, 0.0, 0, 0, False,
                        contrast_of(crop))
    return Reading(text, evidence)


# Top-level domains (generic and the US's own) an address on a petition ends with: a domain read without a dot
# that ends in one of them gets its dot back.
EMAIL_TLDS = ("info", "com", "org", "net", "edu", "gov", "biz", "mil", "us", "io", "co")
MIN_EMAIL_LENGTH = 5  # a@b.c


def with_email_shape(text: str, matrix: ctc.FoldedMatrix) -> str:
    """An email as read, with the '@' every address has when the reading has none (a handwritten @ is often
    read as l, e, C, O, or not at all): each place it could be, over a character or between two, is scored
    against the pixels (CTC likelihood) and the likeliest is taken. Then a domain without a dot that ends in a
    known top-level domain ("examplenet") gets the dot before it. Spaces go (an address has none); a reading
    with its @ and its dot is kept as read."""
    text = "".join(text.split())
    if "@" not in text and len(text) >= MIN_EMAIL_LENGTH:
        # Not at either end: something is written before the @ and a domain of three characters at least after.
        places = range(1, len(text) - 2)
        candidates = [text[:i] + "@" + text[i + 1 :] for i in places] + [text[:i] + "@" + text[i:] for i in places]
        likelihoods = ctc.log_likelihoods(matrix, candidates)
        text = candidates[int(np.argmax(likelihoods))]
    local, at, domain = text.partition("@")
    if at and domain and "." not in domain:
        tld = next((t for t in EMAIL_TLDS if domain.casefold().endswith(t) and len(domain) > len(t)), None)
        if tld is not None:
            domain = f"{domain[: -len(tld)]}.{domain[-len(tld):]}"
    return f"{local}{at}{domain}"


# A written date: month/day/year, the year in two or four digits.
_DATE = re.compile(r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{2}|\d{4})$")
MAX_SLASHES_AS_ONES = 2


def is_date(text: str) -> bool:
    match = _DATE.match(text)
    return bool(match) and 1 <= int(match["month"]) <= 12 and 1 <= int(match["day"]) <= 31


def with_slashes_read_as_ones(text: str, matrix: ctc.FoldedMatrix) -> str:
    """A date that is no date as read, with the 1s that were its slashes put back ("2122/26" -> "2/22/26",
    "216/26" -> "2/6/26"): a handwritten slash is a bar the models often read as a 1. Only where the reading is
    no valid date and the change makes one; between several such dates the pixels decide (CTC likelihood)."""
    if is_date(text) or "1" not in text:
        return text
    ones = [i for i, c in enumerate(text) if c == "1"]
    candidates = []
    for count in range(1, MAX_SLASHES_AS_ONES + 1):
        for chosen in itertools.combinations(ones, count):
            candidate = "".join("/" if i in chosen else c for i, c in enumerate(text))
            if is_date(candidate):
                candidates.append(candidate)
    if not candidates:
        return text
    likelihoods = ctc.log_likelihoods(matrix, candidates)
    return max(zip(likelihoods, candidates))[1]


def _run(recognizer: PpOcrRecognizer, line: np.ndarray, model: Model,
         charset: frozenset[str]) -> tuple[ctc.FoldedMatrix, str]:
    lines: LineProbabilities = recognizer.probabilities(line, model)
    decoded = ctc.greedy(lines, ctc.allowed_columns(model, charset))
    return ctc.fold_matrix(lines, charset), tidy_reading(decoded.text)


def tidy_reading(text: str) -> str:
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
    for number, reading in enumerate(readings):
        first = number == 0  # v6-small's: the only one whose case is trusted to mark a new word
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
                    seen = piece if _homoglyph_spelling(piece, alternative) else alternative.replace(" ", "")
                    shown = "-".join(pieces[:index] + [seen] + pieces[index + 1 :])
                    found.setdefault(" ".join(before + [new_word] + after), " ".join(before + [shown] + after))
                for cut in _capital_inside(piece) if first else ():
                    new_word = "-".join(pieces[:index] + [f"{piece[:cut]} {piece[cut:]}"] + pieces[index + 1 :])
                    found.setdefault(" ".join(words[:position] + [new_word] + words[position + 1 :]), reading)
    return found or {"": ""}


# A capital I and a small l are both a bare vertical bar in most hands: in a word written in small letters the
# recognizers read such a bar as "I" or "l" by context ("Iuis", "Iefebvre" for luis, lefebvre; "lrene" for Irene).
HOMOGLYPHS = frozenset({("I", "l"), ("l", "i")})  # (as read, folded letter of the other spelling)


def _homoglyph_spelling(read: str, alternative: str) -> bool:
    """True when the alternative (folded) is the part as read with its first letter swapped for its homoglyph
    ("Iuis" -> "luis", "lrene" -> "irene") and the rest in small letters: the pixels cannot tell the two apart,
    so the alternative is scored on the reading's own likelihood and the name lists decide. (In capitals, "I"
    is just a capital I; inside a word, "l" is told from "i" by its dot.)"""
    return (len(read) == len(alternative) > 1 and (read[0], alternative[0]) in HOMOGLYPHS
            and read[1:].islower() and fold(read[1:]) == alternative[1:])


def _with_homoglyphs(text: str, chosen: str) -> str:
    """text (as written on the pixels) with the letters of the chosen candidate where the two differ only by a
    homoglyph: a bar read "I" in a word chosen as "luis" is written "l", and the other way round."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    wanted = [c for c in chosen if c.isalpha()]
    if len(letters) != len(wanted):
        return text
    out = list(text)
    for i, want in zip(letters, wanted):
        if (out[i], ctc.fold_char(want)) in HOMOGLYPHS and (i == 0 or not text[i - 1].isalpha()):
            out[i] = "l" if out[i] == "I" else "I"
    return "".join(out)


# Family-name prefixes written with a capital after them: McAllister, DeShawn, LaToya, VanDyke.
_CAPITALISED_PREFIXES = frozenset({"mc", "mac", "de", "di", "da", "du", "del", "della", "le", "la", "lo", "van",
                                   "von", "der", "den", "ter", "st", "fitz", "o", "d"})


def _capital_inside(part: str) -> list[int]:
    """Where a capital follows a small letter inside a word ("MamadouDoumbia", "MaryKate"): the writer started
    a new name there and the recognizer dropped the space. Not after a family-name prefix (McAllister), nor
    after two letters (a one-letter case slip, "JaKub", makes more of those than real run-together names)."""
    return [i for i in range(3, len(part) - 1)
            if part[i].isupper() and part[i - 1].islower() and part[i + 1].isalpha()
            and fold(part[:i]) not in _CAPITALISED_PREFIXES]


def _breaks_outside_known_names(breaks: frozenset[int], shown: str) -> frozenset[int]:
    """The word gaps the pixels show, except those inside a word that is a known name as read (a wide gap in
    "Williams" is the writer's spacing, not two names)."""
    kept = set()
    for position in breaks:
        start = max(shown.rfind(" ", 0, position + 1), shown.rfind("-", 0, position + 1)) + 1
        ends = [e for e in (shown.find(" ", position + 1), shown.find("-", position + 1)) if e != -1]
        if name_weight(shown[start : min(ends, default=len(shown))]) == 0:
            kept.add(position)
    return frozenset(kept)


_NAME_WORD = r"[^\W\d_]{2,}(?:-[^\W\d_]{2,})*"  # letters, or hyphenated names (Anna-Marie)
_GLUED_INITIAL = re.compile(rf"^(?P<name>{_NAME_WORD})(?P<initial>[^\W\d_])\.(?P<rest>[^\W\d_].*)?$")
# without a period, only a capital after small letters shows the initial ("Chloe-AnnJ"; never "ANNJ", "annj")
_GLUED_CAPITAL = re.compile(r"^(?P<name>(?:[^\W\d_]{2,}-)*[^\W\d_]*[a-zà-ÿ]{2})(?P<initial>[A-ZÀ-Þ])$")
_INITIAL_BEFORE_NAME = re.compile(r"^(?P<initial>[^\W\d_])\.(?P<rest>[^\W\d_]{2,})$")


def _known_name(word: str) -> bool:
    """A known name, or every part of a hyphenated one is (Anna-Marie)."""
    return all(name_weight(part) > 0 for part in word.split("-"))


def _split_glued_initials(text: str) -> str:
    """A middle initial written close to the name before it, read as one word ("DOLORESF.GARCÍA", "FaisalM.",
    "Chloe-AnnJ"): a period, or a capital after small letters, marks the initial, and the letters before it are
    a known name. An initial glued to the name after it ("R.Gebremedhin") is split at its period whatever that
    name is: a name never holds a period between a single letter and the rest of it."""
    out = []
    words = text.split()
    for index, token in enumerate(words):
        match = _GLUED_INITIAL.match(token)
        before = _INITIAL_BEFORE_NAME.match(token)
        capital = _GLUED_CAPITAL.match(token) if 0 < index + 1 < len(words) else None  # a middle word only
        if match and _known_name(match["name"]):
            out.extend([match["name"], match["initial"] + "."] + ([match["rest"]] if match["rest"] else []))
        elif capital and _known_name(capital["name"]) and not _known_name(token):
            out.extend([capital["name"], capital["initial"]])
        elif before:
            out.extend([before["initial"] + ".", before["rest"]])
        else:
            out.append(token)
    return " ".join(out)


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


_PARTICLES = _CAPITALISED_PREFIXES | {"la", "le", "los", "las", "les", "el", "al", "bin", "ben", "ibn", "dos", "das"}


def _known_weight(parts: list[str]) -> float:
    """How much of a name the lists know: each known part weighs its letters (at least NAME_LETTERS), so a long
    list name pulls a near misreading harder than a short one. Two neighbouring parts that together spell a known
    name weigh at most what that name does ("Donnel ly" no more than Donnelly): the prior never rewards
    splitting a name into two shorter list names, only the pixels can."""
    weights = [_part_weight(fold(part)) for part in parts]
    total, i = 0.0, 0
    while i < len(parts):
        pair = parts[i : i + 2]
        # A family-name particle is a word of its own (de la Cruz, ter Horst), whatever the lists hold joined.
        joined = fold("".join(pair)) if len(pair) == 2 and not _PARTICLES & {fold(p) for p in pair} else ""
        if joined and name_weight(joined) > 0:
            total += min(weights[i] + weights[i + 1], _part_weight(joined))
            i += 2
            continue
        total += weights[i]
        i += 1
    return total


def _part_weight(letters: str) -> float:
    """A folded name part's pull in bonuses: 0 unknown, then by list weight and length."""
    return min(1.0, name_weight(letters)) * max(len(letters), NAME_LETTERS) / NAME_LETTERS


def _score_candidates(candidates: dict[str, str], matrices: dict[Model, ctc.FoldedMatrix]
                      ) -> tuple[list[tuple[str, float]], dict[str, dict[Model, float]]]:
    """Candidates best first (mean CTC log-likelihood over the models run, plus the name-list bonus), and each
    candidate's log-likelihood under every model."""
    shown_texts = list(candidates.values())
    per_model = {model: ctc.log_likelihoods(matrix, shown_texts) for model, matrix in matrices.items()}
    scored, likelihoods = [], {}
    for number, candidate in enumerate(candidates):
        likelihoods[candidate] = {model: values[number] for model, values in per_model.items()}
        likelihood = sum(likelihoods[candidate].values()) / len(matrices)
        bonus = KNOWN_NAME_BONUS * _known_weight(_parts(candidate))
        scored.append((candidate, likelihood + bonus if math.isfinite(likelihood) else -1e9))
    return sorted(scored, key=lambda item: -item[1]), likelihoods


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
_DOTTED = frozenset("ij")  # a mark above a small i or j is its dot, unless it is wide or one of two
# A mark this many times a stem's width is no dot. 1.2, 1.3 and 1.5 gave the same readings on the calibration
# split's crops; the strictest is kept.
STEM_ACCENT_WIDTH = 1.5


def marks_above(line: np.ndarray, frames: tuple[tuple[int, ...], ...], *, steps: int, written: str) -> frozenset[int]:
    """Positions of letters with a separate small mark above them: an accent the models read past.

    At 200 dpi a handwritten accent is a few pixels; the recognizers, trained mostly on print, often
    read "É" as "E" although the mark is plain to see. A mark is a component a fraction of the writing's
    height whose bottom is above the top of the letter under it; it belongs to the letter whose centre is
    nearest. A mark over a stem (a letter narrower than a quarter of the writing's height, or one read i or j)
    is its dot, unless the letter there was read as a capital I, or the mark is much wider than the stem or
    one of two.
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
    on_stems: dict[tuple[int, int, int, int], list[tuple[int, int]]] = {}
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
        if written[nearest] in _DOTTED or body[2] < 0.25 * height and written[nearest] != "I":
            on_stems.setdefault(body, []).append((nearest, w))
            continue
        found.add(nearest)
    # Over a stem, one mark no wider than a stroke is the dot; a wider one (a circumflex, an acute's slant) or
    # two (a diaeresis) is an accent: î, ï, í.
    for body, marks in on_stems.items():
        if len(marks) >= 2 or max(w for _, w in marks) >= STEM_ACCENT_WIDTH * body[2]:
            found.add(marks[0][0])
    return frozenset(found)


def _body_below(boxes, x: int, bottom: int, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The letter-sized component under the columns of a mark, starting below the mark's bottom. A small
    letter (é beside an H or an l) is a third of the writing's height, ascender to descender, not half."""
    for bx, by, bw, bh in boxes:
        overlap = min(x + width, bx + bw) - max(x, bx)
        if overlap > 0 and bh >= 0.3 * height and by >= bottom - 1:
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
        if char == "j" or char != base and char != base.upper() or base not in matrix.index:
            continue  # a j's dot (no name here has a ĵ), or already accented
        accented = [c for c in matrix.variants[matrix.index[base]] if _accent_above(names[c])]
        mass = probs[np.ix_(list(frames[j]), accented)].sum(axis=0) if accented and frames[j] else np.zeros(0)
        if not mass.size or float(mass.max()) < MIN_ACCENT_MASS:
            continue
        choice = names[accented[int(mass.argmax())]]
        out[j] = choice.upper() if char.isupper() else choice.lower()
    return "".join(out)


# The least weight v6-small must give, along a letter's frames, to the accented form a name list spells the word
# with. Measured on the calibration split's 1619 names: 0.05 restored 18 lost accents and broke none; 0.03 and
# below also turned a plain Jovanovic into Jovanović.
LISTED_ACCENT_MASS = 0.05


def with_listed_accents(written: str, matrix: ctc.FoldedMatrix, frames: tuple[tuple[int, ...], ...]) -> str:
    """written with a word spelled as a name list spells it with accents ("Sanchez" -> "Sánchez") when the two
    differ only by accents above letters read plain and the models weigh each of those accented letters along its
    frames: the recognizers read past a small mark they half see far more often than they half see one that is not
    there. Without pixel support a list spelling is never taken (it would make every Muller a Müller)."""
    if len(frames) != len(written):
        return written
    out = list(written)
    for word in re.finditer(r"[^\W\d_]{2,}", written):
        plain = word.group().casefold()
        best: tuple[float, str] | None = None
        for spelling in accented_spellings(plain):
            changed = [i for i, (a, b) in enumerate(zip(spelling, plain)) if a != b]
            if len(spelling) != len(plain) or not changed or any(
                    ctc.fold_char(spelling[i]) != plain[i] or not _accent_above(spelling[i]) for i in changed):
                continue  # another word, or accents the read already has or that do not sit above a letter
            support = min(_variant_mass(matrix, frames[word.start() + i], spelling[i]) for i in changed)
            if support >= LISTED_ACCENT_MASS and (best is None or support > best[0]):
                best = (support, spelling)
        if best is not None:
            for i, (a, b) in enumerate(zip(best[1], plain)):
                if a != b:
                    j = word.start() + i
                    out[j] = a.upper() if written[j].isupper() else a
    return "".join(out)


def _variant_mass(matrix: ctc.FoldedMatrix, frames: tuple[int, ...], char: str) -> float:
    """The most weight the model gives one written form of `char` (either case) summed along the frames."""
    names = matrix.source.alphabet
    base = ctc.fold_char(char)
    if not frames or base not in matrix.index:
        return 0.0
    columns = [c for c in matrix.variants[matrix.index[base]] if names[c].casefold() == char.casefold()]
    if not columns:
        return 0.0
    return float(matrix.source.probs[np.ix_(list(frames), columns)].sum(axis=0).max())


def _accent_above(char: str) -> bool:
    """A letter whose diacritic sits above it (acute, grave, circumflex, diaeresis, tilde, ring, caron, breve)."""
    marks = unicodedata.normalize("NFD", char)[1:]
    return bool(marks) and all(unicodedata.combining(m) == 230 for m in marks)


def word_breaks(line: np.ndarray, frames: tuple[tuple[int, ...], ...], *, steps: int, shown: str) -> frozenset[int]:
    """Positions i where the pixels show a word gap between letters shown[i] and shown[i + 1] that the
    models read as one word ("REEMKHOURY", "GLADYSHUNTINGTON"): the recognizers often drop a narrow space.

    A gap counts when its empty columns are wider than half the writing's height and well over the
    writer's own gaps between letters (a writer of spaced capitals leaves wide gaps inside words too), and
    the word it would split is no known name as read.
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
    return _breaks_outside_known_names(frozenset(i for i, gap in gaps.items() if gap >= floor), shown)


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
        text = tidy_reading(decoded.text)
        char_confidences = tuple(round(100.0 * p, 1) for p in decoded.char_probs)
        words = tuple(min(char_confidences, default=0.0) for _ in text.split())
        return OcrResult(text, words, char_confidences)
