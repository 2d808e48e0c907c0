"""Known first and last names, as a prior on OCR'd names: Tesseract's confidence stays high on a one-letter
slip (Milan → "Hilan", Minh → "Mink"), but the slip rarely makes another real name.

Lists shipped by PyPI packages, read offline: the US Census 1990 first and last names (package `names`,
88,799 surnames) and Jörg Michael's international first-name dictionary (package `gender-guesser`,
~46,000 names from 50+ countries). A name missing from both is not wrong, only unproven: its line is sent
to review rather than accepted. That costs rarer names some review time; it never drops them.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from functools import cache
from pathlib import Path

UNKNOWN_PART_FACTOR = 0.75


@cache
def known_names() -> frozenset[str]:
    """Every first and last name in the shipped lists, folded (empty when the packages are missing)."""
    names: set[str] = set()
    census = _package_dir("names")
    if census is not None:
        for list_name in ("dist.female.first", "dist.male.first", "dist.all.last"):
            path = census / list_name
            if path.is_file():
                names |= {line.split()[0].casefold() for line in path.read_text().splitlines() if line.strip()}
    michael = _package_dir("gender_guesser")
    if michael is not None and (michael / "data" / "nam_dict.txt").is_file():
        for line in (michael / "data" / "nam_dict.txt").read_text(encoding="iso-8859-1").splitlines():
            if not line.startswith("#") and len(line) > 30:
                names |= {fold(part) for part in re.split(r"[+\- ]", line[3:29].strip()) if part}
    return frozenset(names)


def fold(text: str) -> str:
    """Case, accents and apostrophes folded away: O'Brien → obrien, José → jose."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalpha()).casefold()


def name_prior(text: str) -> float:
    """1.0 when every part of the name is a known name; lower for each part that is not."""
    known = known_names()
    if not known:
        return 1.0
    factor = 1.0
    for token in text.split():
        for part in token.split("-"):
            letters = fold(part)
            if len(letters) <= 1:  # initials carry no evidence either way
                continue
            if letters not in known:
                factor *= UNKNOWN_PART_FACTOR
    return factor


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
