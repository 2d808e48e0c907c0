"""`petition match`: every signed line (its effective values: people's decisions win) matched to the voter file
in force. Blocking looks each line's keys up in the voters' indexed key columns (pipeline/voter_keys.py), the
candidates are scored and judged by pipeline/match_score.py, the pixels of the name crop decide between the
nearest (pipeline/match_pixels.py). A line's match is stored with a digest of what it was computed from, so a
second run matches only lines whose name, fields or crop changed: running it again changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline.match_pixels import CropScorer
from pipeline.match_score import (Candidate, LineName, MatchSettings, MatchStatus, candidates_of, decide,
                                  line_name, near, supported_far)
from pipeline.names import canonicals, fold, longer_forms, parse_name
from pipeline.store import EffectiveLine, LineId, Workspace, WorkspaceError
from pipeline.store import lines as stored_lines
from pipeline.store import matches as stored_matches
from pipeline.store import voters as stored_voters
from pipeline.store.matches import StoredMatch
from pipeline.voter_keys import name_keys, zip_key
from scanner.errors import SetupError
from scanner.types import LineStatus

MATCHER_VERSION = "5"  # part of every match's basis: a new matcher matches every line again
PIXEL_CANDIDATES = 6  # the nearest voters by text whose names are scored against the crop
KEPT_CANDIDATES = 3  # stored per line, for people to pick from
MATCH_CACHE_MIB = 128  # SQLite's page cache while matching: the key indexes' pages looked up again chunk after chunk
ZIP_COLUMN = "k_zip"  # the key column of zip and initials
CHUNK = 500  # lines matched together: one key lookup per column, their candidates in memory
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchSummary:
    version: int  # of the voter file
    lines: int  # signed lines with a name
    matched_now: int  # lines matched in this run (the others kept their match)
    by_status: dict[str, int]
    pixels: bool  # whether crops were scored

    def headline(self) -> str:
        counts = ", ".join(f"{self.by_status.get(s.value, 0)} {s.value}" for s in MatchStatus)
        how = "names and crops" if self.pixels else "names only"
        return (f"voter file version {self.version}: {self.lines} signed lines: {counts}"
                f" ({self.matched_now} matched now by {how}, {self.lines - self.matched_now} unchanged)")


def signed_lines(workspace: Workspace) -> list[EffectiveLine]:
    """The lines to match: effectively signed, with a name."""
    return [x for x in stored_lines.all_lines(workspace) if x.status == LineStatus.SIGNED.value and x.name.strip()]


def basis(line: EffectiveLine, version: int, pixels: bool) -> str:
    """A digest of everything a line's match depends on."""
    parts = (MATCHER_VERSION, str(version), line.name, line.address, line.zip, line.ward,
             line.name_crop if pixels else "", str(pixels))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def match_workspace(workspace: Workspace, *, pixels: bool = True, settings: MatchSettings = MatchSettings(),
                    scorer: CropScorer | None = None) -> MatchSummary:
    """Match the lines whose inputs changed since the last run; forget the matches of lines gone or unsigned."""
    current = stored_voters.current_version(workspace)
    if current is None:
        raise WorkspaceError("no voter file in this workspace: import one with 'petition voters import FILE'")
    lines = signed_lines(workspace)
    previous = stored_matches.stored_matches(workspace, current.version)
    bases = {x.id: basis(x, current.version, pixels) for x in lines}
    todo = [x for x in lines if previous.get(x.id) is None or previous[x.id].basis != bases[x.id]]
    scorer = (scorer or CropScorer()) if pixels else None
    with workspace.page_cache(MATCH_CACHE_MIB):
        fresh = match_lines(workspace, current.version, todo, scorer=scorer, settings=settings)
    fresh = [replace(m, basis=bases[m.line]) for m in fresh]
    gone = set(previous) - set(bases)
    with workspace.transaction():
        stored_matches.save_matches(workspace, current.version, fresh)
        stored_matches.drop_matches(workspace, current.version, gone)
    final = stored_matches.stored_matches(workspace, current.version)
    return MatchSummary(current.version, len(lines), len(fresh), dict(Counter(m.status for m in final.values())),
                        scorer is not None)


def match_if_loaded(workspace: Workspace, *, pixels: bool = True) -> MatchSummary | None:
    """What `add` runs after reading: match_workspace when a voter file is loaded, else nothing (None)."""
    if stored_voters.current_version(workspace) is None:
        return None
    return match_workspace(workspace, pixels=pixels)


def match_lines(workspace: Workspace, version: int, lines: Sequence[EffectiveLine], *,
                scorer: CropScorer | None, settings: MatchSettings = MatchSettings()) -> list[StoredMatch]:
    """Each line's verdict against one version of the voter file (nothing is stored here), CHUNK lines at a
    time so that the candidate voters held in memory stay few whatever the number of lines."""
    results: list[StoredMatch] = []
    for start in range(0, len(lines), CHUNK):
        results += _match_chunk(workspace, version, lines[start:start + CHUNK], scorer=scorer, settings=settings)
    return results


def _match_chunk(workspace: Workspace, version: int, lines: Sequence[EffectiveLine], *,
                 scorer: CropScorer | None, settings: MatchSettings) -> list[StoredMatch]:
    names = [_line_name(x) for x in lines]
    keys = [_line_keys(x) for x in lines]
    found: list[set[int]] = [set() for _ in lines]
    seen: list[dict[tuple[str, str, str, str], bool]] = [{} for _ in lines]
    for column in sorted(stored_voters.KEY_COLUMNS, key=lambda c: c == ZIP_COLUMN):  # the zip key last
        unfound = {index for index, rows in enumerate(found) if not rows}
        wanted: dict[str, list[int]] = {}
        for index, line_keys in enumerate(keys):
            for key in line_keys.get(column, ()):
                wanted.setdefault(key, []).append(index)
        for hit in stored_voters.lookup(workspace, version, column, list(wanted)):
            key, whole, key_first, key_last, first_name, _ = hit
            name = (whole, key_first, key_last, first_name)
            rowids: list[int] | None = None  # parsed once, for the first line whose prefilter the name passes
            for index in wanted[key]:
                if name not in seen[index]:  # the prefilter once per line and name, on the key columns
                    seen[index][name] = near(names[index], whole, key_first, key_last, first_name)
                # The zip and both initials agree (the zip key, looked up last): for a line no key found a near
                # name for, a candidate however garbled the reading; the crop decides (match_score.supported_far).
                if seen[index][name] or (column == ZIP_COLUMN and index in unfound):
                    rowids = rowids if rowids is not None else stored_voters.rowids_of(hit)
                    found[index].update(rowids)
    voters = stored_voters.voters_by_rowid(workspace, {r for rows in found for r in rows})
    results = []
    for line, name, rowids in zip(lines, names, found):
        candidates = sorted(candidates_of(name, [voters[r] for r in rowids]), key=_text_rank)
        candidates = [c for c in candidates if c.cost <= settings.max_cost or supported_far(c)]
        if scorer is not None and candidates and line.name_crop:
            candidates = _with_pixels(workspace, scorer, line, candidates)
        status, chosen = decide(candidates, settings)
        results.append(_stored(line.id, status, chosen, candidates))
    return results


def _text_rank(c: Candidate) -> tuple[float, str]:
    return c.cost - 0.5 * c.support + (1.0 if c.veto else 0.0), c.voter.voter_id


def _with_pixels(workspace: Workspace, scorer: CropScorer, line: EffectiveLine,
                 candidates: list[Candidate]) -> list[Candidate]:
    """The nearest candidates with their gaps from the crop; unchanged when the crop or recognizer is missing."""
    try:
        matrix = scorer.matrix(workspace.crop_path(line.name_crop))
    except (SetupError, WorkspaceError, OSError) as exc:
        log.warning("matching %s by its name alone: %s", line.id, exc)
        return candidates
    if matrix is None:
        return candidates
    nearest = candidates[:PIXEL_CANDIDATES]
    first, middle, _, _ = _split(line.name)
    gaps = scorer.gaps(matrix, line.name, [c.voter for c in nearest], [c.cost > 0 for c in nearest], middle=middle,
                       first=first, suffix=written_suffix(line.name))
    return [replace(c, gap=g, likelihood=round(ll, 3)) for c, (g, ll) in zip(nearest, gaps)]


def _stored(line: LineId, status: MatchStatus, chosen: Candidate | None,
            candidates: Sequence[Candidate]) -> StoredMatch:
    ranked = sorted(candidates, key=lambda c: (-c.score, c.voter.voter_id))[:KEPT_CANDIDATES]
    if chosen is not None and chosen not in ranked:
        ranked = [chosen, *ranked[:KEPT_CANDIDATES - 1]]
    voter_id = chosen.voter.voter_id if status is MatchStatus.MATCHED and chosen else ""
    score = chosen.score if chosen else 0.0
    return StoredMatch(line, status.value, voter_id, score, tuple((c.voter.voter_id, c.score) for c in ranked), "")


# A generation suffix as written, and as the recognizer reads a written II or III (I and l look alike: "IlI").
_GENERATION = re.compile(r"^(?:[jJsS][rR]|[Il1|]{2,3}|I[Vv])\.?$")


def written_suffix(name: str) -> str:
    """The last word of a name of three words or more when it is a generation suffix (Jr, Sr, II, III, IV, or II
    and III read with l's: "IlI", "Il"), as written; else ''. Only last, after two names: "Jong Il Kim" keeps its
    Il (signers write the family name last)."""
    words = name.split()
    return words[-1] if len(words) >= 3 and _GENERATION.match(words[-1]) else ""


def _split(name: str) -> tuple[str, str, str, bool]:
    """(first, middle, last, one word) of a line's name; a single word is a surname (or names run together).
    A generation suffix is left out (the voter file's names seldom carry one)."""
    suffix = written_suffix(name)
    if suffix:
        name = name[:name.rindex(suffix)]
    words = fold(name).split()
    if len(words) == 1:
        return "", "", words[0], True
    parsed = parse_name(name)
    return parsed.first, parsed.middle, parsed.last, False


def _line_name(line: EffectiveLine) -> LineName:
    first, middle, last, one_word = _split(line.name)
    return line_name(first, middle, last, one_word=one_word, zip_code=line.zip, ward=line.ward, address=line.address)


def _line_keys(line: EffectiveLine) -> dict[str, set[str]]:
    """The keys a line is looked up by, per voter key column: its name and its surname alone by every key; the
    other readings of it (swapped, the first name's canonicals for a nickname and longer forms for a short one, a
    whole middle name joined to the first or to the surname, and for a single word every split into two names run
    together) by the two narrowest keys only."""
    first, middle, last, one_word = _split(line.name)
    given = fold(first).replace(" ", "")
    # Bob: Robert (the nickname table); Sandro: Alessandro (a short form from the name's end shares no initial)
    other = [(last, first)] + [(c, last) for c in (*canonicals(given, 3), *longer_forms(given, 3))]
    if middle and len(middle.strip(". ")) > 1:
        # a whole middle name joined to the first, or to the surname: a space read inside it ("ROUSSE AU")
        other += [(f"{first} {middle}", last), (first, f"{middle}{last}")]
    if one_word and len(last) >= 4:
        other += [(last[:cut], last[cut:]) for cut in range(2, len(last) - 1)]
    out: dict[str, set[str]] = {c: set() for c in stored_voters.KEY_COLUMNS}
    for f, la in [(first, last), ("", last)]:
        keys = name_keys(f, la)
        out["k_phonetic"].add(keys.phonetic)
        out["k_tail"].add(keys.tail)
        out["k_zip"].add(zip_key(line.zip, keys))
    for f, la in [(first, last), *other]:
        keys = name_keys(f, la)
        out["k_prefix"].add(keys.prefix)
        out["k_whole"].add(keys.whole)
    return {c: {k for k in v if k} for c, v in out.items()}
