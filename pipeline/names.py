"""Signer names: a display form for people and folded, nickname-canonical keys for matching.

Parsing is nameparser's (`nameparser.parse`, v2 API). It costs ~90 µs a name, too slow for a million-signer
roster, so plain shapes ("First Last", "First M. Last", "Last, First [M.]") whose words are in none of
nameparser's vocabularies take a fast path that gives the same answer (tests/pipeline/test_names.py checks the
two agree); everything else goes to nameparser.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from dataclasses import dataclass, fields
from functools import cache, lru_cache
from pathlib import Path

from nameparser import Lexicon, parse
from nicknames import NickNamer
from rapidfuzz.distance import Indel

from scanner.name_prior import LETTER_FOLDS, first_names  # LETTER_FOLDS: ø, ł, ı, ... (not decomposed)

# Digits never occur in names; these are the ones OCR reads for a letter (0/O, 1/l, 5/S, 8/B).
_DIGIT_REPAIRS = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b"})
_APOSTROPHES = "'’‘`´"
_NON_WORD = re.compile(r"[^0-9a-z ]+")
_SPACES = re.compile(r"\s+")
# A word nameparser reads no differently from any other: letters, joined by at most an apostrophe or hyphen.
_PLAIN_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_INITIAL = re.compile(r"[^\W\d_]\.?")
CANONICAL_MARGIN = 2.0  # how much stronger than the name itself its canonical must score


@dataclass(frozen=True, slots=True)
class PersonName:
    """A signer's name as written, its parts for display, and its keys for matching."""

    written: str  # as read or typed (NFC, whitespace collapsed)
    first: str  # display parts, from nameparser
    middle: str
    last: str
    key_first: str  # fold() of the first name without spaces, OCR digits repaired, nickname-canonical
    key_last: str  # fold() of the last name without spaces, OCR digits repaired
    initials: str  # key_first[:1] + key_last[:1]: "Bob Q. Smith" -> "rs", so nickname variants share them


def fold(text: str) -> str:
    """NFKD without combining marks, casefolded; apostrophes dropped, other non-alphanumerics become spaces."""
    return _fold(text)


@lru_cache(maxsize=1 << 17)  # names repeat: most first and last names are drawn from a few thousand
def _fold(text: str) -> str:
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = text.casefold().translate(LETTER_FOLDS)
    for mark in _APOSTROPHES:  # O'Brien and OBrien are one name
        text = text.replace(mark, "")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def ocr_fold(text: str) -> str:
    """fold() plus OCR confusions made one letter: 0→o, 1/I/l/|→l, 5→s, 8→b, rn→m, vv→w."""
    return _ocr_fold(text)


@lru_cache(maxsize=1 << 17)
def _ocr_fold(text: str) -> str:
    folded = fold(text.replace("|", "l")).translate(_DIGIT_REPAIRS)
    # cl→d is left out on purpose: Clark, Claire and McClure are far commoner than that misreading.
    return folded.replace("rn", "m").replace("vv", "w").replace("i", "l")


def parse_name(text: str) -> PersonName:
    """Parse a written name into display parts and matching keys; ALL-CAPS writing parses as Title Case."""
    written, first, middle, last = display_parts(text)
    key_first = nickname_key(_key(first))
    key_last = _key(last)
    return PersonName(written, first, middle, last, key_first, key_last, key_first[:1] + key_last[:1])


def display_parts(text: str) -> tuple[str, str, str, str]:
    """(written, first, middle, last) as parse_name gives them, without the matching keys: what a roster row
    shows, at a fraction of parse_name's cost (no nickname lookup)."""
    written = written_form(text)
    shaped = written.title() if written.isupper() else written  # nameparser mis-cases and mis-reads all caps
    return (written, *_parts(shaped))


def written_form(text: str) -> str:
    """A name as written, composed (NFC) and with single spaces."""
    composed = unicodedata.normalize("NFC", text)
    if "  " in composed or not composed.isprintable():  # runs of spaces, tabs, newlines: the regex (rarely needed)
        composed = _SPACES.sub(" ", composed)
    return composed.strip()


def plain_display_parts(text: str) -> tuple[str, str, str, str] | None:
    """display_parts when the name has a plain shape (no nameparser, microseconds); None when nameparser must
    decide (a few names in a hundred, a millisecond each: the stored roster keeps their parts, pipeline/roster.py)."""
    written = written_form(text)
    fast = _plain_parts(written.title() if written.isupper() else written)
    return None if fast is None else (written, *fast)


def _key(part: str) -> str:
    return fold(part).replace(" ", "").translate(_DIGIT_REPAIRS)


def _parts(text: str) -> tuple[str, str, str]:
    """(first, middle, last), from the fast path when the shape is plain, else from nameparser."""
    fast = _plain_parts(text)
    if fast is not None:
        return fast
    parsed = parse(text)
    return parsed.given, parsed.middle, parsed.family


def _plain_parts(text: str) -> tuple[str, str, str] | None:
    """The parts of "First Last", "First M. Last" or "Last, First [M.]"; None when nameparser must decide."""
    if text.count(",") == 1:
        family, given = (side.split() for side in text.split(","))
        if len(family) != 1 or not 1 <= len(given) <= 2:
            return None
        words = [given[0], family[0]] + given[1:]
    else:
        words = text.split()
        if not 2 <= len(words) <= 3:
            return None
        words = [words[0], words[-1]] + words[1:-1]
    first, last, *middle = words
    if not (_is_plain(first) and _is_plain(last) and all(_is_plain(m) or _INITIAL.fullmatch(m) for m in middle)):
        return None
    return first, " ".join(middle), last


@lru_cache(maxsize=1 << 17)
def _is_plain(word: str) -> bool:
    """A Latin-script word of two or more letters that no nameparser vocabulary holds, whole or in part."""
    if len(word) < 2 or not _PLAIN_WORD.fullmatch(word) or any(ord(c) >= 0x250 for c in word):
        return False
    if not (word[0].isupper() and word[1:] == word[1:].lower()):  # odd casing can steer nameparser
        return False
    lowered = word.lower()
    pieces = {lowered, *re.split(r"['’-]", lowered), *(p + "'" for p in lowered.split("'")[:-1])}
    return not (pieces & _vocabulary())


@cache
def _vocabulary() -> frozenset[str]:
    """Every entry of every word set in nameparser's default lexicon (titles, suffixes, particles, ...)."""
    lexicon = Lexicon.default()
    words: set[str] = set()
    for field in fields(lexicon):
        value = getattr(lexicon, field.name)
        if isinstance(value, frozenset):
            words |= {w for w in value if isinstance(w, str)}
    return frozenset(words)


@cache
def _nick_namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=1 << 16)
def nickname_key(name: str) -> str:
    """The canonical of a folded first name, so Bob, Bobby and Robert share one key.

    The `nicknames` table is a relation, not a partition (it lists Bill as a nickname of both William and Robert,
    and Leah of Ashley), so the choice is scored: each name it is a nickname of scores its Census first-name
    frequency × Indel similarity to the name (Bill → William, not Robert: both are common, but William shares
    "ill"). The best replaces the name only when it scores over CANONICAL_MARGIN × the name's own frequency, so a
    common name in its own right (Leah, Katie) stays itself; ties go to the alphabetically first.
    """
    if len(name) < 2:
        return name
    frequency = _first_name_frequency()
    best, best_score = name, CANONICAL_MARGIN * frequency.get(name, 0.0)
    for candidate in sorted(_nick_namer().canonicals_of(name)):
        score = frequency.get(candidate, 0.0) * Indel.normalized_similarity(name, candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best


@cache
def _first_name_frequency() -> dict[str, float]:
    """Percent of people with each first name (US Census 1990, package `names`), the larger of the two sexes."""
    folder = _census_folder()
    if folder is None:
        return {}
    frequency: dict[str, float] = {}
    for list_name in ("dist.female.first", "dist.male.first"):
        path = folder / list_name
        if path.is_file():
            for line in path.read_text().splitlines():
                name, percent, *_ = line.split()
                key = name.casefold()
                frequency[key] = max(frequency.get(key, 0.0), float(percent))
    return frequency


@lru_cache(maxsize=1 << 16)
def are_nicknames(a: str, b: str) -> bool:
    """Whether the nickname table links two folded first names directly (Kate and Katie, Bill and William)."""
    if not a or not b or a == b:
        return bool(a) and a == b
    namer = _nick_namer()
    return b in namer.canonicals_of(a) or a in namer.canonicals_of(b)


# A given name cut short keeps this many letters at least: from its start (Tom, Javi, Fred) or its end (Lupe, Sandro).
SHORT_FROM_START, SHORT_FROM_END = 3, 4
SHORT_FORM_CUT = 2  # ...and loses this many at least (Mari is no short form of Maria)


@lru_cache(maxsize=1 << 16)
def is_short_form(short: str, full: str) -> bool:
    """Whether a folded given name is another one cut short: its start (Javi of Javier, Fred of Frederic) or its
    end (Sandro of Alessandro, Lupe of Guadalupe). People sign with short forms the nickname table does not list
    (it holds mostly English ones), and the file holds the full name; or the other way round. The full name must
    be a first name of the lists: Cal is no short form of a misspelt Caleg, nor Tariq of "Tariq-Morris"."""
    if len(full) < len(short) + SHORT_FORM_CUT or full not in first_names():
        return False
    return ((len(short) >= SHORT_FROM_START and full.startswith(short))
            or (len(short) >= SHORT_FROM_END and full.endswith(short)))


def cut_short(a: str, b: str) -> bool:
    """One folded first name the other cut short, either way round."""
    return is_short_form(a, b) or is_short_form(b, a)


def same_given_name(a: str, b: str) -> bool:
    """Two folded first names a person may both go by: equal, nicknames in the table, or one cut short."""
    return are_nicknames(a, b) or cut_short(a, b)


@lru_cache(maxsize=1 << 14)
def longer_forms(short: str, limit: int = 6) -> tuple[str, ...]:
    """First names of the lists that end with this folded one (Sandro: Alessandro, Lisandro), commonest first, at
    most `limit`: a short form from a name's end shares no first letter with it, so no key finds the voter."""
    if len(short) < SHORT_FROM_END:
        return ()
    found = [name for name in _names_by_ending().get(short[-SHORT_FROM_END:], ()) if is_short_form(short, name)]
    frequency = _first_name_frequency()
    return tuple(sorted(found, key=lambda n: (-frequency.get(n, 0.0), n))[:limit])


@cache
def _names_by_ending() -> dict[str, tuple[str, ...]]:
    by_ending: dict[str, list[str]] = {}
    for name in first_names():
        if len(name) >= SHORT_FROM_END + SHORT_FORM_CUT:
            by_ending.setdefault(name[-SHORT_FROM_END:], []).append(name)
    return {ending: tuple(names) for ending, names in by_ending.items()}


@lru_cache(maxsize=1 << 16)
def canonicals(name: str, limit: int = 6) -> tuple[str, ...]:
    """The names a folded first name is a nickname of (Ron: Aaron, Ronald, ...), commonest first, at most `limit`."""
    if len(name) < 2:
        return ()
    frequency = _first_name_frequency()
    found = sorted(_nick_namer().canonicals_of(name) - {name}, key=lambda c: (-frequency.get(c, 0.0), c))
    return tuple(found[:limit])


def surname_frequency(key_last: str) -> float:
    """Percent of US residents with this (folded) surname, US Census 1990 (package `names`); 0 when unlisted."""
    return _surname_frequency().get(key_last, 0.0)


@cache
def _surname_frequency() -> dict[str, float]:
    path = _census_folder() / "dist.all.last" if _census_folder() else None
    if path is None or not path.is_file():
        return {}
    return {name.casefold(): float(percent) for name, percent, *_ in map(str.split, path.read_text().splitlines())}


@cache
def _census_folder() -> Path | None:
    spec = importlib.util.find_spec("names")
    return Path(spec.origin).parent if spec is not None and spec.origin is not None else None
