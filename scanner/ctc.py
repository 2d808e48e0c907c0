"""CTC decoding over a recognizer's probability matrix: a field's own alphabet, per-character probabilities,
and the likelihood of any candidate text (Graves et al. 2006, the forward algorithm), so that a name list can
propose spellings and the pixels decide between them.

Candidates are scored in a folded alphabet (case and accents merged: "E", "e", "é" are one class) because
names lists carry neither; the written form (case, accents) is then taken back from the pixels along the best
alignment of the chosen text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np

from scanner.name_prior import LETTER_FOLDS
from scanner.pp_ocr import LineProbabilities, Model, alphabet, is_latin_letter

_TINY = 1e-12


@dataclass(frozen=True)
class Decoded:
    """The best path through one model's matrix, restricted to a field's alphabet."""

    text: str
    char_probs: tuple[float, ...]  # per character of text: the highest probability in its frames


@dataclass(frozen=True)
class FoldedMatrix:
    """Probabilities summed into folded classes (blank = 0), and which written characters each class holds."""

    probs: np.ndarray  # (steps, folded classes)
    index: dict[str, int]  # folded character -> column
    variants: tuple[tuple[int, ...], ...]  # folded column -> columns of the original alphabet
    source: LineProbabilities


# The stroked letters that fold to one letter (ł -> l, ø -> o): the models have a column for each, and a written
# ł shares its mass with l and t, as an é does with e. (æ and œ, two letters folded, keep a class of their own.)
_STROKE_FOLDS = {code: letter for code, letter in LETTER_FOLDS.items() if len(letter) == 1}


def fold_char(char: str) -> str:
    """One letter without case, accents or stroke ("É" -> "e", "Ł" -> "l"); other characters unchanged."""
    base = unicodedata.normalize("NFKD", char)[:1] if is_latin_letter(char) else char
    return base.casefold().translate(_STROKE_FOLDS) if len(base.casefold()) == 1 else char


def fold_text(text: str) -> str:
    return "".join(fold_char(c) for c in text)


@cache
def allowed_columns(model: Model, charset: frozenset[str]) -> np.ndarray:
    """Column indices of the blank and of every character of the model's alphabet that the field allows."""
    letters = "latin" in charset
    keep = [0] + [i for i, c in enumerate(alphabet(model)) if i and (c in charset or letters and is_latin_letter(c))]
    return np.asarray(keep, dtype=np.int64)


def greedy(lines: LineProbabilities, columns: np.ndarray) -> Decoded:
    """Best path among the allowed columns (no renormalisation: mass on other characters stays doubt)."""
    restricted = lines.probs[:, columns]
    best = restricted.argmax(axis=1)
    best_prob = restricted[np.arange(len(best)), best]
    chars: list[str] = []
    probs: list[float] = []
    previous = 0
    for column, prob in zip(best, best_prob):
        if column != 0 and column != previous:
            chars.append(lines.alphabet[columns[column]])
            probs.append(float(prob))
        elif column != 0 and probs:
            probs[-1] = max(probs[-1], float(prob))
        previous = column
    return Decoded("".join(chars), tuple(probs))


@dataclass(frozen=True)
class _FoldPlan:
    """For a model and a field: the allowed columns ordered by folded class, where each class starts, the
    class of each folded character, and each class's columns in the model's alphabet."""

    columns: np.ndarray
    starts: np.ndarray
    index: dict[str, int]
    variants: tuple[tuple[int, ...], ...]


@cache
def _fold_plan(model: Model, charset: frozenset[str]) -> _FoldPlan:
    names = alphabet(model)
    index: dict[str, int] = {"": 0}
    groups: list[list[int]] = [[0]]
    for column in allowed_columns(model, charset)[1:]:
        key = fold_char(names[column])
        if key not in index:
            index[key] = len(groups)
            groups.append([])
        groups[index[key]].append(int(column))
    ordered = np.asarray([c for g in groups for c in g], dtype=np.int64)
    starts = np.cumsum([0] + [len(g) for g in groups[:-1]]).astype(np.int64)
    return _FoldPlan(ordered, starts, index, tuple(tuple(g) for g in groups))


def fold_matrix(lines: LineProbabilities, charset: frozenset[str]) -> FoldedMatrix:
    """Sum a field's allowed columns into folded classes (case and accents merged)."""
    plan = _fold_plan(lines.model, charset)
    summed = np.add.reduceat(lines.probs[:, plan.columns], plan.starts, axis=1)
    return FoldedMatrix(summed, plan.index, plan.variants, lines)


def log_likelihood(matrix: FoldedMatrix, text: str) -> float:
    """log P(text | crop): CTC forward algorithm over every alignment; -inf if a character is not allowed."""
    return log_likelihoods(matrix, [text])[0]


def log_likelihoods(matrix: FoldedMatrix, texts: list[str]) -> list[float]:
    """log P(text | crop) for each text, in one forward pass: the texts' CTC state chains are laid end to end and
    stepped through time together (a pass per text cost most of a name's reading time in Python overhead)."""
    chains, owners = [], []
    for position, text in enumerate(texts):
        targets = [matrix.index.get(c) for c in fold_text(text)]
        if all(t is not None for t in targets):
            chains.append(_states(targets))
            owners.append(position)
    results = [float("-inf")] * len(texts)
    steps = len(matrix.probs)
    if not chains or steps == 0:
        return results
    states = np.concatenate(chains)
    lengths = np.array([len(c) for c in chains])
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ends = starts + lengths - 1
    offset = np.arange(len(states)) - np.repeat(starts, lengths)  # position of each state within its chain
    step1 = offset >= 1
    step2 = np.concatenate([_skip_allowed(c) for c in chains])
    log_probs = np.log(matrix.probs[:, states] + _TINY)
    alpha = np.where(offset <= 1, log_probs[0], -np.inf)
    minus_inf = np.full(2, -np.inf)
    for t in range(1, steps):
        shifted1 = np.where(step1, np.concatenate((minus_inf[:1], alpha[:-1])), -np.inf)
        shifted2 = np.where(step2, np.concatenate((minus_inf, alpha[:-2])), -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, shifted1), shifted2) + log_probs[t]
    last = alpha[ends]
    before_last = np.where(lengths > 1, alpha[np.maximum(ends - 1, starts)], -np.inf)
    for owner, value in zip(owners, np.logaddexp(last, before_last)):
        results[owner] = float(value)
    return results


@dataclass(frozen=True)
class Alignment:
    """A text placed on the pixels: how each letter is written there, how sure each letter is, and how
    split the pixels are between a letter's accented and plain forms (case aside)."""

    written: str  # the text with case and accents as the pixels show them
    char_probs: tuple[float, ...]  # per character, the highest folded probability among its steps
    accent_doubt: float  # worst letter: 1 - share of its mass on its likeliest accent form
    frames: tuple[tuple[int, ...], ...] = ()  # per character, the time steps it occupies (ascending)


def align(matrix: FoldedMatrix, text: str) -> Alignment:
    """Place the text on the matrix along its best (Viterbi) alignment and read each letter's form there."""
    targets = [matrix.index.get(c) for c in fold_text(text)]
    if not text or any(t is None for t in targets):
        return Alignment(text, (), 0.0)
    frames = _best_alignment(matrix, targets)
    probs, names = matrix.source.probs, matrix.source.alphabet
    out, char_probs, doubt = [], [], 0.0
    for position, char in enumerate(text):
        columns, rows = matrix.variants[targets[position]], frames[position]
        char_probs.append(float(matrix.probs[rows, targets[position]].max()) if rows else 0.0)
        if not rows:
            out.append(char)
            continue
        mass = probs[np.ix_(rows, columns)].sum(axis=0)
        out.append(names[columns[int(mass.argmax())]])
        forms: dict[str, float] = {}
        for column, weight in zip(columns, mass):
            forms[names[column].casefold()] = forms.get(names[column].casefold(), 0.0) + float(weight)
        doubt = max(doubt, 1.0 - max(forms.values()) / max(sum(forms.values()), 1e-9))
    return Alignment("".join(out), tuple(char_probs), round(doubt, 4), tuple(tuple(sorted(f)) for f in frames))


def written_form(matrix: FoldedMatrix, text: str) -> str:
    """The text with each letter's case and accent as the pixels show them along its best alignment."""
    return align(matrix, text).written


def _states(targets: list[int]) -> np.ndarray:
    """blank, c1, blank, c2, ..., cn, blank."""
    states = [0]
    for target in targets:
        states += [target, 0]
    return np.asarray(states, dtype=np.int64)


def _skip_allowed(states: np.ndarray) -> np.ndarray:
    """A path may jump over a blank only between two different characters."""
    skip = np.zeros(len(states), dtype=bool)
    for s in range(2, len(states)):
        skip[s] = states[s] != 0 and states[s] != states[s - 2]
    return skip


def _best_alignment(matrix: FoldedMatrix, targets: list[int]) -> list[list[int]]:
    """Viterbi path of the text through the matrix: for each character, the time steps it occupies."""
    log_probs = np.log(matrix.probs + _TINY)
    states = _states(targets)
    steps, count = len(log_probs), len(states)
    skip = _skip_allowed(states)
    score = np.full(count, -np.inf)
    score[0] = log_probs[0, states[0]]
    if count > 1:
        score[1] = log_probs[0, states[1]]
    back = np.zeros((steps, count), dtype=np.int64)
    for t in range(1, steps):
        stay, step1 = score, np.concatenate(([-np.inf], score[:-1]))
        step2 = np.where(skip, np.concatenate(([-np.inf, -np.inf], score[:-2])), -np.inf)
        options = np.stack([stay, step1, step2])
        choice = options.argmax(axis=0)
        back[t] = np.arange(count) - choice
        score = options.max(axis=0) + log_probs[t, states]
    state = count - 1 if count == 1 or score[-1] >= score[-2] else count - 2
    frames: list[list[int]] = [[] for _ in targets]
    for t in range(steps - 1, -1, -1):
        if state % 2 == 1:
            frames[state // 2].append(t)
        state = back[t, state] if t else state
    return frames


def char_probabilities(matrix: FoldedMatrix, text: str) -> tuple[float, ...]:
    """Per character of text, the highest folded probability among the time steps its best alignment gives it."""
    return align(matrix, text).char_probs
