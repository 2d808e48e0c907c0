"""Scoring a signer's line against one voter, and the verdict over a line's candidates.

Names are compared as weighted edits: an edit between letters the recognizer confuses (m/n/h, u/v, i/l, a
doubled letter dropped: the skeleton of pipeline/voter_keys.py) costs half an edit, any other a whole one; the
names run together ("IMANIVARGAS") are compared whole as well. Zip, ward and address confirm a candidate or
veto it. Then the pixels decide: each candidate's name is scored against the line's name crop (the
recognizer's CTC log-likelihood, pipeline/match_pixels.py), and a candidate is matched only when the crop
explains its spelling about as well as the recognizer's own reading and clearly better than the next voter's.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from pipeline.names import are_nicknames, cut_short, fold, nickname_key, same_given_name
from pipeline.store.voters import Voter
from pipeline.voter_keys import compact, skeleton, ward_key, zip5


class MatchStatus(str, enum.Enum):
    MATCHED = "matched"  # one voter, confidently
    AMBIGUOUS = "ambiguous"  # two or more voters fit equally (namesakes with nothing to tell them apart)
    NOT_FOUND = "not_found"  # no voter near the name (or the pixels refuse every near one)
    REVIEW = "review"  # a near voter the evidence does not settle: a person decides


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds: costs count weighted edits, gaps count nats of CTC log-likelihood."""

    max_cost: float = 2.0  # a voter further than this from the name is no candidate (none further was ever
    # matched on the calibration fonts, nor changed a verdict as a rival)
    text_auto_cost: float = 0.0  # without pixels: the exact name (a look-alike a letter off is common), or
    # half an edit more per agreeing zip, ward, address; and clearly nearer than the next
    text_separation: float = 1.5  # ... by this much
    pixel_plausible_gap: float = 6.0  # the crop explains a candidate at most this much worse than its reading
    pixel_match_gap: float = 2.5  # ... to match automatically
    support_gap: float = 2.0  # each of zip, ward, address agreeing allows this much more
    pixel_separation: float = 4.0  # the best candidate beats the next voter's name by this much
    pixel_auto_cost: float = 2.0  # and its name is at most this far from the reading


@dataclass(frozen=True)
class LineName:
    """A line's name and fields in the forms the scoring compares."""

    first: str  # compact ocr-folded
    middle: str  # compact ocr-folded middle name when it is a whole word (Jean Pierre, Garcia of Garcia Lopez)
    last: str
    plain_first: str  # fold(), what the nickname table is keyed by
    one_word: bool  # read as a single word: glued names, or a surname alone
    zip: str  # five digits or ''
    ward: str  # ward_key or ''
    house: str  # leading house number of the address, or ''
    street: str  # the address without its number, folded
    wholes: tuple[str, ...] = ()  # skeletons of the name run together: first+last, first+middle+last, last+first
    canonical_first: str = ""  # the first name's nickname canonical (Bob -> robert)
    last_skeleton: str = ""
    initial: str = ""  # a middle initial the line shows ("Milos D Horvath": d)


@dataclass(frozen=True)
class Candidate:
    voter: Voter
    cost: float  # weighted edits between the names
    support: int  # zip, ward, address agreeing
    veto: bool  # zip, ward or address disagreeing
    gap: float | None = None  # the crop's log-likelihood of its reading minus of this voter's name (pixels)
    likelihood: float | None = None
    initial_agrees: bool = False  # the line shows a middle initial, and it is this voter's
    short_form: bool = False  # the line's first name is the voter's cut short, or theirs the line's (Javi, Javier)

    @property
    def text_score(self) -> float:
        return max(0.0, min(1.0, 1.0 - 0.1 * self.cost + 0.03 * self.support - (0.3 if self.veto else 0.0)))

    @property
    def score(self) -> float:
        """0..1, what is stored as match_score: the text score, lowered by how badly the crop fits the name."""
        pixel = 0.0 if self.gap is None else 0.05 * max(self.gap, 0.0)
        return round(max(0.0, self.text_score - pixel), 3)


def weighted_distance(a: str, b: str) -> float:
    """Edits between two compact names, those between confusable letters at half cost."""
    plain = Levenshtein.distance(a, b)
    if plain == 0:
        return 0.0
    classes = Levenshtein.distance(skeleton(a), skeleton(b))
    return min(plain, classes + 0.5 * max(plain - classes, 0))


def line_name(first: str, middle: str, last: str, *, one_word: bool, zip_code: str, ward: str,
              address: str) -> LineName:
    folded = fold(address)
    words = folded.split()
    house = words[0] if words and words[0].isdigit() else ""
    whole_middle = compact(middle) if len(compact(middle)) > 1 else ""
    f, la = compact(first), compact(last)
    wholes = {skeleton(f + la), skeleton(la + f)} | ({skeleton(f + whole_middle + la)} if whole_middle else set())
    initial = compact(middle) if len(compact(middle)) == 1 else ""
    return LineName(f, whole_middle, la, fold(first).replace(" ", ""), one_word, zip5(zip_code), ward_key(ward),
                    house, " ".join(words[1:] if house else words), tuple(sorted(wholes)),
                    nickname_key(fold(first).replace(" ", "")), skeleton(la), initial)


NEAR_EDITS = 2  # = max_cost: a name's weighted cost is at least its skeleton's edit distance


def near(line: LineName, whole: str, key_first: str, key_last: str, first_name: str) -> bool:
    """A cheap test that a voter (their key columns: `whole` is k_whole, the skeleton of first + last) may be
    within max_cost of the line (Levenshtein with a cutoff, in C): their skeletons run together are close, or
    their surnames are and the first names are ones the edits do not measure (missing, an initial, a
    nickname). Voters that fail it are neither fetched nor scored."""
    if any(Levenshtein.distance(w, whole, score_cutoff=NEAR_EDITS) <= NEAR_EDITS for w in line.wholes):
        return True
    if Levenshtein.distance(line.last_skeleton, skeleton(key_last), score_cutoff=NEAR_EDITS) > NEAR_EDITS:
        return False
    return (not line.first or not key_first or len(line.first) == 1 or line.canonical_first == _canonical(first_name)
            or same_given_name(line.plain_first, fold(first_name).replace(" ", "")))


@lru_cache(maxsize=1 << 16)
def _canonical(first_name: str) -> str:
    return nickname_key(fold(first_name).replace(" ", ""))


def name_cost(line: LineName, voter: Voter) -> float:
    """Weighted edits from the line's name to the voter's (first + last, or both run together, or swapped)."""
    vf, vl = voter.key_first, voter.key_last
    parted = _first_cost(line, voter) + weighted_distance(line.last, vl) + _middle_cost(line, voter)
    wholes = [line.first + line.last] + ([line.first + line.middle + line.last] if line.middle else [])
    whole = min(weighted_distance(w, vf + vl) for w in wholes) + (0.0 if line.one_word else 0.5)
    swapped = weighted_distance(line.last + line.first, vf + vl) + 0.5
    return min(parted, whole, swapped)


def _middle_cost(line: LineName, voter: Voter) -> float:
    """A whole middle name on the line ("Juan Carlos Rodriguez") that the voter's name does not hold: another
    person as likely as the same one."""
    if not line.middle:
        return 0.0
    held = compact(voter.middle_name) + voter.key_first
    return 0.0 if line.middle in held or (len(held) > 1 and weighted_distance(line.middle, held) <= 1) else 1.0


def _first_cost(line: LineName, voter: Voter) -> float:
    vf = voter.key_first
    if not vf:
        return 1.0  # a partial record (surname only): weaker, never free
    if not line.first:
        return 1.5  # the line has only a surname
    if line.first == vf:
        return 0.0
    if are_nicknames(line.plain_first, fold(voter.first_name).replace(" ", "")):
        return 0.5
    if _short_form(line, voter):
        return 1.0  # as much as an initial: Javi may be Javier, or someone else whose name starts so
    if len(line.first) == 1 and vf.startswith(line.first):
        return 1.0
    return weighted_distance(line.first, vf)


def evidence(line: LineName, voter: Voter) -> tuple[int, bool]:
    """(how many of zip, ward, address agree, whether any disagrees). A zip one digit off is neither: OCR slips."""
    support, veto = 0, False
    if not (line.zip or line.ward or line.house or line.street):
        return support, veto  # the line shows none of them
    vzip = zip5(voter.zip)
    if line.zip and vzip:
        distance = Levenshtein.distance(line.zip, vzip)
        support += distance == 0
        veto |= distance > 1
    vward = ward_key(voter.ward)
    if line.ward and vward:
        support += line.ward == vward
        veto |= line.ward != vward
    address = _address_agreement(line, voter)
    support += address > 0
    veto |= address < 0
    return support, veto


def _address_agreement(line: LineName, voter: Voter) -> int:
    """+1 the same house and street, -1 another house on another street, 0 unknown or unclear."""
    if not (line.house or line.street):
        return 0
    words = fold(voter.address).split()
    house = words[0] if words and words[0].isdigit() else ""
    street = " ".join(words[1:] if house else words)
    if not (line.house or line.street) or not (house or street):
        return 0
    street_similar = Levenshtein.normalized_similarity(line.street, street) if line.street and street else 0.5
    if line.house and line.house == house and street_similar >= 0.6:
        return 1
    if line.house and house and Levenshtein.distance(line.house, house) >= 2 and street_similar < 0.5:
        return -1
    return 0


def candidates_of(line: LineName, voters: Sequence[Voter]) -> list[Candidate]:
    """`candidate` for each voter, the name's cost (and whether its first name is cut short) worked out once for
    every voter of the same name."""
    by_name: dict[tuple[str, str, str, str], tuple[float, bool]] = {}
    out = []
    for voter in voters:
        name = (voter.key_first, voter.key_last, voter.first_name, voter.middle_name)
        if name not in by_name:
            by_name[name] = name_cost(line, voter), _short_form(line, voter)
        cost, short_form = by_name[name]
        support, veto = evidence(line, voter)
        out.append(Candidate(voter, cost, support, veto, initial_agrees=_initial_agrees(line, voter),
                             short_form=short_form))
    return out


def candidate(line: LineName, voter: Voter) -> Candidate:
    support, veto = evidence(line, voter)
    return Candidate(voter, name_cost(line, voter), support, veto, initial_agrees=_initial_agrees(line, voter),
                     short_form=_short_form(line, voter))


def _short_form(line: LineName, voter: Voter) -> bool:
    """The line's first name is the voter's cut short (or the other way round), and no nickname of it."""
    full = fold(voter.first_name).replace(" ", "")
    return (bool(line.plain_first) and line.plain_first != full and not are_nicknames(line.plain_first, full)
            and cut_short(line.plain_first, full))


def _initial_agrees(line: LineName, voter: Voter) -> bool:
    return bool(line.initial) and compact(voter.middle_name)[:1] == line.initial


def _same_name(a: Candidate, b: Candidate) -> bool:
    return (a.voter.key_first, a.voter.key_last) == (b.voter.key_first, b.voter.key_last)


def supported_far(candidate: Candidate) -> bool:
    """A voter whose zip or address agrees with the line, none disagreeing: a candidate for the crop to judge
    however far the reading is from their name (the reader garbled "SOLÈNE GIRARD" into "SOLÈNE GTZATZD", the
    crop still spells GIRARD better than anything else)."""
    return candidate.support > 0 and not candidate.veto


def decide(candidates: list[Candidate], settings: MatchSettings = MatchSettings()) -> tuple[MatchStatus, Candidate | None]:
    """The verdict over a line's candidates (ranked by the caller) and the candidate it names, if any. A voter
    beyond max_cost counts only with the crop scored (and the zip or address agreeing): the text alone says
    nothing of a reading that far off."""
    near = [c for c in candidates if c.cost <= settings.max_cost]
    judged = [c for c in candidates if c.gap is not None and (c.cost <= settings.max_cost or supported_far(c))]
    if judged:
        return _decide_by_pixels(judged, settings)
    if not near:
        return MatchStatus.NOT_FOUND, None
    return _decide_by_text(near, settings)


def _decide_by_text(near: list[Candidate], settings: MatchSettings) -> tuple[MatchStatus, Candidate | None]:
    ranked = sorted(near, key=lambda c: (c.veto, c.cost - 0.5 * c.support, c.voter.voter_id))
    best, rest = ranked[0], ranked[1:]
    if best.veto:
        return MatchStatus.REVIEW, best
    rivals = [c for c in rest if not c.veto and c.cost - 0.5 * c.support < best.cost - 0.5 * best.support
              + settings.text_separation]  # a voter the zip, ward or address contradicts is none
    initialled = _the_namesake_with_the_initial(best, rivals)
    if initialled is not None:
        best = initialled
        rivals = [c for c in ranked if not c.veto and c is not best and not _same_name(best, c)
                  and c.cost - 0.5 * c.support < best.cost - 0.5 * best.support + settings.text_separation]
    rival = rivals[0] if rivals else None
    if rival is not None and _same_name(best, rival) and rival.support == best.support:
        return MatchStatus.AMBIGUOUS, best
    if best.cost <= settings.text_auto_cost + 0.5 * best.support and rival is None:
        return MatchStatus.MATCHED, best
    return MatchStatus.REVIEW, best


def _decide_by_pixels(scored: list[Candidate], settings: MatchSettings) -> tuple[MatchStatus, Candidate | None]:
    ranked = sorted(scored, key=lambda c: (c.veto, c.gap - c.support, c.cost, c.voter.voter_id))
    best = ranked[0]
    # Each of zip, ward and address agreeing buys the same allowance here as for matching (support_gap): a
    # signer misread past the allowance at their own address is offered to review, not called not found.
    if best.gap > settings.pixel_plausible_gap + settings.support_gap * best.support:
        return (MatchStatus.NOT_FOUND if best.cost >= 1.0 else MatchStatus.REVIEW), best
    if best.veto:
        return MatchStatus.REVIEW, best
    rivals = [c for c in ranked[1:] if c.gap < best.gap + settings.pixel_separation]
    initialled = _the_namesake_with_the_initial(best, rivals)
    if initialled is not None:
        best = initialled
        rivals = [c for c in ranked if c is not best and not _same_name(best, c)
                  and c.gap < best.gap + settings.pixel_separation]
    namesakes = [c for c in rivals if _same_name(best, c)]
    if namesakes and all(c.support >= best.support for c in namesakes):
        return MatchStatus.AMBIGUOUS, best
    others = [c for c in rivals if not _same_name(best, c) and c.support >= best.support]
    allowed = settings.pixel_match_gap + settings.support_gap * best.support
    # A first name cut short fits the crop perfectly whoever the voter is: only the zip, ward or address makes
    # the signer this voter (an unregistered Javi Torres is not the file's Javier Torres).
    confirmed = best.support > 0 or not best.short_form
    # A name read far off (beyond pixel_auto_cost) is matched on the crop alone only when it fits the voter's name
    # as well as a name read right would, without the zip's or address's allowance.
    fits = best.cost <= settings.pixel_auto_cost or best.gap <= settings.pixel_match_gap
    if not others and best.gap <= allowed and fits and confirmed:
        return MatchStatus.MATCHED, best
    return MatchStatus.REVIEW, best


def _the_namesake_with_the_initial(best: Candidate, rivals: list[Candidate]) -> Candidate | None:
    """Of namesakes the name alone cannot tell apart, the one whose middle initial the line shows, when only one
    has it and no other is better supported by zip, ward or address ("Milos D Horvath": MILOS D HORVATH, not MILOS
    HORVATH, whose file gives no middle name); None otherwise. A line without an initial stays ambiguous: people
    leave theirs out."""
    group = [best, *(c for c in rivals if _same_name(best, c))]
    if len(group) < 2:
        return None
    agreeing = [c for c in group if c.initial_agrees]
    if len(agreeing) != 1 or any(c.support > agreeing[0].support or c.veto < agreeing[0].veto for c in group):
        return None
    return agreeing[0]
