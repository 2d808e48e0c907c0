"""Merge signers into one roster: block, score candidate pairs, cluster with union-find under human decisions.

Blocking keeps comparisons near-linear: each record falls in a few blocks (Metaphone of the last name + first
initial; first name + start, or end, of the last name; last name + end of the first name; zip + first two letters;
zip + last name; email; the voter the line is matched to; the whole folded name), and only pairs sharing a block
are compared. Small blocks are paired with numpy and prefiltered with `rapidfuzz.process.cpdist`; larger ones with `rapidfuzz.process.cdist`;
blocks over `max_block` (a surname holding 1% of a million signers) are sorted by name and compared within
overlapping windows, the sorted-neighbourhood method (Hernández & Stolfo, SIGMOD 1995).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import jellyfish
import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist, cpdist

from pipeline.names import PersonName, are_nicknames, fold, ocr_fold, surname_frequency
from pipeline.voter_keys import zip5

SMALL_BLOCK = 48  # below this, numpy pair generation + one cpdist call beats a cdist call per block
EDIT_COST = 0.04  # each edit between two first or last names costs this much score
ZIP_SAME_BONUS = 0.02  # a shared zip confirms a one-edit slip, not two
EMAIL_SAME_BONUS = 0.08  # a shared email forgives two
MAX_EDITS = 2  # the blocking prefilter: pairs further apart than this (in "first last") are not scored
EMAIL_SLIP_EDITS = 1  # two e-mail addresses this few edits apart neither confirm nor contradict a match


@dataclass(frozen=True, slots=True)
class Person:
    """One signature occurrence to deduplicate."""

    id: str  # stable occurrence id: the line's LineId text, "line:<sha256>:<page>:<line>" (pipeline/store/ids.py)
    name: PersonName
    zip: str = ""  # digits only, may be empty
    email: str = ""  # lowercased, may be empty
    address: str = ""  # folded, may be empty
    voter_id: str = ""  # the voter the line is matched to (pipeline/match.py), may be empty


@dataclass(frozen=True)
class DedupeSettings:
    """Score thresholds and blocking limits; scores step by EDIT_COST, so thresholds count edits."""

    same: float = 0.95  # score >= same: merged (an exact or nickname name, or one edit with the same zip)
    possible: float = 0.93  # possible <= score < same: a pair for human review, not merged
    common_surname_pct: float = 0.01  # surnames this common (US Census %, top ~1,100) need a zip or email to
    # confirm a misspelt name: among a city's Smiths, Jon and Joan are two people more often than one slip
    max_block: int = 1000  # larger blocks are compared within sorted windows
    window: int = 40  # sorted-neighbourhood window inside an oversized block
    # The blocking and scoring rules' version: part of the settings a stored roster was built with (pipeline/roster.py
    # keeps their repr), so a workspace's roster is rebuilt by code that blocks or scores pairs differently. 2: linked
    # nicknames, the name joined without its middle initial, e-mail slips, zips read short (2026-12-03).
    rules: int = 2


@dataclass(frozen=True)
class PairScore:
    """A scored pair of occurrence ids (a < b) and why it scored so."""

    a: str
    b: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class DedupeResult:
    """Clusters of occurrence ids (singletons included) and the unmerged pairs worth a human look."""

    clusters: tuple[tuple[str, ...], ...]  # each sorted; sorted by first id
    possible: tuple[PairScore, ...]  # sorted by (a, b); only pairs not in the same cluster
    comparisons: int = 0  # string comparisons made while blocking


@dataclass(frozen=True)
class _Keys:
    """Per-record matching forms, index-aligned with the id-sorted people (object arrays of str)."""

    first: np.ndarray  # OCR-folded, nickname-canonical
    raw_first: np.ndarray  # OCR-folded first name as written (no nickname mapping)
    plain_first: np.ndarray  # folded first name as written, what the nickname table is keyed by
    last: np.ndarray
    middle: np.ndarray  # first letter of the OCR-folded middle name, or ""
    whole: np.ndarray  # raw first + middle + last: "Jean-Pierre X" and "Jean Pierre X" agree here
    joined: np.ndarray  # raw first + middle + last, a middle initial left out: a name read with a space inside a
    # word ("Caoimhe Donnel ly") or none between its words ("OLUWASEUNKIMURA") agrees with it written with one
    initial: np.ndarray  # the middle initial (a one-letter middle name), or ""
    short: np.ndarray  # "first last", what the prefilter compares
    raw_short: np.ndarray  # "raw_first last"
    zip: np.ndarray  # int codes, 0 = none
    email: np.ndarray  # int codes, 0 = none
    common_last: np.ndarray  # bool: the surname is common enough that a one-edit slip needs confirming
    initial_last: np.ndarray  # int code of "first initial + last", so "J. Roe" meets "Jane Roe"
    last_code: np.ndarray  # int code of last, 0 = none
    is_initial: np.ndarray  # bool: the first name is a single letter
    voter: np.ndarray  # int codes of the matched voter, 0 = none
    zip_text: np.ndarray  # the values behind zip, email and voter: block keys must not depend on who else is
    email_text: np.ndarray  # in the batch (the stored roster folds new lines in a few at a time, pipeline/roster.py)
    voter_text: np.ndarray


# The reasons score_pairs gives, in its order: a stored pair keeps them as bits of one integer (pipeline/roster.py).
EVIDENCE = ("whole_same", "name_same", "no_name", "nickname", "first_initial", "middle_differs", "zip_same",
            "zip_differs", "email_same", "email_differs", "voter_same", "voter_differs", "name_similar")


@dataclass(frozen=True)
class _Scored:
    """Candidate pairs (left < right, record indices) with their scores and the evidence behind them."""

    left: np.ndarray
    right: np.ndarray
    score: np.ndarray
    evidence: dict[str, np.ndarray]  # reason name -> bool per pair


def dedupe(
    people: Sequence[Person],
    *,
    settings: DedupeSettings = DedupeSettings(),
    decisions: Mapping[frozenset[str], bool] = {},  # noqa: B006 - read only
) -> DedupeResult:
    """Cluster occurrences of the same signer; the result does not depend on the input order."""
    return cluster(score(people, settings=settings), decisions, settings=settings)


@dataclass(frozen=True)
class ScoredPeople:
    """The costly half of dedupe: every candidate pair of these people, scored. Human decisions on pairs only
    change the cheap half (`cluster`), so a cache may keep this across them (pipeline/review/queue.py)."""

    ids: tuple[str, ...]  # sorted; the record indices of `scored`
    scored: _Scored | None  # None with fewer than two people
    comparisons: int


def score(people: Sequence[Person], *, settings: DedupeSettings = DedupeSettings()) -> ScoredPeople:
    """Block, prefilter and score the candidate pairs of these people."""
    ordered = sorted(people, key=lambda p: p.id)
    ids = tuple(p.id for p in ordered)
    if len(set(ids)) != len(ids):
        raise ValueError("person ids must be unique")
    if len(ids) < 2:
        return ScoredPeople(ids, None, 0)
    keys = _keys(ordered, settings=settings)
    left, right, comparisons = candidate_pairs(keys, settings=settings)
    scored = score_pairs(keys, left, right, settings=settings)
    keep = scored.score >= settings.possible  # clustering never looks at the rest: no need to keep them
    scored = _Scored(scored.left[keep], scored.right[keep], scored.score[keep],
                     {reason: flags[keep] for reason, flags in scored.evidence.items()})
    return ScoredPeople(ids, scored, comparisons)


def cluster(
    scored: ScoredPeople,
    decisions: Mapping[frozenset[str], bool] = {},  # noqa: B006 - read only
    *,
    settings: DedupeSettings = DedupeSettings(),
) -> DedupeResult:
    """Clusters and possible pairs from scored pairs under the human decisions."""
    if scored.scored is None:
        return DedupeResult(tuple((x,) for x in scored.ids), (), 0)
    clusters, possible = _cluster(list(scored.ids), scored.scored, decisions, settings=settings)
    return DedupeResult(clusters, possible, scored.comparisons)


def _keys(people: Sequence[Person], *, settings: DedupeSettings) -> _Keys:
    """Matching forms per record, each computed once per distinct value (names repeat)."""
    column = lambda attr: [getattr(p.name, attr) for p in people]  # noqa: E731
    compact = lambda x: ocr_fold(x).replace(" ", "")  # noqa: E731
    first, last = _mapped(column("key_first"), ocr_fold), _mapped(column("key_last"), ocr_fold)
    raw_first, middle = _mapped(column("first"), compact), _mapped(column("middle"), compact)
    nameless = (first == "") & (last == "")
    # A middle of a word and an initial ("H. Zúñiga" of Araceli H. Zúñiga Avendaño): its words join the name, the
    # initial is compared apart.
    middle_words = _mapped(column("middle"), lambda x: "".join(w for w in ocr_fold(x).split() if len(w) > 1))
    initial = _mapped(column("middle"), lambda x: next((w for w in ocr_fold(x).split() if len(w) == 1), ""))
    zips = [zip5(p.zip) for p in people]  # a zip read short ("9316" of 01316) is no zip: it neither confirms nor vetoes
    common = lambda x: surname_frequency(x) >= settings.common_surname_pct  # noqa: E731
    return _Keys(
        first=first, raw_first=raw_first, plain_first=_mapped(column("first"), lambda x: fold(x).replace(" ", "")),
        last=last, middle=_mapped(list(middle), lambda x: x[:1]), whole=raw_first + middle + last,
        joined=raw_first + middle_words + last, initial=initial,
        short=np.where(nameless, "", first + " " + last), raw_short=np.where(nameless, "", raw_first + " " + last),
        zip=_codes(zips), email=_codes([p.email for p in people]),
        common_last=_mapped(column("key_last"), common).astype(bool),
        initial_last=_codes([f[:1] + " " + x for f, x in zip(first, last)]), last_code=_codes(list(last)),
        is_initial=_mapped(list(first), lambda x: len(x) == 1).astype(bool),
        voter=_codes([p.voter_id for p in people]), zip_text=_texts(zips),
        email_text=_texts([p.email for p in people]), voter_text=_texts([p.voter_id for p in people]))


def _texts(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=object) if values else np.array([], dtype=object)


def _mapped(values: list[str], how) -> np.ndarray:
    """how(value) per value, computed once per distinct value (names repeat), as an object array."""
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    return np.array([how(u) for u in uniques] or [""], dtype=object)[codes] if len(values) else np.array([], object)


def _codes(values: list[str]) -> np.ndarray:
    """Integer codes per distinct non-empty value; 0 for empty."""
    codes, uniques = pd.factorize(np.array(values, dtype=object), sort=True)
    if len(uniques) and uniques[0] == "":
        return codes.astype(np.int64)  # sorted, so "" is code 0
    return codes.astype(np.int64) + 1


# ---- blocking ----

def block_keys(keys: _Keys) -> Iterator[tuple[np.ndarray, bool]]:
    """Each blocking rule's key per record ("" = in no block), and whether a shared key already proves a match."""
    phonetic = {x: jellyfish.metaphone(x) or x for x in set(keys.last) if x}
    f, la, raw, zips = keys.first, keys.last, keys.raw_first, keys.zip_text
    rule = lambda values: np.array(values, dtype=object)  # noqa: E731
    yield rule([f"{phonetic[x]}|{y[:1]}" if x else "" for x, y in zip(la, f)]), False
    yield rule([f"{y}|{x[:2]}" if x and y else "" for x, y in zip(la, f)]), False
    yield rule([f"{y}|{x[-2:]}" if x and y else "" for x, y in zip(la, f)]), False  # a slip at the last name's start
    yield rule([f"{x}|{y[-2:]}" if x and y else "" for x, y in zip(la, raw)]), False  # ... at the first name's start
    yield rule([f"{z}|{y[:2]}" if z and y else "" for z, y in zip(zips, f)]), False  # a changed surname
    yield rule([f"{z}|{x}" if z and x else "" for z, x in zip(zips, la)]), True  # nicknames whose canonicals differ
    yield rule([f"@{e}" if e else "" for e in keys.email_text]), True  # scored even when the names differ a lot
    yield rule([f"#{v}" if v else "" for v in keys.voter_text]), True  # the same voter: the strongest key
    yield keys.joined, True


BLOCK_RULES = 9  # how many rules block_keys yields (the stored roster keeps one key column per rule)


def candidate_pairs(keys: _Keys, *, settings: DedupeSettings,
                    rules: Sequence[tuple[np.ndarray, bool]] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Index pairs (i < j) that share a block and pass the prefilter, and how many comparisons that took.
    `rules`: block_keys(keys) when the caller computed them already."""
    n = len(keys.first)
    small: list[np.ndarray] = []
    exact: list[np.ndarray] = []
    found: list[np.ndarray] = []
    comparisons = 0
    for rule, proves in (rules if rules is not None else block_keys(keys)):
        for block in _blocks(rule):
            if proves and len(block) <= settings.max_block:
                exact.append(block)
            elif len(block) < SMALL_BLOCK:
                small.append(block)
            else:
                pairs, compared = _compare_block(keys, block, settings=settings)
                found.append(pairs)
                comparisons += compared
    proven = _pairs_of_small_blocks(exact, n)
    generated = _pairs_of_small_blocks(small, n)
    generated = generated[~np.isin(generated, proven, assume_unique=True)]  # already certain to be scored
    comparisons += 2 * len(generated)
    if len(generated):
        left, right = generated // n, generated % n
        found.append(generated[_close(keys, left, right, cpdist)])
    found.append(proven)
    codes = _unique(np.concatenate(found))
    return codes // n, codes % n, comparisons


def _close(keys: _Keys, a: np.ndarray, b: np.ndarray, how) -> np.ndarray:
    """Prefilter: "first last" (nickname-canonical or as written) at most MAX_EDITS Levenshtein edits apart, or an
    initial against a name it starts. Pairwise with how=cpdist; all a x all b with how=cdist."""
    def near(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return how(x, y, scorer=Levenshtein.distance, score_cutoff=MAX_EDITS, dtype=np.int32, workers=1) <= MAX_EDITS

    close = near(keys.short[a], keys.short[b]) | near(keys.raw_short[a], keys.raw_short[b])
    if how is cdist:
        initial = np.equal.outer(keys.initial_last[a], keys.initial_last[b]) & (
            keys.is_initial[a][:, None] | keys.is_initial[b][None, :])
        same_last = np.equal.outer(keys.last_code[a], keys.last_code[b]) & (keys.last_code[a] > 0)[:, None]
    else:
        initial = (keys.initial_last[a] == keys.initial_last[b]) & (keys.is_initial[a] | keys.is_initial[b])
        same_last = (keys.last_code[a] == keys.last_code[b]) & (keys.last_code[a] > 0)
    close |= initial
    # Nicknames the table links but whose canonicals differ (the table is a relation: Lani's canonical is not
    # Leilani, Debbie's not Débora) are too many edits apart for the test above; scored, they are the same name.
    # Not under a common surname: there the relation chains people together (Bill Smith is a nickname away from
    # both William and Robert Smith).
    rare = ~keys.common_last[a]
    unsure = np.nonzero(same_last & ~close & (rare[:, None] if how is cdist else rare))
    if unsure[0].size:
        first_a = keys.plain_first[a][unsure[0]]
        first_b = keys.plain_first[b][unsure[1] if how is cdist else unsure[0]]
        close[unsure] = np.fromiter(map(are_nicknames, first_a, first_b), bool, len(first_a))
    return close


def _blocks(rule: np.ndarray) -> list[np.ndarray]:
    """Record indices per non-empty block key with two or more members, each sorted by index."""
    codes, uniques = pd.factorize(rule)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    empty = np.flatnonzero(uniques == "")
    keep = (sizes >= 2) & ~np.isin(sorted_codes[starts], empty)
    return [order[s:s + k] for s, k in zip(starts[keep], sizes[keep])]


def _pairs_of_small_blocks(blocks: list[np.ndarray], n: int) -> np.ndarray:
    """All i < j pairs inside each block, encoded i * n + j, built per block size without a Python pair loop."""
    by_size: dict[int, list[np.ndarray]] = {}
    for block in blocks:
        by_size.setdefault(len(block), []).append(block)
    out = [np.empty(0, dtype=np.int64)]
    for size, group in by_size.items():
        members = np.stack(group).astype(np.int64)  # (blocks, size), each row ascending
        upper_i, upper_j = np.triu_indices(size, k=1)
        out.append((members[:, upper_i] * n + members[:, upper_j]).ravel())
    return _unique(np.concatenate(out))


def _unique(codes: np.ndarray) -> np.ndarray:
    """Sorted distinct values; sorting beats np.unique's hashing on millions of int64 pair codes."""
    codes = np.sort(codes)
    return codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes


def _compare_block(keys: _Keys, block: np.ndarray, *, settings: DedupeSettings) -> tuple[np.ndarray, int]:
    """Prefiltered pairs of one large block: whole block by cdist, or sorted windows when over max_block."""
    if len(block) <= settings.max_block:
        return _cdist_pairs(keys, block, block), len(block) * (len(block) - 1)
    block = block[np.lexsort((block, keys.short[block].astype(str)))]  # sorted neighbourhood: similar names meet
    w = settings.window
    found, compared = [], 0
    for start in range(0, len(block), w):
        rows, cols = block[start:start + w], block[start:start + 2 * w]
        found.append(_cdist_pairs(keys, rows, cols))
        compared += 2 * len(rows) * len(cols)
    return np.concatenate(found), compared


def _cdist_pairs(keys: _Keys, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Encoded pairs (min * n + max) of rows x cols passing the prefilter, self pairs excluded."""
    r, c = np.nonzero(_close(keys, rows, cols, cdist))
    a, b = rows[r].astype(np.int64), cols[c].astype(np.int64)
    keep = a != b
    return np.minimum(a[keep], b[keep]) * len(keys.first) + np.maximum(a[keep], b[keep])


def block_kind(size: int, proves: bool, *, settings: DedupeSettings) -> str:
    """How candidate_pairs pairs a block of this size: "all" its pairs (a shared key that proves a match),
    those passing the "prefilter", or the prefiltered pairs of sorted "windows" (a large oversized block)."""
    if proves and size <= settings.max_block:
        return "all"
    if size < SMALL_BLOCK or size <= settings.max_block:
        return "prefilter"
    return "windows"


def block_pairs(keys: _Keys, block: np.ndarray, proves: bool, *, settings: DedupeSettings) -> np.ndarray:
    """The encoded pairs (i * n + j, i < j) one block yields in candidate_pairs (block_kind says how)."""
    n = len(keys.first)
    block = np.sort(np.asarray(block, dtype=np.int64))
    kind = block_kind(len(block), proves, settings=settings)
    if kind == "windows":
        return _unique(_compare_block(keys, block, settings=settings)[0])
    codes = _pairs_of_small_blocks([block], n)
    return codes if kind == "all" else codes[_close(keys, codes // n, codes % n, cpdist)]


def pairs_with(keys: _Keys, block: np.ndarray, changed: np.ndarray, proves: bool, *,
               settings: DedupeSettings) -> np.ndarray:
    """The encoded pairs of a block that is not windowed and involve a `changed` member: in such a block whether
    a pair is a candidate depends on the pair alone, so the other pairs need no look."""
    n = len(keys.first)
    kind = block_kind(len(block), proves, settings=settings)
    if kind == "windows":
        raise ValueError("a windowed block pairs over all of it: use block_pairs")
    a = np.repeat(np.asarray(changed, dtype=np.int64), len(block))
    b = np.tile(np.asarray(block, dtype=np.int64), len(changed))
    keep = a != b
    codes = _unique(np.minimum(a[keep], b[keep]) * n + np.maximum(a[keep], b[keep]))
    return codes if kind == "all" else codes[_close(keys, codes // n, codes % n, cpdist)]


# ---- scoring ----

def score_pairs(keys: _Keys, left: np.ndarray, right: np.ndarray, *, settings: DedupeSettings) -> _Scored:
    """Score every candidate pair at once: name edits, then zip and email raise, lower or cap the score.

    name = 1 - EDIT_COST x (edits between first names + edits between last names), an edit in a name of three
    letters or fewer counting double; equal or nickname first names cost nothing, an initial against its full
    name costs one edit. A shared zip or email adds a bonus and confirms; a differing one costs an edit and caps
    the score below `same` (at most possible). So do weak matches that no zip or email confirms: an initial,
    conflicting middle initials, or a misspelt name (except a single slip when both surnames are uncommon).
    """
    ev = _name_evidence(keys, left, right)
    short = lambda a: np.fromiter((len(x) <= 3 for x in a), bool, len(a))  # noqa: E731
    f_short = short(keys.first[left]) | short(keys.first[right])
    l_short = short(keys.last[left]) | short(keys.last[right])
    first_cost = np.where(ev["name_same"] | ev["nickname"], 0, np.where(ev["first_initial"], 1, ev["first_edits"]))
    cost = first_cost * np.where(f_short & ~ev["first_initial"], 2, 1) + ev["last_edits"] * np.where(l_short, 2, 1)
    score = np.where(ev["whole_same"], 1.0, 1.0 - EDIT_COST * cost)
    score[ev["no_name"]] = 0.0
    za, zb, ea, eb = keys.zip[left], keys.zip[right], keys.email[left], keys.email[right]
    ev["zip_same"], ev["zip_differs"] = (za > 0) & (za == zb), (za > 0) & (zb > 0) & (za != zb)
    ev["email_same"], ev["email_differs"] = (ea > 0) & (ea == eb), (ea > 0) & (eb > 0) & (ea != eb)
    # An address one edit from the other is a slip of the reader as often as someone else's (raul.rincon and
    # raul.trincon; j.smith and a.smith): neither confirms nor vetoes.
    unsure = np.flatnonzero(ev["email_differs"])
    if unsure.size:
        ev["email_differs"][unsure] = cpdist(keys.email_text[left[unsure]], keys.email_text[right[unsure]],
                                             scorer=Levenshtein.distance, score_cutoff=2, dtype=np.int32,
                                             workers=1) > EMAIL_SLIP_EDITS
    score = score + ZIP_SAME_BONUS * ev["zip_same"] + EMAIL_SAME_BONUS * ev["email_same"]
    score = score - EDIT_COST * (ev["zip_differs"] | ev["email_differs"])
    va, vb = keys.voter[left], keys.voter[right]
    ev["voter_same"], ev["voter_differs"] = (va > 0) & (va == vb), (va > 0) & (vb > 0) & (va != vb)
    slip = (cost == 1) & ~ev["first_initial"] & ~keys.common_last[left] & ~keys.common_last[right]
    weak = ~ev["whole_same"] & ((cost > 0) | ev["middle_differs"]) & ~(slip & ~ev["middle_differs"])
    confirmed = ev["zip_same"] | ev["email_same"]
    capped = ev["zip_differs"] | ev["email_differs"] | ev["voter_differs"] | (weak & ~confirmed)
    cap = (settings.same + settings.possible) / 2
    score = np.where(capped, np.minimum(score, cap), score)
    # Two lines matched to one voter are one signer whatever their names read; two voters, never merged unasked.
    score = np.where(ev["voter_same"], 1.0, score)
    score = np.round(np.clip(score, 0.0, 1.0), 4)
    del ev["first_edits"], ev["last_edits"]
    ev["name_similar"] = ~ev["whole_same"] & ~ev["first_initial"] & (cost > 0)
    assert tuple(ev) == EVIDENCE, "EVIDENCE must list score_pairs' reasons in their order"
    return _Scored(left, right, score, ev)


def evidence_bits(scored: _Scored) -> np.ndarray:
    """Each pair's reasons as one integer, bit k for EVIDENCE[k]."""
    bits = np.zeros(len(scored.score), dtype=np.int64)
    for k, reason in enumerate(EVIDENCE):
        bits |= scored.evidence[reason].astype(np.int64) << k
    return bits


def scored_from_bits(left: np.ndarray, right: np.ndarray, score: np.ndarray, bits: np.ndarray) -> _Scored:
    """Scored pairs back from stored ones (left < right, record indices; reasons as evidence_bits)."""
    bits = np.asarray(bits, dtype=np.int64)
    return _Scored(np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64), np.asarray(score, dtype=float),
                   {reason: ((bits >> k) & 1).astype(bool) for k, reason in enumerate(EVIDENCE)})


def _name_evidence(keys: _Keys, left: np.ndarray, right: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair: which name facts hold (reason name -> bool) and the edit counts between first and last names."""
    fa, fb = keys.first[left], keys.first[right]
    ia, ib = keys.initial[left], keys.initial[right]
    joined_same = (keys.joined[left] == keys.joined[right]) & ((ia == "") | (ib == "") | (ia == ib))
    ev = {"whole_same": (keys.whole[left] == keys.whole[right]) | joined_same, "name_same": fa == fb}
    ev["no_name"] = (keys.short[left] == "") | (keys.short[right] == "")
    pa, pb = keys.plain_first[left], keys.plain_first[right]
    ev["nickname"] = ~ev["name_same"] & np.fromiter(map(are_nicknames, pa, pb), bool, len(pa))
    ra, rb = keys.raw_first[left], keys.raw_first[right]
    initials = np.fromiter((x[:1] == y[:1] or u[:1] == v[:1] for x, y, u, v in zip(fa, fb, ra, rb)), bool, len(fa))
    one_initial = keys.is_initial[left] ^ keys.is_initial[right]
    ev["first_initial"] = ~ev["name_same"] & ~ev["nickname"] & one_initial & initials

    def edits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return cpdist(a, b, scorer=Levenshtein.distance, score_cutoff=9, dtype=np.int32, workers=1)

    ev["first_edits"] = np.minimum(edits(fa, fb), edits(ra, rb))
    ev["last_edits"] = edits(keys.last[left], keys.last[right])
    ma, mb = keys.middle[left], keys.middle[right]
    ev["middle_differs"] = (ma != "") & (mb != "") & (ma != mb)  # John A. and John B. Smith: two people, unless shown
    return ev


# ---- clustering ----

def _cluster(
    ids: list[str], scored: _Scored, decisions: Mapping[frozenset[str], bool], *, settings: DedupeSettings
) -> tuple[tuple[tuple[str, ...], ...], tuple[PairScore, ...]]:
    """Union-find over human "same" pairs, then machine pairs by descending score, never joining a "different" pair.

    Rule: two clusters are not merged when a human said some member of one differs from some member of the
    other. Human "same" pairs go first, so they merge unless that contradicts a human "different" (then they
    stay apart and come back as a possible pair, reason `decision_conflict`). Pairs a human decided are never
    offered for review again.
    """
    index = {x: k for k, x in enumerate(ids)}
    forest = _Forest(len(ids))
    human_same: list[tuple[int, int]] = []
    decided: set[tuple[int, int]] = set()
    for pair, same in decisions.items():
        members = sorted(index[x] for x in pair if x in index)
        if len(members) != 2:
            continue  # a decision about someone not in this roster (or a malformed pair)
        decided.add((members[0], members[1]))
        if same:
            human_same.append((members[0], members[1]))
        else:
            forest.forbid(members[0], members[1])
    extra: list[PairScore] = []
    for i, j in sorted(human_same):
        if not forest.union(i, j):
            extra.append(PairScore(ids[i], ids[j], 1.0, ("human_same", "decision_conflict")))
    left, right, score = scored.left, scored.right, scored.score
    strong = np.flatnonzero(score >= settings.same)
    strong = strong[np.lexsort((right[strong], left[strong], -score[strong]))]  # deterministic merge order
    refused = []
    for k in strong.tolist():
        i, j = int(left[k]), int(right[k])
        if (i, j) not in decided and not forest.union(i, j):
            refused.append(k)
    review = np.flatnonzero((score >= settings.possible) & (score < settings.same)).tolist()
    apart = lambda k: forest.find(int(left[k])) != forest.find(int(right[k]))  # noqa: E731
    possible = [_pair(ids, scored, k) for k in review if (int(left[k]), int(right[k])) not in decided and apart(k)]
    possible += [_pair(ids, scored, k, ("kept_apart_by_decision",)) for k in refused if apart(k)]
    possible += [p for p in extra if forest.find(index[p.a]) != forest.find(index[p.b])]
    return _clusters(ids, forest), tuple(sorted(possible, key=lambda p: (p.a, p.b)))


def _clusters(ids: list[str], forest: _Forest) -> tuple[tuple[str, ...], ...]:
    """Groups of ids by root, each sorted, sorted by their first id (ids are sorted, so indices order them)."""
    root = np.array(forest.parent, dtype=np.int64)
    while True:  # pointer jumping: every index ends pointing at its root
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    order = np.argsort(root, kind="stable")  # members of a group together, each group ascending
    sorted_root = root[order]
    starts = np.flatnonzero(np.r_[True, sorted_root[1:] != sorted_root[:-1]])
    starts = starts[np.argsort(order[starts], kind="stable")]  # groups by their smallest member
    sizes = np.bincount(root, minlength=len(ids))[sorted_root[starts]]
    return tuple(tuple(ids[k] for k in order[s:s + n]) for s, n in zip(starts.tolist(), sizes.tolist()))


def _pair(ids: list[str], scored: _Scored, k: int, more: tuple[str, ...] = ()) -> PairScore:
    reasons = tuple(name for name, flags in scored.evidence.items() if flags[k])
    return PairScore(ids[int(scored.left[k])], ids[int(scored.right[k])], float(scored.score[k]), reasons + more)


class _Forest:
    """Union-find with path halving; roots carry the members a human said they differ from."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n
        self.forbidden: dict[int, set[int]] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def forbid(self, i: int, j: int) -> None:
        self.forbidden.setdefault(self.find(i), set()).add(j)
        self.forbidden.setdefault(self.find(j), set()).add(i)

    def union(self, i: int, j: int) -> bool:
        """Join the clusters of i and j; False (and no change) if a human said they hold different people."""
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return True
        fi, fj = self.forbidden.get(ri, set()), self.forbidden.get(rj, set())
        if any(self.find(x) == rj for x in fi) or any(self.find(x) == ri for x in fj):
            return False
        merged = fi | fj
        if self.size[ri] < self.size[rj]:
            ri, rj = rj, ri
        self.parent[rj] = ri
        self.size[ri] += self.size[rj]
        self.forbidden.pop(rj, None)
        if merged:
            self.forbidden[ri] = merged
        return True
