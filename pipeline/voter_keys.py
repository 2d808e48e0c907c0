"""Name keys for matching signers to a voter file: folded names, a recognizer-confusion skeleton, and the
blocking keys a voter row is indexed by (and a line looks up).

The phonetic key is Lawrence Philips' Metaphone (1990) as implemented by `jellyfish.metaphone` (already a
dependency of the roster's deduplication); no double-metaphone package is installed, and Metaphone on the
OCR-folded surname groups the spellings people and recognizers vary in (Vargas/Vargaz, Gallagher/Galagher).

Names are compared folded (`pipeline.names.fold`: no case, no accents), digits read for letters repaired. The
skeleton then merges what the recognizer confuses (`pipeline.names.ocr_fold`'s rn→m, vv→w, i→l, and the
classes below), so a misread letter does not move a name to another block and costs half an edit
(pipeline/match_score.py); an exact name is one whose folded spelling is equal, letter for letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jellyfish

from pipeline.names import fold, ocr_fold

# Letter classes of the recognizer's usual confusions on hand-printed capitals and cursive (M read as N or H, U
# as V, I/J/Y as l), applied after ocr_fold's own merges.
_CLASSES = str.maketrans({"m": "n", "h": "n", "v": "u", "j": "l", "y": "l", "q": "g", "z": "s"})


@dataclass(frozen=True)
class NameKeys:
    """The keys of one name (a voter's or a signer's), all lowercase ASCII."""

    first: str  # ocr_fold of the first name, spaces removed
    last: str  # ocr_fold of the last name, spaces removed
    phonetic: str  # Metaphone(last) | skeleton(first)[:1]
    prefix: str  # skeleton(last)[:3] | skeleton(first)[:2]
    tail: str  # skeleton(first)[:2] | skeleton(last)[-3:]: a slip at the surname's start
    whole: str  # skeleton(first + last): a missing space between the names, confusions anywhere


_DIGITS = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b"})  # digits never occur in names


def compact(text: str) -> str:
    """fold() without spaces, digits read for letters repaired: 'Mc Donald' and 'McDonald', 'O'Brien' and
    'OBrien', 'Núñez' and 'NUNEZ' are one."""
    return fold(text).replace(" ", "").translate(_DIGITS)


@lru_cache(maxsize=1 << 17)
def skeleton(folded: str) -> str:
    """The recognizer-confusion class of each letter of an already folded name, doubled letters once."""
    mapped = ocr_fold(folded).replace(" ", "").translate(_CLASSES)
    return "".join(c for k, c in enumerate(mapped) if k == 0 or c != mapped[k - 1])


@lru_cache(maxsize=1 << 17)
def phonetic(folded_last: str) -> str:
    """Metaphone of a folded surname; the surname itself when Metaphone gives nothing."""
    return (jellyfish.metaphone(folded_last) or folded_last).lower() if folded_last else ""


def name_keys(first: str, last: str) -> NameKeys:
    """Keys from a first and a last name as written (either may be empty: a partial name)."""
    f, la = compact(first), compact(last)
    sf, sl = skeleton(f), skeleton(la)
    return NameKeys(
        first=f, last=la,
        phonetic=f"{phonetic(la)}|{sf[:1]}" if la else "",
        prefix=f"{sl[:3]}|{sf[:2]}" if la else "",
        tail=f"{sf[:2]}|{sl[-3:]}" if la and f else "",
        whole=skeleton(f + la) if la else "",
    )


def zip_key(zip_code: str, keys: NameKeys) -> str:
    """zip | initials: a name read badly still meets its voter when the zip was read right."""
    digits = zip5(zip_code)
    return f"{digits}|{skeleton(keys.first)[:1]}{skeleton(keys.last)[:1]}" if digits and keys.last else ""


@lru_cache(maxsize=1 << 16)  # matching asks it of every candidate voter: a file repeats its zips
def zip5(text: str) -> str:
    """The first five digits of a zip code (ZIP+4 cut), leading zeros kept; '' when there are fewer than five."""
    digits = "".join(c for c in str(text) if c.isdigit())
    return digits[:5] if len(digits) >= 5 else ""


@lru_cache(maxsize=1 << 12)
def ward_key(text: str) -> str:
    """A ward or district as a comparable token: 'Ward 03', 'W3' and '3' are one; '' when none."""
    folded = fold(text).replace("ward", "").replace("district", "").replace(" ", "")
    folded = folded[1:] if folded[:1] == "w" and folded[1:].isdigit() else folded
    return folded.lstrip("0") or ("0" if folded else "")
