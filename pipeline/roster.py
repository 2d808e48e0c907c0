"""The roster kept in the store and folded forward: status, export and the review app read it, nobody re-clusters
every signer on every call.

What is stored (store/roster.py): each signer's cluster, its block keys (one hash per rule of dedupe.block_keys),
the scored pairs that clustering reads (score >= possible), and each cluster's row as export shows it. What
arrives since the watermark: lines stored or dropped and voter matches rewritten (triggers fill roster_dirty), line
decisions (on any field: a confirmation alone changes what the row shows), voter-match decisions, duplicate
decisions. `update` folds them in:

1. The changed lines are read again; entries are added, re-keyed or removed.
2. Only the blocks they were or are in are looked at. In a block of at most max_block whether two members are a
   candidate pair depends on the two alone, so only pairs with a changed member are scored. An oversized block
   pairs by sorted windows over all of it, so a change there can move windows between unchanged members: the
   block's pairs are recomputed, and a stored pair it no longer yields is kept only if another block yields it.
3. Clustering is union-find over "same" pairs, greedy under "different" verdicts; its result for a connected
   part of the graph of strong pairs and "same" verdicts depends on that part alone. The parts that held or now
   hold a changed signer (or a changed pair, or a new verdict) are clustered again with dedupe.cluster.
4. The rows export reads (pipeline/roster_rows.py) are rendered again for every cluster that held or holds an
   entry of those parts, a changed line, or the other end of a pair that came, went or now crosses clusters (its
   count of possible duplicates moves).

So an update gives what `rebuild` (everything from scratch, dedupe's own code path) gives: tests assert it.
A cluster's id is the entry of its first occurrence (LineId text order), as the roster's signer_id is.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

import numpy as np
import pandas as pd

from pipeline import dedupe
from pipeline.dedupe import DedupeResult, DedupeSettings, PairScore, Person, ScoredPeople
from pipeline.names import parse_name, plain_display_parts
from pipeline.roster_rows import render
from pipeline.store import LineId, Workspace, decisions
from pipeline.store import roster as stored
from pipeline.store import voters as stored_voters
from pipeline.store.roster import LineKey, Signer, StoredPair
from scanner.types import LineStatus

REBUILD_SHARE = 0.25  # more changed lines than this share of the signers: a rebuild is cheaper than folding in
HASH_SHIFT = 17  # 64-bit hashes to 47 bits: SQLite stores them in 6 bytes instead of 8


@dataclass(frozen=True)
class Update:
    """What one update did."""

    rebuilt: bool
    lines: int  # changed lines folded in
    rescored: int  # signers whose blocks were scored again
    reclustered: int  # signers clustered again
    seconds: float


@dataclass(frozen=True)
class Lag:
    """What the stored roster has not folded in yet."""

    built: bool
    lines: int
    decisions: int
    duplicate_decisions: int
    match_decisions: int
    voter_file_changed: bool

    @property
    def behind(self) -> bool:
        return not self.built or self.voter_file_changed or any(
            (self.lines, self.decisions, self.duplicate_decisions, self.match_decisions))

    def describe(self) -> str:
        if not self.built:
            return "not built yet (the next status or export builds it)"
        if self.voter_file_changed:
            return "behind: a new voter file is in force (the next update rebuilds it)"
        if not self.behind:
            return "up to date"
        return (f"behind by {self.lines} line(s) read, {self.decisions} line decision(s), {self.duplicate_decisions}"
                f" duplicate decision(s), {self.match_decisions} match decision(s)")


@dataclass(frozen=True)
class _Marks:
    decision_id: int
    duplicate_id: int
    match_decision_id: int
    voter_version: int


def person_of(signer: Signer | None) -> Person | None:
    """A line as a signer to deduplicate (what export.people makes of it), or None: not signed, or no name."""
    if signer is None or signer.status != LineStatus.SIGNED.value or not str(signer.name).strip():
        return None
    return Person(id=signer.occurrence, name=parse_name(signer.name), zip="".join(c for c in str(signer.zip)
                  if c.isdigit()), email=str(signer.email).strip().lower(), address=str(signer.address),
                  voter_id=str(signer.voter_id))


def lag(workspace: Workspace, *, settings: DedupeSettings = DedupeSettings()) -> Lag:
    state = stored.roster_state(workspace)
    marks = _marks(workspace)
    changed = decisions.lines_decided_between(workspace, state.decision_id, marks.decision_id)
    return Lag(state.built and state.settings == repr(settings), state.dirty_lines, len(changed),
               marks.duplicate_id - state.duplicate_id,
               len(stored.match_decided_after(workspace, state.match_decision_id)),
               state.built and state.voter_version != marks.voter_version)


def ensure_current(workspace: Workspace, *, settings: DedupeSettings = DedupeSettings()) -> Update | None:
    """Fold in what arrived since the watermark (cheap when little did); None when nothing had."""
    return update(workspace, settings=settings) if lag(workspace, settings=settings).behind else None


def update(workspace: Workspace, *, settings: DedupeSettings = DedupeSettings()) -> Update:
    """Fold what arrived since the watermark into the stored roster, or rebuild it when that is cheaper."""
    started = time.perf_counter()
    with workspace.transaction():
        state = stored.roster_state(workspace)
        marks = _marks(workspace)
        if not state.built or state.voter_version != marks.voter_version or state.settings != repr(settings):
            return _rebuild(workspace, marks, settings, started)
        dirty = stored.dirty_lines(workspace)
        # A decision on any field: the line's name or fields may be what changed, or only whether a person
        # confirmed it and whether it still waits for review, which its signer's row shows.
        dirty |= stored.line_keys(workspace, decisions.lines_decided_between(
            workspace, state.decision_id, marks.decision_id))
        dirty |= stored.line_keys(workspace, stored.match_decided_after(workspace, state.match_decision_id))
        verdicts = stored.duplicate_decisions_after(workspace, state.duplicate_id)
        signers = stored.counts(workspace)[0]
        if len(dirty) > max(1000, REBUILD_SHARE * signers):
            return _rebuild(workspace, marks, settings, started)
        rescored, reclustered = _fold(workspace, dirty, verdicts, marks.voter_version, settings)
        stored.clear_dirty(workspace)
        _save(workspace, marks, settings, rebuilt=False, rescored=rescored)
    return Update(False, len(dirty), rescored, reclustered, time.perf_counter() - started)


def rebuild(workspace: Workspace, *, settings: DedupeSettings = DedupeSettings()) -> Update:
    """The stored roster from scratch: every signer blocked, scored and clustered by dedupe's own code."""
    started = time.perf_counter()
    with workspace.transaction():
        return _rebuild(workspace, _marks(workspace), settings, started)


# ---- reading the stored roster ----

def stored_result(workspace: Workspace, *, settings: DedupeSettings = DedupeSettings()) -> DedupeResult:
    """The stored clusters and possible pairs in dedupe's form (what dedupe() over every signer returns)."""
    ensure_current(workspace, settings=settings)
    by_cluster: dict[int, list[str]] = {}
    for occurrence, cluster in stored.cluster_of_occurrences(workspace).items():
        by_cluster.setdefault(cluster, []).append(occurrence)
    clusters = sorted(tuple(sorted(c)) for c in by_cluster.values())
    return DedupeResult(tuple(clusters), possible_pairs(workspace, settings=settings))


def clusters_by_occurrence(workspace: Workspace, *, settings: DedupeSettings = DedupeSettings()) -> dict[str, int]:
    """Each signer's occurrence and its cluster (the entry of the cluster's first occurrence)."""
    ensure_current(workspace, settings=settings)
    return stored.cluster_of_occurrences(workspace)


def possible_pairs(workspace: Workspace, *, settings: DedupeSettings = DedupeSettings(),
                   touching: Collection[int] | None = None) -> tuple[PairScore, ...]:
    """Pairs worth a human look, as dedupe.cluster gives them: stored pairs across clusters that nobody decided
    (a strong one is there because a "different" verdict kept it apart), and "same" verdicts that a "different"
    one overrules. Sorted by (a, b). Reads the stored roster as it is (call ensure_current first). With
    `touching`, the stored pairs are only those with one of these entries (the verdicts are all looked at)."""
    verdicts = workspace.duplicate_decisions()
    found = []
    for a, b, score, bits in stored.pairs_across(workspace, touching):
        a, b = sorted((a, b))
        if frozenset((a, b)) in verdicts:
            continue
        reasons = tuple(r for k, r in enumerate(dedupe.EVIDENCE) if bits >> k & 1)
        found.append(PairScore(a, b, score, reasons + (("kept_apart_by_decision",) if score >= settings.same else ())))
    same = [sorted(pair) for pair, verdict in verdicts.items() if verdict and len(pair) == 2]
    if same:
        cluster_of = stored.entries_of_occurrences(workspace, (LineId.parse(x) for pair in same for x in pair
                                                               if _is_line(x)))
        clusters = {e.entry: e.cluster for e in stored.entries_by_id(workspace, set(cluster_of.values())).values()}
        for a, b in same:
            if a in cluster_of and b in cluster_of and clusters[cluster_of[a]] != clusters[cluster_of[b]]:
                found.append(PairScore(a, b, 1.0, ("human_same", "decision_conflict")))
    return tuple(sorted(found, key=lambda p: (p.a, p.b)))


def _is_line(text: str) -> bool:
    try:
        LineId.parse(text)
    except ValueError:
        return False
    return True


# ---- rebuild ----

def _rebuild(workspace: Workspace, marks: _Marks, settings: DedupeSettings, started: float) -> Update:
    version = marks.voter_version or None
    found = [(s.line, p) for s in stored.all_signers(workspace, version) if (p := person_of(s)) is not None]
    found.sort(key=lambda lp: lp[1].id)
    people = [p for _, p in found]
    ids = [p.id for p in people]
    rows: list[tuple] = []
    pairs: list[tuple[int, int, float, int]] = []
    names = [(k + 1, p.name.first, p.name.middle, p.name.last) for k, p in enumerate(people) if _needs_parts(p)]
    if people:
        keys = dedupe._keys(people, settings=settings)
        rules = list(dedupe.block_keys(keys))
        hashes = _hash_rules([rule for rule, _ in rules])
        left, right, comparisons = dedupe.candidate_pairs(keys, settings=settings, rules=rules)
        del rules
        scored = _kept(dedupe.score_pairs(keys, left, right, settings=settings), settings)
        del keys, left, right
        result = dedupe.cluster(ScoredPeople(tuple(ids), scored, comparisons), workspace.duplicate_decisions(),
                                settings=settings)
        index = {x: k for k, x in enumerate(ids)}
        cluster = np.empty(len(ids), dtype=np.int64)
        for members in result.clusters:
            cluster[[index[x] for x in members]] = index[members[0]] + 1  # entries are 1 + index (id order)
        del index, result
        columns = [h.tolist() for h in hashes]
        rows = [(k + 1, line[0], line[1], c, *ks) for k, ((line, _), c, *ks) in
                enumerate(zip(found, cluster.tolist(), *columns))]
        if scored is not None:
            bits = dedupe.evidence_bits(scored)
            pairs = list(zip((scored.left + 1).tolist(), (scored.right + 1).tolist(), scored.score.tolist(),
                             bits.tolist()))
    stored.replace_roster(workspace, rows, pairs, names)
    signers = len(rows)
    del rows, pairs, names
    _render(workspace, None, marks.voter_version, settings)
    _save(workspace, marks, settings, rebuilt=True, rescored=0)
    return Update(True, signers, signers, signers, time.perf_counter() - started)


def _needs_parts(person: Person) -> bool:
    """Whether export needs this name's parts kept: nameparser had to split it (names.plain_display_parts)."""
    return plain_display_parts(person.name.written) is None


def _kept(scored, settings: DedupeSettings):
    keep = scored.score >= settings.possible  # clustering never looks at the rest
    return dedupe.scored_from_bits(scored.left[keep], scored.right[keep], scored.score[keep],
                                   dedupe.evidence_bits(scored)[keep])


def _hash_rules(rules: list[np.ndarray]) -> list[np.ndarray]:
    """Per rule, each record's block key as a 47-bit hash, None where it is in no block (object arrays)."""
    out = []
    for rule in rules:
        hashed = (pd.util.hash_array(np.asarray(rule, dtype=object), categorize=True) >> np.uint64(HASH_SHIFT))
        column = hashed.astype(np.int64).astype(object)
        column[np.asarray(rule == "", dtype=bool)] = None
        out.append(column)
    return out


# ---- incremental ----

def _fold(workspace: Workspace, dirty: set[LineKey], verdicts: list[tuple[str, str]], voter_version: int,
          settings: DedupeSettings) -> tuple[int, int]:
    """Fold changed lines and new verdicts in (module docstring); (signers re-scored, signers re-clustered)."""
    old = stored.entries_at(workspace, dirty)
    signers = {s.line: s for s in stored.signers_at(workspace, dirty, voter_version or None)}
    now = {line: p for line in dirty if (p := person_of(signers.get(line))) is not None}
    now_hashes = _hashes_of(list(now.values()), settings)
    same_edges = _same_edges(workspace)
    seeds = {e.entry for e in old.values()}
    seeds |= set(stored.entries_of_occurrences(workspace, (LineId.parse(x) for pair in verdicts for x in pair
                                                            if _is_line(x))).values())

    # 1. entries
    stale = {e.cluster for e in old.values()}  # clusters whose rows change (rendered again at the end)
    gone = {e.entry for line, e in old.items() if line not in now}
    stored.delete_entries(workspace, gone)
    changed: dict[int, Person] = {}
    for line, person in now.items():
        keys = now_hashes[person.id]
        if line in old:
            stored.update_entry_keys(workspace, old[line].entry, keys)
            changed[old[line].entry] = person
        else:
            changed[stored.insert_entry(workspace, line, keys)] = person
    stored.delete_names(workspace, changed)
    stored.save_names(workspace, [(e, p.name.first, p.name.middle, p.name.last) for e, p in changed.items()
                                  if _needs_parts(p)])

    # 2. the blocks they were or are in
    left_blocks: dict[tuple[int, int], int] = {}  # (rule, hash) -> changed signers that were in it
    for e in old.values():
        for rule, key in enumerate(e.keys):
            if key is not None:
                left_blocks[rule, key] = left_blocks.get((rule, key), 0) + 1
    blocks = set(left_blocks) | {(rule, key) for keys in now_hashes.values() for rule, key in enumerate(keys)
                                 if key is not None}
    members = {block: stored.block_members(workspace, *block) for block in blocks}
    new_pairs, dropped, touched = _score_blocks(workspace, members, left_blocks, changed, voter_version, settings)

    # 3. cluster again the parts of the graph that held or hold what changed
    seeds |= touched
    before = _closure(workspace, seeds, same_edges, settings.same)
    stale |= stored.clusters_of(workspace, before)
    # A pair going away changes its other end's count of possible duplicates.
    shown = stored.partners(workspace, gone | set(changed))
    stored.delete_pairs_touching(workspace, gone | set(changed))
    stored.delete_pairs(workspace, dropped)
    stored.save_pairs(workspace, new_pairs)
    same_edges = _same_edges(workspace)
    part = _closure(workspace, (before - gone) | set(changed), same_edges, settings.same)
    stale |= stored.clusters_of(workspace, part)
    _recluster(workspace, part, settings)

    # 4. the rows of every cluster that changed, or whose members' pairs now cross or stop crossing clusters
    shown |= part | stored.partners(workspace, part) | {x for e in part for x in same_edges.get(e, ())}
    stale |= stored.clusters_of(workspace, shown)
    _render(workspace, stale, voter_version, settings)
    return len(changed) + len(gone), len(part)


def _hashes_of(people: list[Person], settings: DedupeSettings) -> dict[str, tuple[int | None, ...]]:
    """Each person's block-key hashes, by occurrence."""
    if not people:
        return {}
    people = sorted(people, key=lambda p: p.id)
    keys = dedupe._keys(people, settings=settings)
    columns = _hash_rules([rule for rule, _ in dedupe.block_keys(keys)])
    return {p.id: tuple(column[k] for column in columns) for k, p in enumerate(people)}


def _score_blocks(workspace: Workspace, members: dict[tuple[int, int], list[int]],
                  left_blocks: dict[tuple[int, int], int], changed: dict[int, Person], voter_version: int,
                  settings: DedupeSettings) -> tuple[list[StoredPair], list[tuple[int, int]], set[int]]:
    """Candidate pairs of the affected blocks scored: (pairs to store, clean pairs no block yields any more,
    entries of clean pairs that appeared or went)."""
    universe = sorted(set().union(*members.values()) | set(changed)) if members else sorted(changed)
    people = _people_of(workspace, [e for e in universe if e not in changed], voter_version) | changed
    universe = [e for e in universe if e in people]
    if len(universe) < 2:
        return [], [], set()
    universe.sort(key=lambda e: people[e].id)
    index = {e: k for k, e in enumerate(universe)}
    n = len(universe)
    keys = dedupe._keys([people[e] for e in universe], settings=settings)
    rules = list(dedupe.block_keys(keys))
    is_changed = np.array([e in changed for e in universe])
    candidates: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    appeared: list[np.ndarray] = []
    dropped: list[tuple[int, int]] = []
    windows: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for (rule, key), entries in members.items():
        text, proves = rules[rule]
        local = np.array(sorted(index[e] for e in entries if e in index), dtype=np.int64)
        for block in _real_blocks(local, text):
            in_block = is_changed[block]
            before = int((~in_block).sum()) + left_blocks.get((rule, key), 0)
            kinds = {dedupe.block_kind(size, proves, settings=settings) for size in (len(block), before)}
            if kinds in ({"all"}, {"prefilter"}):  # a pair's candidacy is the pair's own business
                if in_block.any():
                    candidates.append(dedupe.pairs_with(keys, block, block[in_block], proves, settings=settings))
                continue
            codes = dedupe.block_pairs(keys, block, proves, settings=settings)
            with_changed = is_changed[codes // n] | is_changed[codes % n]
            candidates.append(codes[with_changed])
            clean = codes[~with_changed]
            clean_entries = [universe[k] for k in block[~in_block]]
            kept = {(min(index[p.a], index[p.b]) * n + max(index[p.a], index[p.b])): p
                    for p in stored.pairs_within(workspace, clean_entries)}
            appeared.append(clean[~np.isin(clean, np.fromiter(kept, np.int64, len(kept)))])
            still = set(clean.tolist())
            gone = [code for code in kept if code not in still]
            dropped += [(kept[c].a, kept[c].b) for c in gone
                        if not _yielded(workspace, keys, rules, universe, index, c, settings, voter_version, windows)]
    codes = np.unique(np.concatenate(candidates + appeared))
    scored = _kept(dedupe.score_pairs(keys, codes // n, codes % n, settings=settings), settings)
    bits = dedupe.evidence_bits(scored)
    pairs = [StoredPair(min(universe[i], universe[j]), max(universe[i], universe[j]), s, b) for i, j, s, b in
             zip(scored.left.tolist(), scored.right.tolist(), scored.score.tolist(), bits.tolist())]
    touched = {universe[int(c) // n] for a in appeared for c in a} | {universe[int(c) % n] for a in appeared for c in a}
    touched |= {x for pair in dropped for x in pair}
    return pairs, dropped, touched


def _real_blocks(local: np.ndarray, text: np.ndarray) -> list[np.ndarray]:
    """Members of one stored hash grouped by their real key (a hash could be shared; a key never is)."""
    if not len(local):
        return []
    groups: dict[str, list[int]] = {}
    for k in local.tolist():
        if text[k]:
            groups.setdefault(text[k], []).append(k)
    return [np.array(g, dtype=np.int64) for g in groups.values()]


def _yielded(workspace: Workspace, keys, rules, universe: list[int], index: dict[int, int], code: int,
             settings: DedupeSettings, voter_version: int,
             windows: dict[tuple[int, int], set[tuple[int, int]]]) -> bool:
    """Whether some block still yields the stored pair `code` (a clean pair an oversized block no longer does).
    `windows` caches the pairs (of entries) of the windowed blocks looked at."""
    n = len(universe)
    i, j = code // n, code % n
    for rule, (text, proves) in enumerate(rules):
        if not text[i] or text[i] != text[j]:
            continue
        key = _hash_rules([np.array([text[i]], dtype=object)])[0][0]
        if (rule, key) not in windows:
            entries = stored.block_members(workspace, rule, key)
            kind = dedupe.block_kind(len(entries), proves, settings=settings)
            if kind == "all":
                return True
            if kind == "prefilter":
                if len(dedupe.block_pairs(keys, np.array([i, j]), False, settings=settings)):
                    return True
                continue
            windows[rule, key] = _window_pairs(workspace, entries, rule, text[i], proves, settings, voter_version)
        if (min(universe[i], universe[j]), max(universe[i], universe[j])) in windows[rule, key]:
            return True
    return False


def _window_pairs(workspace: Workspace, entries: list[int], rule: int, text: str, proves: bool,
                  settings: DedupeSettings, voter_version: int) -> set[tuple[int, int]]:
    """The pairs (of entries, a < b) a windowed block yields now."""
    people = _people_of(workspace, entries, voter_version)
    ordered = sorted(people, key=lambda e: people[e].id)
    local = dedupe._keys([people[e] for e in ordered], settings=settings)
    block_text = list(dedupe.block_keys(local))[rule][0]
    block = np.flatnonzero(block_text == text)
    m = len(ordered)
    codes = dedupe.block_pairs(local, block, proves, settings=settings)
    return {(min(ordered[c // m], ordered[c % m]), max(ordered[c // m], ordered[c % m])) for c in codes.tolist()}


def _people_of(workspace: Workspace, entries: Collection[int], voter_version: int) -> dict[int, Person]:
    """Signers by entry, read from their lines."""
    by_line = {e.line: e.entry for e in stored.entries_by_id(workspace, entries).values()}
    found = {}
    for signer in stored.signers_at(workspace, list(by_line), voter_version or None):
        person = person_of(signer)
        if person is not None:
            found[by_line[signer.line]] = person
    return found


def _same_edges(workspace: Workspace) -> dict[int, set[int]]:
    """Entries linked by a "same" verdict (the latest verdict on the pair)."""
    same = [tuple(pair) for pair, verdict in workspace.duplicate_decisions().items() if verdict and len(pair) == 2]
    entry = stored.entries_of_occurrences(workspace, (LineId.parse(x) for pair in same for x in pair if _is_line(x)))
    edges: dict[int, set[int]] = {}
    for a, b in same:
        if a in entry and b in entry:
            edges.setdefault(entry[a], set()).add(entry[b])
            edges.setdefault(entry[b], set()).add(entry[a])
    return edges


def _closure(workspace: Workspace, seeds: Iterable[int], same_edges: dict[int, set[int]], strong: float) -> set[int]:
    """The seeds and every entry linked to them through strong pairs or "same" verdicts: whole parts of the graph
    clustering works on (a superset of the links: a decided strong pair is a link here, not in clustering)."""
    seen = set(seeds)
    frontier = set(seen)
    while frontier:
        reached: set[int] = set()
        for pair in stored.pairs_touching(workspace, frontier, at_least=strong):
            reached.update((pair.a, pair.b))
        for e in frontier:
            reached |= same_edges.get(e, set())
        frontier = reached - seen
        seen |= frontier
    return seen


def _recluster(workspace: Workspace, part: set[int], settings: DedupeSettings) -> None:
    """Cluster these entries (whole parts of the graph) by dedupe.cluster and store each one's cluster."""
    if not part:
        return
    names = stored.occurrences(workspace, part)
    ordered = sorted(names, key=names.get)
    index = {e: k for k, e in enumerate(ordered)}
    pairs = stored.pairs_within(workspace, ordered)
    left = np.array([min(index[p.a], index[p.b]) for p in pairs], dtype=np.int64)
    right = np.array([max(index[p.a], index[p.b]) for p in pairs], dtype=np.int64)
    scored = dedupe.scored_from_bits(left, right, np.array([p.score for p in pairs], dtype=float),
                                     np.array([p.reasons for p in pairs], dtype=np.int64))
    ids = tuple(names[e] for e in ordered)
    result = dedupe.cluster(ScoredPeople(ids, scored if len(ids) > 1 else None, 0), workspace.duplicate_decisions(),
                            settings=settings)
    entry = {names[e]: e for e in ordered}
    stored.set_clusters(workspace, ((entry[x], entry[members[0]]) for members in result.clusters for x in members))


# ---- the rows export reads ----

def _render(workspace: Workspace, clusters: Collection[int] | None, voter_version: int,
            settings: DedupeSettings) -> None:
    """Render and store the rows of these clusters (every cluster when None) from what is stored now; a cluster
    with no members left loses its row."""
    if clusters is not None and not clusters:
        return
    entries = None if clusters is None else stored.cluster_members(workspace, clusters)
    possible: Counter[str] = Counter()
    for pair in possible_pairs(workspace, settings=settings, touching=entries):
        possible[pair.a] += 1
        possible[pair.b] += 1

    def rows() -> Iterator[tuple[object, ...]]:
        for cluster, group in groupby(stored.members(workspace, voter_version or None, clusters),
                                      key=itemgetter(1)):  # Member.cluster
            found = list(group)
            if len(found) > 1:
                found.sort(key=itemgetter(2))  # occurrence order: the first is the cluster's own (signer_id)
            yield (cluster, *render(found, possible))

    stored.replace_rows(workspace, clusters, rows())


# ---- watermark ----

def _marks(workspace: Workspace) -> _Marks:
    current = stored_voters.current_version(workspace)
    return _Marks(decisions.last_decision_id(workspace), decisions.last_duplicate_decision_id(workspace),
                  stored.last_match_decision_id(workspace), current.version if current else 0)


def _save(workspace: Workspace, marks: _Marks, settings: DedupeSettings, *, rebuilt: bool, rescored: int) -> None:
    stored.save_state(workspace, decision_id=marks.decision_id, duplicate_id=marks.duplicate_id,
                      match_decision_id=marks.match_decision_id, voter_version=marks.voter_version,
                      settings=repr(settings), rebuilt=rebuilt, rescored=rescored)
