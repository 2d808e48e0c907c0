"""Known first and last names, as a prior on OCR'd names: Tesseract's confidence stays high on a one-letter
slip (Milan → "Hilan", Minh → "Mink"), but the slip rarely makes another real name.

Lists shipped by PyPI packages, read offline: the US Census 1990 first and last names (package `names`,
88,799 surnames), Jörg Michael's international first-name dictionary (package `gender-guesser`,
~46,000 names from 50+ countries) and the first and last names of Faker's person providers in Latin
script (package `faker`, ~21,000 first and ~23,000 last names from 80-odd locales, accents kept). A name missing from both is not wrong, only unproven: its line is sent
to review rather than accepted. That costs rarer names some review time; it never drops them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import marshal
import os
import re
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

UNKNOWN_PART_FACTOR = 0.75


@dataclass(frozen=True)
class NameTables:
    """What the reader asks of the lists, built once from the packages (~2 s: Faker's 80-odd locale modules are
    imported) and kept in the user's cache directory, so that each worker process loads it in a blink."""

    known: frozenset[str]
    weights: dict[str, float]
    blocks: dict[tuple[int, str], tuple[str, ...]]
    accented: dict[str, frozenset[str]]


LIST_PACKAGES = ("names", "gender-guesser", "Faker")


@cache
def tables() -> NameTables:
    """The name tables, from the cache when it was written from the same packages by this same code."""
    path = _cache_path()
    if path is not None:
        try:
            known, weights, blocks, accented = marshal.loads(path.read_bytes())
            return NameTables(known, weights, blocks, accented)
        except (OSError, EOFError, ValueError, TypeError):
            pass  # missing or damaged: rebuilt below
    built = NameTables(_known_names(), _weights(), _blocks(), _accented_spellings())
    if path is not None:
        _write_atomically(path, marshal.dumps((built.known, built.weights, built.blocks, built.accented)))
    return built


def _cache_path() -> Path | None:
    """A file named by the list packages' versions and this module's source (a change to either is a new file);
    None when the cache directory cannot be made."""
    versions = []
    for package in LIST_PACKAGES:
        try:
            versions.append(f"{package}={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    # marshal's format belongs to the Python version that wrote it
    versions.append(f"python={sys.version}")
    key = hashlib.sha256("|".join(versions).encode() + Path(__file__).read_bytes()).hexdigest()[:16]
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "petition"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / f"name-tables-{key}.marshal"


def _write_atomically(path: Path, data: bytes) -> None:
    """Two workers may build the tables at once: each writes its own file and renames it into place."""
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
        for stale in path.parent.glob("name-tables-*.marshal"):  # written by other versions: never read again
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # an unwritable cache costs time, never a reading


@cache
def first_names() -> frozenset[str]:
    """The lists' first names, folded: the US Census's and Jörg Michael's international dictionary."""
    names = _census_names(CENSUS_FIRST) | {fold(spelling) for spelling in _international_first_names()}
    return frozenset(n for n in names if n)


def known_names() -> frozenset[str]:
    """Every first and last name in the shipped lists, folded (empty when the packages are missing)."""
    return tables().known


CENSUS_FIRST = ("dist.female.first", "dist.male.first")


@cache
def _known_names() -> frozenset[str]:
    names = set(_census_names((*CENSUS_FIRST, "dist.all.last")))
    names |= {fold(spelling) for spelling in _international_first_names()}
    names |= {fold(spelling) for spelling in _locale_names()}
    return frozenset(names)


def _census_names(list_names: tuple[str, ...]) -> frozenset[str]:
    """The names of these US Census 1990 lists (package `names`), casefolded; empty when it is missing."""
    census = _package_dir("names")
    names: set[str] = set()
    for list_name in list_names if census is not None else ():
        path = census / list_name
        if path.is_file():
            names |= {line.split()[0].casefold() for line in path.read_text().splitlines() if line.strip()}
    return frozenset(names)


# Faker's person providers keep name parts under these attributes (and variants: first_names_female, ...); Vietnamese
# middle names (Thị, Văn) are their own list.
NAME_ATTRIBUTES = ("first_names", "last_names", "middle_names", "male_last_names", "unisex_last_names")


@cache
def _locale_names() -> tuple[str, ...]:
    """First and last name parts of every Faker locale written in Latin script, as spelled there."""
    import importlib
    import pkgutil

    try:
        providers = importlib.import_module("faker.providers.person")
    except ImportError:
        return ()
    spellings: set[str] = set()
    for module in pkgutil.iter_modules(providers.__path__):
        try:
            provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attribute in dir(provider):
            values = getattr(provider, attribute) if attribute.startswith(NAME_ATTRIBUTES) else ()
            for value in values if isinstance(values, (tuple, list, dict)) else ():
                if isinstance(value, str) and _latin_script(value):
                    spellings |= {unicodedata.normalize("NFC", p) for p in re.split(r"[ \-]", value) if len(p) > 1}
    return tuple(sorted(spellings))


def _latin_script(text: str) -> bool:
    return all(not c.isalpha() or unicodedata.name(c, "").startswith("LATIN ") for c in text)


@cache
def _international_first_names() -> tuple[str, ...]:
    """Every name part of Jörg Michael's dictionary as spelled there (accents kept: José, Benoît, Zoë).

    The package ships it as UTF-8 (read it so: as Latin-1, "José" became "JosÃ©" and no accented name was
    known); a line is a gender code, then the name with '+' between its parts, then country columns."""
    michael = _package_dir("gender_guesser")
    path = michael / "data" / "nam_dict.txt" if michael is not None else None
    if path is None or not path.is_file():
        return ()
    spellings: set[str] = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split()
        if line[:1] in "#=" or len(fields) < 2:
            continue
        spellings |= {unicodedata.normalize("NFC", p) for p in re.split(r"[+\-]", fields[1]) if p and "\ufffd" not in p}
    return tuple(sorted(spellings))


@cache
def _accented_spellings() -> dict[str, frozenset[str]]:
    """Folded name -> its spellings with accents (casefolded): "ines" -> {"inés"}, "zuniga" -> {"zúñiga"}."""
    found: dict[str, set[str]] = {}
    for spelling in (*_international_first_names(), *_locale_names()):
        if fold(spelling) != spelling.casefold():
            found.setdefault(fold(spelling), set()).add(spelling.casefold())
    return {key: frozenset(value) for key, value in found.items()}


def accented_spellings(part: str) -> frozenset[str]:
    """The accented spellings (casefolded) the lists know for this name part."""
    return tables().accented.get(fold(part), frozenset())


def accent_unsure(part: str) -> bool:
    """True when the lists spell this name part with accents other than the ones read ("Ines" read, "Inés"
    known): at 200 dpi an accent is a few pixels, so such a read may be right or may have lost one."""
    spellings = tables().accented.get(fold(part))
    return bool(spellings) and part.casefold() not in spellings


# Census surnames below this rank are rare (one person in ~100,000); a rare list name earns half the bonus.
COMMON_SURNAME_RANK = 20_000


@cache
def _weights() -> dict[str, float]:
    """Folded name -> 1.0 (common first or last name) or 0.5 (a rare Census surname)."""
    weights: dict[str, float] = {name: 1.0 for name in _known_names()}
    census = _package_dir("names")
    path = census / "dist.all.last" if census is not None else None
    if path is not None and path.is_file():
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) == 4 and int(fields[3]) > COMMON_SURNAME_RANK and fields[0].casefold() in weights:
                weights[fields[0].casefold()] = 0.5
    return weights


def name_weight(part: str) -> float:
    """How much a name list vouches for one name part: 1 common, 0.5 rare, 0 unknown."""
    return tables().weights.get(fold(part), 0.0)


@cache
def _blocks() -> dict[tuple[int, str], tuple[str, ...]]:
    """Known names by (length, first letter) and by (length, last two letters): a misread keeps one end of
    the word (a lost first letter keeps the end), so a near name shares a block with it."""
    blocks: dict[tuple[int, str], set[str]] = {}
    for name in _known_names():
        blocks.setdefault((len(name), name[:1]), set()).add(name)
        blocks.setdefault((len(name), "~" + name[-2:]), set()).add(name)
    return {key: tuple(sorted(names)) for key, names in blocks.items()}


@lru_cache(maxsize=4096)
def near_names(folded: str, *, limit: int = 6) -> tuple[str, ...]:
    """Known names one edit away (two for longer words), commonest first: the spellings a misread is likely
    to have come from. Compared only within the word's blocks (rapidfuzz's bit-parallel Levenshtein)."""
    from rapidfuzz import distance, process

    reach = 1 if len(folded) <= 5 else 2
    found: dict[str, int] = {}
    for length in range(len(folded) - reach, len(folded) + reach + 1):
        for key in ((length, folded[:1]), (length, "~" + folded[-2:])):
            block = tables().blocks.get(key, ())
            for name, edits, _ in process.extract(folded, block, scorer=distance.Levenshtein.distance,
                                                  score_cutoff=reach, limit=limit * 3):
                found[name] = int(edits)
    ranked = sorted((edits, -name_weight(name), name) for name, edits in found.items())
    return tuple(name for _, _, name in ranked[:limit])


# Letters with a stroke or of two letters joined, which Unicode does not decompose into a base letter and a mark:
# without these, "Yılmaz", "Jørgensen" and "Michał" folded to themselves, so a reading of "Yilmaz" was no known
# name and no known spelling put its accent back.
LETTER_FOLDS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i"})


def fold(text: str) -> str:
    """Case, accents and apostrophes folded away: O'Brien → obrien, José → jose, Yılmaz → yilmaz."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalpha()).casefold().translate(LETTER_FOLDS)


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
