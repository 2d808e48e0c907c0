"""Will the petition qualify? Each line's verdict (valid, or invalid and why), counts per ward, and the projection
a board of elections would make from a random sample.

A line is valid when it is signed, has a name, is matched to a voter (a person's verdict wins), is not a repeat
of a signer counted already (the roster's clusters: lines matched to one voter are one signer), is in the
petition's ward when one is given, and is dated when its sheet has dates (some line of the page has one).

The projection follows California's random-sample verification (Elections Code §9030; Cal. Code Regs. tit. 2
§§20530-20531, worked example in §20540): a simple random sample without replacement of 500 signatures or 3% of
the raw count, whichever is greater (drawn here by ordering the lines by a keyed hash, so it is the same sample
on every run); validity rate v/n; uncorrected valid = raw × v/n; each duplicate found inside the sample weighs
A(A-1), A = raw / sample size, and that is subtracted. The 95% interval is the normal approximation of the
sampled validity rate with the finite-population correction, shifted by the same penalty (the penalty's own
variance is not modelled). Above 110% of the requirement the petition qualifies, below 95% it fails, in
between the board counts every signature.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from pipeline.export import effective_lines
from pipeline.roster import clusters_by_occurrence
from pipeline.store import Workspace
from pipeline.store import voters as stored_voters
from pipeline.voter_keys import ward_key
from scanner.types import LineStatus

SAMPLE_MINIMUM, SAMPLE_SHARE = 500, 0.03
QUALIFIES_ABOVE, FAILS_BELOW = 1.10, 0.95
Z95 = 1.96
SAMPLE_KEY = "petition-scanner random sample v1"
# Why a line does not count, in the order they are checked (a line gets the first that applies).
REASONS = ("blank", "name only", "struck", "uncertain", "no name", "no voter file", "not registered",
           "match to review", "wrong ward", "undated", "duplicate")


@dataclass(frozen=True)
class LineVerdict:
    occurrence: str
    file: str
    page: int
    line: int
    name: str
    status: str
    voter_id: str
    ward: str  # the voter's ward when matched, else the line's, else ''
    raw: bool  # a signature: part of the raw count
    reason: str  # '' when valid
    human: bool  # a person confirmed the line or decided its match


@dataclass(frozen=True)
class Projection:
    raw: int
    sample_size: int
    sample_valid: int
    sample_duplicates: int
    sample_reviewed: int  # sampled lines a person confirmed
    uncorrected: int  # ceil(raw × v/n)
    duplicate_weight: float  # A(A-1)
    duplicate_penalty: int  # ceil(d × A(A-1))
    projected: int
    low: int
    high: int

    @property
    def full_count(self) -> bool:
        """The sample is every signature (fewer than the minimum sample): the count is exact."""
        return self.sample_size >= self.raw


@dataclass(frozen=True)
class Qualification:
    voter_file: str  # "source (version N)", or '' when none is loaded
    lines: int
    raw: int  # lines with a signature
    signed: int
    valid: int
    invalid: dict[str, int]  # reason -> lines, in REASONS order, only reasons that occur
    wards: tuple[tuple[str, int, int], ...]  # (ward, signed, valid), 'unknown' last
    required: int | None
    projection: Projection
    verdicts: tuple[LineVerdict, ...]
    sample: tuple[str, ...]  # occurrences of the random sample, in draw order

    @property
    def margin(self) -> int | None:
        return None if self.required is None else self.valid - self.required

    def outlook(self) -> str:
        """What the board's sample would decide, given the requirement."""
        if self.required is None:
            return "no requirement given (--required)"
        ratio = self.projection.projected / self.required
        if self.projection.full_count:
            return "qualifies" if self.valid >= self.required else "falls short"
        return "qualifies" if ratio > QUALIFIES_ABOVE else "fails" if ratio < FAILS_BELOW else "goes to a full count"

    def headline(self) -> str:
        check = "a board would count every one" if self.projection.full_count else "a board's random sample"
        target = "" if self.required is None else (f" for {self.required:,} required (margin {self.margin:+,});"
                                                   f" {check}: {self.outlook()}")
        p = self.projection
        sample = "" if p.full_count else (f"; projected from a {p.sample_size}-signature sample: {p.projected:,}"
                                          f" (95% interval {p.low:,}–{p.high:,})")
        return f"{self.valid:,} valid signatures of {self.raw:,} signatures{target}{sample}"


def qualification(workspace: Workspace, *, required: int | None = None, ward: str = "") -> Qualification:
    current = stored_voters.current_version(workspace)
    lines = effective_lines(workspace)
    clusters = clusters_by_occurrence(workspace)  # the stored roster's (pipeline/roster.py): nothing re-clustered
    voter_wards = _voter_wards(workspace, current.version if current else None, lines)
    verdicts = line_verdicts(lines, _grouped(clusters), voter_wards, voter_file=current is not None,
                             petition_ward=ward_key(ward))
    raw = [v for v in verdicts if v.raw]
    sample = draw_sample([v.occurrence for v in raw])
    source = f"{current.source} (version {current.version})" if current else ""
    signed = sum(v.status == LineStatus.SIGNED.value for v in verdicts)
    return Qualification(source, len(verdicts), len(raw), signed, sum(not v.reason for v in verdicts),
                         _invalid(verdicts), _wards(verdicts), required, project(verdicts, sample, clusters),
                         tuple(verdicts), tuple(sample))


def _grouped(clusters: dict[str, int]) -> list[tuple[str, ...]]:
    groups: dict[int, list[str]] = {}
    for occurrence, cluster in clusters.items():
        groups.setdefault(cluster, []).append(occurrence)
    return [tuple(sorted(g)) for g in groups.values()]


def line_verdicts(lines: pd.DataFrame, clusters, voter_wards: dict[str, str], *, voter_file: bool,
                  petition_ward: str) -> list[LineVerdict]:
    """Each line's verdict; a signer's first valid line (by file, page, line) counts, later ones are duplicates."""
    has_date = lines["date"].astype(str).str.strip() != ""
    dated_pages = set(zip(lines["file_sha256"][has_date], lines["page"][has_date]))  # the sheets that ask for a date
    cluster_of = {o: k for k, c in enumerate(clusters) for o in c}
    counted: set[int] = set()
    verdicts = []
    for row in lines.itertuples(index=False):
        voter_id = str(getattr(row, "voter_id", "") or "")
        ward = voter_wards.get(voter_id) or ward_key(str(row.ward))
        dated = (row.file_sha256, row.page) in dated_pages
        reason = _reason(row, voter_file=voter_file, dated=dated, ward=ward, petition_ward=petition_ward)
        if not reason and row.occurrence in cluster_of:
            key = cluster_of[row.occurrence]
            reason = "duplicate" if key in counted else ""
            counted.add(key)
        status = str(row.status)
        verdicts.append(LineVerdict(row.occurrence, row.file, int(row.page), int(row.line), str(row.name), status,
                                    voter_id, ward, status in (LineStatus.SIGNED.value, LineStatus.SIGNATURE_ONLY.value),
                                    reason, bool(row.human_confirmed)))
    return verdicts


def _reason(row, *, voter_file: bool, dated: bool, ward: str, petition_ward: str) -> str:
    status = str(row.status)
    if status == LineStatus.SIGNATURE_ONLY.value:
        return "no name"
    if status != LineStatus.SIGNED.value:
        return {"name_only": "name only"}.get(status, status)
    if not str(row.name).strip():
        return "no name"
    if not voter_file:
        return "no voter file"
    match = str(getattr(row, "match_status", ""))
    if match == "not_found":
        return "not registered"
    if match != "matched":
        return "match to review"
    if petition_ward and ward != petition_ward:
        return "wrong ward"
    if dated and not str(row.date).strip():
        return "undated"
    return ""


def _voter_wards(workspace: Workspace, version: int | None, lines: pd.DataFrame) -> dict[str, str]:
    if version is None or "voter_id" not in lines:
        return {}
    ids = [v for v in lines["voter_id"] if v]
    return {v.voter_id: ward_key(v.ward) for v in stored_voters.voters_by_id(workspace, version, ids).values()}


def _invalid(verdicts: list[LineVerdict]) -> dict[str, int]:
    counts = Counter(v.reason for v in verdicts if v.reason and v.reason != "blank")  # nothing there to count
    return {r: counts[r] for r in REASONS if counts[r]}


def _wards(verdicts: list[LineVerdict]) -> tuple[tuple[str, int, int], ...]:
    signed = Counter(v.ward or "unknown" for v in verdicts if v.raw)
    valid = Counter(v.ward or "unknown" for v in verdicts if not v.reason)
    order = sorted((w for w in signed if w != "unknown"), key=lambda w: (not w.isdigit(), w.zfill(6)))
    order += ["unknown"] if "unknown" in signed else []
    return tuple((w, signed[w], valid[w]) for w in order)


def sample_size(raw: int) -> int:
    """500 or 3% of the raw count, whichever is greater, and never more than the raw count."""
    return min(raw, max(SAMPLE_MINIMUM, math.ceil(SAMPLE_SHARE * raw)))


def draw_sample(occurrences: list[str]) -> list[str]:
    """A simple random sample without replacement: the lines ordered by a keyed SHA-256 of their ids (a fixed
    random permutation, the same on every run and for every reader of the workspace), the first sample_size."""
    ordered = sorted(occurrences, key=lambda o: hashlib.sha256(f"{SAMPLE_KEY}|{o}".encode()).digest())
    return ordered[:sample_size(len(occurrences))]


def project(verdicts: list[LineVerdict], sample: list[str], clusters: dict[str, int]) -> Projection:
    """The board's estimate from the sample (module docstring): CCR §20530 rate, §20531 duplicate weight."""
    by_id = {v.occurrence: v for v in verdicts}
    raw, n = sum(v.raw for v in verdicts), len(sample)
    seen: set[int] = set()
    valid = duplicates = 0
    for occurrence in sample:
        verdict, key = by_id[occurrence], clusters.get(occurrence)
        if key is not None and key in seen:
            duplicates += 1  # the signer is in the sample already
            continue
        if key is not None:
            seen.add(key)
        valid += verdict.reason in ("", "duplicate")  # a repeat outside the sample is invisible to the sample
    reviewed = sum(by_id[o].human for o in sample)
    return estimate(raw, n, valid, duplicates, reviewed=reviewed)


def estimate(raw: int, n: int, valid: int, duplicates: int, *, reviewed: int = 0) -> Projection:
    """CCR §20530: the validity rate as a percentage to two decimals, times the raw count, rounded up; §20531:
    each duplicate in the sample weighs A(A-1), A = raw / n to four decimals, the total rounded up."""
    if n == 0:
        return Projection(raw, 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0)
    rate = round(100.0 * valid / n, 2) / 100.0
    share = round(raw / n, 4)
    weight = share * (share - 1)
    penalty = math.ceil(round(duplicates * weight, 6))
    uncorrected = math.ceil(round(raw * rate, 6))
    se = math.sqrt(rate * (1 - rate) / n * ((raw - n) / (raw - 1) if raw > 1 else 0.0))
    low = max(0, math.floor(raw * (rate - Z95 * se)) - penalty)
    high = max(0, math.ceil(raw * (rate + Z95 * se)) - penalty)
    return Projection(raw, n, valid, duplicates, reviewed, uncorrected, round(weight, 4), penalty,
                      uncorrected - penalty, low, high)
