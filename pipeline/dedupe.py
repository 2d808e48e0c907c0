"""Merge signers into one roster: block, score candidate pairs, cluster with union-find under human decisions.

Blocking keeps comparisons near-linear: each record falls in a few blocks (Metaphone of the last name + first
initial; first name + start, or end, of the last name; last name + end of the first name; zip + first initial; zip + last name;
email; the whole folded name), and only pairs sharing a block are compared. Small blocks are paired with numpy and
prefiltered with `rapidfuzz.process.cpdist`; larger ones with `rapidfuzz.process.cdist` and a score cutoff;
blocks over `max_block` (a surname holding 1% of a million signers) are sorted by name and compared within
overlapping windows, the sorted-neighbourhood method (Hernández & Stolfo, SIGMOD 1995).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jellyfish
import numpy as np
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cdist, cpdist

from pipeline.names import PersonName, are_nicknames, fold, ocr_fold

EDIT_COST = 0.04  # one OCR slip costs this much name similarity
SMALL_BLOCK = 48  # below this, numpy pair generation + one cpdist call beats a cdist call per block


@dataclass(frozen=True, slots=True)
class Person:
    """One signature occurrence to deduplicate."""

    id: str  # stable occurrence id, e.g. "sha256prefix:page:line"
    name: PersonName
    zip: str = ""  # digits only, may be empty
    email: str = ""  # lowercased, may be empty
    address: str = ""  # folded, may be empty


@dataclass(frozen=True)
class DedupeSettings:
    """Score thresholds and blocking limits."""

    same: float = 0.95  # score >= same: merged (one edit in the name, or two with the same zip)
    possible: float = 0.84  # possible <= score < same: a pair for human review, not merged
    prefilter: float = 0.75  # Jaro-Winkler on "first last" keys a candidate pair needs before full scoring
    max_block: int = 1000  # larger blocks are compared within sorted windows
    window: int = 40  # sorted-neighbourhood window inside an oversized block


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
    comparisons: int = 0  # string-similarity evaluations made while blocking


@dataclass(frozen=True)
class _Keys:
    """Per-record matching forms, index-aligned with the id-sorted people."""

    first: list[str]  # OCR-folded, nickname-canonical
    raw_first: list[str]  # OCR-folded first name as written (no nickname mapping)
    plain_first: list[str]  # folded first name as written, what the nickname table is keyed by
    last: list[str]
    middle: list[str]  # OCR-folded middle name(s), no spaces
    whole: list[str]  # raw first + middle + last: "Jean-Pierre X" and "Jean Pierre X" agree here
    short: list[str]  # "first last", what the prefilter compares
    zip: list[str]
    email: list[str]


def dedupe(
    people: Sequence[Person],
    *,
    settings: DedupeSettings = DedupeSettings(),
    decisions: Mapping[frozenset[str], bool] = {},  # noqa: B006 - read only
) -> DedupeResult:
    """Cluster occurrences of the same signer; the result does not depend on the input order."""
    ordered = sorted(people, key=lambda p: p.id)
    ids = [p.id for p in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("person ids must be unique")
    keys = _keys(ordered)
    left, right, comparisons = candidate_pairs(keys, settings=settings)
    scored = [score_pair(keys, int(i), int(j), settings=settings) for i, j in zip(left, right)]
    clusters, possible = _cluster(ids, scored, decisions, settings=settings)
    return DedupeResult(clusters, possible, comparisons)


def _keys(people: Sequence[Person]) -> _Keys:
    first = [ocr_fold(p.name.key_first) for p in people]
    raw_first = [ocr_fold(p.name.first).replace(" ", "") for p in people]
    plain_first = [fold(p.name.first).replace(" ", "") for p in people]
    last = [ocr_fold(p.name.key_last) for p in people]
    middle = [ocr_fold(p.name.middle).replace(" ", "") for p in people]
    whole = [f + m + la for f, m, la in zip(raw_first, middle, last)]
    short = [f"{f} {la}" if f or la else "" for f, la in zip(first, last)]
    return _Keys(first, raw_first, plain_first, last, middle, whole, short, [p.zip for p in people], [p.email for p in people])


# ---- blocking ----

def block_keys(keys: _Keys) -> list[list[str]]:
    """One list per blocking rule: each record's block in that rule ("" = in no block)."""
    phonetic = _phonetic_table(set(keys.last))
    f, la = keys.first, keys.last
    return [
        [f"{phonetic[x]}|{y[:1]}" if x else "" for x, y in zip(la, f)],
        [f"{y}|{x[:2]}" if x and y else "" for x, y in zip(la, f)],
        [f"{y}|{x[-2:]}" if x and y else "" for x, y in zip(la, f)],  # survives a slip at the last name's start
        [f"{x}|{y[-2:]}" if x and y else "" for x, y in zip(la, keys.raw_first)],  # ... at the first name's start
        [f"{z}|{y[:1]}" if z else "" for z, y in zip(keys.zip, f)],
        [f"{z}|{x}" if z and x else "" for z, x in zip(keys.zip, la)],  # nicknames whose canonicals differ
        list(keys.email),
        list(keys.whole),
    ]


def _phonetic_table(lasts: set[str]) -> dict[str, str]:
    return {x: jellyfish.metaphone(x) or x for x in lasts if x}


def candidate_pairs(keys: _Keys, *, settings: DedupeSettings) -> tuple[np.ndarray, np.ndarray, int]:
    """Index pairs (i < j) that share a block and pass the prefilter, and how many comparisons that took."""
    names = np.array(keys.short, dtype=object)
    small: list[np.ndarray] = []
    found: list[np.ndarray] = []
    comparisons = 0
    for rule in block_keys(keys):
        for block in _blocks(rule):
            if len(block) < SMALL_BLOCK:
                small.append(block)
                continue
            pairs, compared = _compare_block(names, block, settings=settings)
            found.append(pairs)
            comparisons += compared
    generated = _pairs_of_small_blocks(small, len(names))
    comparisons += len(generated)
    if len(generated):
        left, right = generated // len(names), generated % len(names)
        sims = cpdist(names[left], names[right], scorer=JaroWinkler.normalized_similarity,
                      score_cutoff=settings.prefilter, dtype=np.float32, workers=1)
        found.append(generated[sims >= settings.prefilter])
    codes = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    return codes // len(names), codes % len(names), comparisons


def _blocks(rule: list[str]) -> list[np.ndarray]:
    """Record indices per non-empty block key with two or more members, each sorted by index."""
    column = np.array(rule, dtype=object)
    codes, uniques = _factorize(column)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(order)]
    empty = uniques.get("", -1)
    return [order[s:e] for s, e in zip(starts, ends) if e - s >= 2 and sorted_codes[s] != empty]


def _factorize(column: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    uniques: dict[str, int] = {}
    codes = np.fromiter((uniques.setdefault(v, len(uniques)) for v in column), dtype=np.int64, count=len(column))
    return codes, uniques


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
    return np.unique(np.concatenate(out))


def _compare_block(names: np.ndarray, block: np.ndarray, *, settings: DedupeSettings) -> tuple[np.ndarray, int]:
    """Prefiltered pairs of one large block: whole block by cdist, or sorted windows when over max_block."""
    n = len(names)
    if len(block) <= settings.max_block:
        return _cdist_pairs(names, block, block, settings=settings), len(block) * (len(block) - 1) // 2
    block = block[np.argsort(names[block], kind="stable")]  # sorted neighbourhood: similar names end up near
    w = settings.window
    found, compared = [], 0
    for start in range(0, len(block), w):
        rows, cols = block[start:start + w], block[start:start + 2 * w]
        found.append(_cdist_pairs(names, rows, cols, settings=settings))
        compared += len(rows) * len(cols)
    return (np.concatenate(found) if found else np.empty(0, dtype=np.int64)), compared


def _cdist_pairs(names: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, settings: DedupeSettings) -> np.ndarray:
    """Encoded pairs (min * n + max) of rows x cols with prefilter similarity, excluding self pairs."""
    sims = cdist(names[rows], names[cols], scorer=JaroWinkler.normalized_similarity,
                 score_cutoff=settings.prefilter, dtype=np.float32, workers=1)
    r, c = np.nonzero(sims >= settings.prefilter)
    a, b = rows[r].astype(np.int64), cols[c].astype(np.int64)
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    return lo * len(names) + hi


# ---- scoring ----

def score_pair(keys: _Keys, i: int, j: int, *, settings: DedupeSettings) -> tuple[int, int, float, tuple[str, ...]]:
    """Score one candidate pair: name similarity, raised or capped by zip, email and middle names."""
    name, reasons, weak = _name_score(keys, i, j)
    score = name
    confirmed = False
    cap = (settings.same + settings.possible) / 2  # "at most possible": still reviewed, never merged
    za, zb = keys.zip[i], keys.zip[j]
    if za and zb:
        if za == zb:
            score, confirmed = min(1.0, score + 0.04), True
            reasons += ("zip_same",)
        else:
            score = min(score, cap)
            reasons += ("zip_differs",)
    ea, eb = keys.email[i], keys.email[j]
    if ea and eb:
        if ea == eb:
            if name >= settings.possible:  # a shared household email alone does not make two people one
                score, confirmed = max(score, 1.0), True
            reasons += ("email_same",)
        else:
            score = min(score, cap)
            reasons += ("email_differs",)
    if weak and not confirmed:
        score = min(score, cap)
    return i, j, round(score, 4), reasons


def _name_score(keys: _Keys, i: int, j: int) -> tuple[float, tuple[str, ...], bool]:
    """(similarity, reasons, weak): 1 less EDIT_COST per edit in first or last name; weak when only an initial
    or a conflicting middle initial stands between them."""
    fa, fb, la, lb = keys.first[i], keys.first[j], keys.last[i], keys.last[j]
    if not (fa or la) or not (fb or lb):
        return 0.0, ("no_name",), False
    if keys.whole[i] == keys.whole[j]:
        return 1.0, ("name_same",), False
    weak = False
    if fa == fb or are_nicknames(keys.plain_first[i], keys.plain_first[j]):
        cost = 0.0
        reasons: tuple[str, ...] = ("name_same",) if keys.raw_first[i] == keys.raw_first[j] else ("nickname",)
    elif (len(fa) == 1 or len(fb) == 1) and fa[:1] == fb[:1]:
        cost, reasons, weak = EDIT_COST, ("first_initial",), True
    else:
        edits = min(Levenshtein.distance(fa, fb, score_cutoff=4),
                    Levenshtein.distance(keys.raw_first[i], keys.raw_first[j], score_cutoff=4))
        cost, reasons = _edit_cost(edits, fa, fb), ("name_similar",)
    if la != lb:
        cost += _edit_cost(Levenshtein.distance(la, lb, score_cutoff=4), la, lb)
        reasons = ("name_similar",)
    ma, mb = keys.middle[i], keys.middle[j]
    if ma and mb and ma[0] != mb[0]:  # John A. Smith and John B. Smith are two people until shown otherwise
        weak = True
        reasons += ("middle_differs",)
    return max(0.0, 1.0 - cost), reasons, weak


def _edit_cost(edits: int, a: str, b: str) -> float:
    """An edit in a name of three letters or fewer says twice as much: Al and Ed are one letter from Ad."""
    return edits * EDIT_COST * (2 if min(len(a), len(b)) <= 3 else 1)


# ---- clustering ----

def _cluster(
    ids: list[str],
    scored: list[tuple[int, int, float, tuple[str, ...]]],
    decisions: Mapping[frozenset[str], bool],
    *,
    settings: DedupeSettings,
) -> tuple[tuple[tuple[str, ...], ...], tuple[PairScore, ...]]:
    """Union-find over human "same" pairs, then machine pairs by descending score, never joining a "different" pair.

    Rule: two clusters are not merged when a human said some member of one differs from some member of the
    other. Human "same" pairs go first, so they merge unless that contradicts a human "different" (then they
    stay apart and come back as a possible pair, reason `decision_conflict`).
    """
    index = {x: k for k, x in enumerate(ids)}
    forest = _Forest(len(ids))
    human_same: list[tuple[int, int]] = []
    decided: set[tuple[int, int]] = set()
    for pair, same in decisions.items():
        members = sorted(index[x] for x in pair if x in index)
        if len(members) != 2:
            continue  # a decision about someone not in this roster (or a malformed pair)
        i, j = members
        decided.add((i, j))
        if same:
            human_same.append((i, j))
        else:
            forest.forbid(i, j)
    leftovers: list[PairScore] = []
    for i, j in sorted(human_same):
        if not forest.union(i, j):
            leftovers.append(PairScore(ids[i], ids[j], 1.0, ("human_same", "decision_conflict")))
    machine = sorted((p for p in scored if (p[0], p[1]) not in decided), key=lambda p: (-p[2], p[0], p[1]))
    for i, j, score, reasons in machine:
        if score >= settings.same and not forest.union(i, j):
            leftovers.append(PairScore(ids[i], ids[j], score, reasons + ("kept_apart_by_decision",)))
    possible = [PairScore(ids[i], ids[j], score, reasons) for i, j, score, reasons in machine
                if settings.possible <= score < settings.same and forest.find(i) != forest.find(j)]
    possible += [p for p in leftovers if forest.find(index[p.a]) != forest.find(index[p.b])]
    groups: dict[int, list[str]] = {}
    for k, x in enumerate(ids):
        groups.setdefault(forest.find(k), []).append(x)  # ids are sorted, so each group is too
    clusters = tuple(sorted((tuple(g) for g in groups.values()), key=lambda g: g[0]))
    return clusters, tuple(sorted(possible, key=lambda p: (p.a, p.b)))


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
