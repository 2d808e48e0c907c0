"""Find the ruled table on an upright page: its physical lines, sub-rows and column boundaries.

After img2table's approach (morphological line extraction, scale from the page), extended with sub-rows:
a horizontal rule that spans the whole table separates physical lines; one that starts right of the
line-number column splits a line into labelled sub-cells, in the columns it crosses only (the others span the
whole line).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from itertools import pairwise

import cv2
import numpy as np

from scanner.errors import NoTableFound
from scanner.scale import WORK_UNIT, px
from scanner.settings import LayoutSettings
from scanner.types import Box

_DEFAULT = LayoutSettings()


@dataclass(frozen=True)
class Rule:
    """A horizontal or vertical ruling line: position across, extent along, thickness."""

    pos: int
    start: int
    end: int
    thickness: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Slot:
    """A cell's place in every line before its role is known: the sub-row it starts in, its x range and the
    share of the line's height it covers."""

    slot: int  # sub-row, 0 = top
    x0: int
    x1: int
    top: float
    bottom: float


@dataclass(frozen=True)
class Grid:
    """Rules of the table, before roles are known."""

    table: Box
    line_rules: tuple[int, ...]  # y of rules between physical lines, top to bottom (n lines → n+1 rules)
    slot_bounds: tuple[float, ...]  # sub-row boundaries as fractions of a line's height, (0.0, ..., 1.0)
    slot_columns: tuple[tuple[int, ...], ...]  # per sub-row slot: x of column boundaries incl. table edges
    header: Box | None
    ruling_px: int
    # The cells of every line, sub-row by sub-row: a sub-row split only in the columns its partial rule crosses.
    slots: tuple[Slot, ...] = ()
    long_rules: tuple[int, ...] = ()  # y of every long horizontal rule the look saw, table's or not


@dataclass(frozen=True)
class Masks:
    ink: np.ndarray  # all dark pixels
    horizontal: np.ndarray  # ruling only
    vertical: np.ndarray  # vertical ruling, as cleaned out of cells
    faint: np.ndarray  # pixels even slightly darker than paper: pale print and ruling
    # vertical runs in a still more sensitive mask, where column dividers are looked for (None: `vertical`)
    dividers: np.ndarray | None = None

    @property
    def divider_runs(self) -> np.ndarray:
        return self.vertical if self.dividers is None else self.dividers


@dataclass(frozen=True)
class Table:
    """What the table search found on an upright page: the masks it looked in and the grid."""

    masks: Masks
    grid: Grid


@dataclass(frozen=True)
class RulesSeen:
    """What the table search's last look saw on a page where it found no table (for the debug overlay)."""

    masks: Masks
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class TableExtent:
    """The table's left and right ends, where several long rules start and end."""

    x0: int
    x1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0


class NumberSide(enum.Enum):
    """Which edge of the table holds the narrow line-number column."""

    LEFT = "left"
    RIGHT = "right"
    UNCLEAR = "unclear"  # no edge column is clearly the narrowest


@dataclass(frozen=True)
class _Search:
    """What the grid search's steps share: the page's masks, the thresholds and the pixel unit."""

    masks: Masks
    settings: LayoutSettings
    unit: float

    def px(self, at_reference: float) -> int:
        return px(at_reference, self.unit)


def paper_level(gray: np.ndarray) -> np.ndarray:
    """The paper's brightness around every pixel: a grey closing wider than any pen stroke, then smoothed."""
    size = _odd(min(gray.shape) // 80)
    paper = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    return cv2.blur(paper, (size, size))


def binarize(gray: np.ndarray, *, darker_than_paper: float = 0.80, paper: np.ndarray | None = None) -> np.ndarray:
    """Ink mask robust to uneven light and faint ruling: a pixel is ink when it is clearly darker than the
    paper around it. Measuring against the paper (not a local mean) means heavy handwriting next to a faint
    rule does not raise the bar for the rule."""
    paper = paper_level(gray) if paper is None else paper
    threshold = cv2.convertScaleAbs(paper, alpha=darker_than_paper)
    return cv2.compare(gray, threshold, cv2.CMP_LT)


def ruling_masks(gray: np.ndarray, *, settings: LayoutSettings = _DEFAULT, unit: float = WORK_UNIT) -> Masks:
    """Long thin horizontal and vertical runs: ruling survives an opening that erases handwriting.

    Rules are searched in a more sensitive mask than handwriting: faint grey ruling (a pale 1-px line
    after resampling) is only ~10% darker than paper, and noise is never line-shaped.
    """
    paper = paper_level(gray)
    ink = binarize(gray, darker_than_paper=settings.ink_contrast, paper=paper)
    faint = binarize(gray, darker_than_paper=settings.faint_contrast, paper=paper)
    short = min(ink.shape)
    # Noise on a faint rule leaves it dotted; closing pixel-sized gaps (4 px at the reference) keeps it one run.
    dots = px(4, unit)
    horizontal = cv2.morphologyEx(faint, cv2.MORPH_CLOSE, _rect(dots, 1))
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_OPEN, _rect(short // 40, 1))
    # Bridge the gaps of dashed or broken rules before they are measured.
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, _rect(short // 60, 1))
    vertical = _vertical_runs(faint, dots, short)
    # Column dividers are looked for in a still more sensitive mask: a pale 1-px divider comes out fainter than the
    # horizontal rules of the same sheet once a skewed page is leveled, and a divider must run down most of every
    # line to count (_column_bounds), which handwriting never does. Only there: in that mask the digits of a
    # line-number column, bridged from line to line, make runs that cleaning a number cell would take for ruling.
    pale = binarize(gray, darker_than_paper=max(settings.faint_contrast, settings.retry_faint_contrast), paper=paper)
    return Masks(ink, horizontal, vertical, faint, _vertical_runs(pale, dots, short))


def _vertical_runs(mask: np.ndarray, dots: int, short: int) -> np.ndarray:
    """Long thin vertical runs of a mask: pixel-sized gaps closed, then runs of 1/40 of the page kept, bridged."""
    vertical = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _rect(1, dots))
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_OPEN, _rect(1, short // 40))
    return cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, _rect(1, short // 60))


def find_table(gray: np.ndarray, *, settings: LayoutSettings = _DEFAULT, unit: float = WORK_UNIT) -> Table:
    """The table's masks and grid. A sheet whose pale ruling a phone photo washed out gets a second, more
    sensitive look, then a third in the page averaged along the rules, before it is declared table-less; one
    whose table seems to go on past the lines found, or has very few, gets the second look too, kept when it
    finds every line of the first and more."""
    try:
        masks = ruling_masks(gray, settings=settings, unit=unit)
        first = Table(masks, find_grid(masks, settings=settings, unit=unit))
    except NoTableFound:
        masks = ruling_masks(gray, settings=_second_look(settings), unit=unit)
        try:
            return Table(masks, find_grid(masks, settings=settings, unit=unit))
        except NoTableFound:
            # The grid comes from the averaged masks; the cells are cleaned with the second look's, in which
            # averaged handwriting would pass for ruling.
            return Table(masks, find_grid(averaged_ruling_masks(gray, masks, settings=settings, unit=unit),
                                          settings=settings, unit=unit))
    few = len(first.grid.line_rules) - 1 <= FEW_LINES
    if not few and _rules_past(first.grid, settings=settings) < MISSED_LINES_FOR_A_SECOND_LOOK:
        return first
    return _longer_of(first, gray, settings=settings, unit=unit)


# Rules at the table's own spacing beyond the chain it found (this many or more): the table's lines go on, but
# their rules came out broken in this look (faded at one end), and a more sensitive look may see them whole.
MISSED_LINES_FOR_A_SECOND_LOOK = 2
# A table of this many lines or fewer is more often a sheet's table seen in part (every third rule dark enough:
# a calibration-split ballot scan read as 3 lines three times as tall) than a whole one: it gets the second look.
FEW_LINES = 4


def _rules_past(grid: Grid, *, settings: LayoutSettings) -> int:
    """How many long rules continue the found table's run past its first or last line, one spacing after
    another (a chain cut short where the next rules were seen, but not table-wide: a scan faded along one
    side). Only an unbroken continuation counts: print above a table makes rules at scattered places."""
    lines = grid.line_rules
    spacing = float(np.median(np.diff(lines)))
    found = np.array(grid.long_rules)
    tolerance = settings.spacing_tolerance * spacing
    past = 0
    for end, step in ((lines[-1], spacing), (lines[0], -spacing)):
        expected = end + step
        while found.size and np.abs(found - expected).min() <= tolerance:
            past += 1
            expected = found[np.abs(found - expected).argmin()] + step
    return past


def _longer_of(first: Table, gray: np.ndarray, *, settings: LayoutSettings, unit: float) -> Table:
    """The second look's table when it holds every line of the first one's and more; else the first."""
    masks = ruling_masks(gray, settings=_second_look(settings), unit=unit)
    try:
        second = Table(masks, find_grid(masks, settings=settings, unit=unit))
    except NoTableFound:
        return first
    tolerance = settings.spacing_tolerance * float(np.median(np.diff(first.grid.line_rules)))
    theirs = np.array(second.grid.line_rules)
    holds_all = all(np.abs(theirs - y).min() <= tolerance for y in first.grid.line_rules)
    return second if holds_all and len(theirs) > len(first.grid.line_rules) else first


def averaged_ruling_masks(gray: np.ndarray, second: Masks, *, settings: LayoutSettings = _DEFAULT,
                          unit: float = WORK_UNIT) -> Masks:
    """Masks for ruling too faint for any per-pixel threshold: a printed rule a percent or two darker than the
    paper, under the noise of a phone photo's single pixels. Averaged along its own direction over a fortieth
    of the page (the shortest run a rule is kept at anyway), the noise shrinks and the rule does not, so it
    stands out against the averaged paper by several times the paper's own spread. Writing is left out of the
    averages (with its anti-aliased edge): averaged, a pen stroke would pass for a faint rule. `second`: the
    second look's masks (ruling_masks with _second_look), whose ink is left out and whose other masks are kept."""
    paper = paper_level(gray)
    ratio = gray.astype(np.float32) / np.maximum(paper.astype(np.float32), 1.0)
    edge = 2 * px(2, unit) + 1
    usable = (cv2.dilate(second.ink, _rect(edge, edge)) == 0).astype(np.float32)
    short = min(gray.shape)
    length = max(3, short // 40)
    along, down = (_average_of_paper(ratio, usable, size) for size in ((length, 1), (1, length)))
    horizontal = ((along < _averaged_bar(along, settings)) * 255).astype(np.uint8)
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_OPEN, _rect(length, 1))
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, _rect(short // 60, 1))
    dividers = _vertical_runs(((down < _averaged_bar(down, settings)) * 255).astype(np.uint8), px(4, unit), short)
    return replace(second, horizontal=horizontal, dividers=dividers)


def _average_of_paper(ratio: np.ndarray, usable: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The mean of the usable pixels in a window around each pixel (1.0, paper, where the window has none)."""
    total = cv2.blur(ratio * usable, size)
    count = cv2.blur(usable, size)
    # Under a quarter of the window left (the rest writing): too few pixels for an average to say anything.
    enough = count > 0.25
    return np.where(enough, total / np.maximum(count, 1e-6), 1.0).astype(np.float32)


def _averaged_bar(averaged: np.ndarray, settings: LayoutSettings) -> float:
    """The brightness (share of the paper's) below which an averaged pixel is ruling: the averaged paper's
    median less several robust spreads (median absolute deviation), and less a minimum contrast."""
    # The paper: averages within a few minimum contrasts of white (rules, print and shadows are darker).
    paper = averaged[averaged > 1.0 - 4 * settings.averaged_rule_contrast]
    if paper.size == 0:
        return 1.0 - settings.averaged_rule_contrast
    median = float(np.median(paper))
    spread = 1.4826 * float(np.median(np.abs(paper - median)))
    return median - max(settings.averaged_rule_noise * spread, settings.averaged_rule_contrast)


def rules_seen(gray: np.ndarray, *, settings: LayoutSettings = _DEFAULT, unit: float = WORK_UNIT) -> RulesSeen:
    """The masks and long rules of whichever of find_table's more sensitive looks saw more (for a debug
    overlay): the second finds dark rules, the averaged third only faint ones (it leaves ink out)."""
    min_length = int(settings.min_rule_length * gray.shape[1])
    second = ruling_masks(gray, settings=_second_look(settings), unit=unit)
    seen = [RulesSeen(masks, tuple(horizontal_rules(masks.horizontal, min_length=min_length, settings=settings,
                                                    unit=unit)))
            for masks in (second, averaged_ruling_masks(gray, second, settings=settings, unit=unit))]
    return max(seen, key=lambda look: len(look.rules))


def _second_look(settings: LayoutSettings) -> LayoutSettings:
    return replace(settings, faint_contrast=settings.retry_faint_contrast)


def find_grid(masks: Masks, *, settings: LayoutSettings = _DEFAULT, unit: float = WORK_UNIT) -> Grid:
    """The table's physical lines and columns, or NoTableFound."""
    search = _Search(masks, settings, unit)
    width = masks.ink.shape[1]
    rules = horizontal_rules(masks.horizontal, min_length=int(settings.min_rule_length * width), settings=settings,
                             unit=unit)
    needed = settings.min_table_rules
    if len(rules) < needed:
        raise NoTableFound(f"found {len(rules)} long horizontal rules, a table needs at least {needed}")
    extent = _table_extent(search, rules)
    slack = settings.full_rule_slack * extent.width
    full = _without_strokes([r for r in rules if r.start <= extent.x0 + slack and r.end >= extent.x1 - slack],
                            search)
    run = _regular_run(search, full, fallback=rules)
    if len(run) < needed:
        raise NoTableFound(f"no run of evenly spaced rules (at least {needed - 1} table lines) was found")
    run = _opened_by_a_full_rule(_crossed_by_dividers(search, run, extent), full, needed)
    shortest = settings.partial_rule_length * extent.width
    partial = [r for r in rules if r not in full and r.length >= shortest and run[0].pos < r.pos < run[-1].pos]
    ruling_px = max(1, int(np.median([r.thickness for r in run])))
    slot_bounds = _slot_bounds(settings, run, partial)
    line_ys = tuple(r.pos for r in run)
    slot_columns = tuple(_column_bounds(search, line_ys, slot_bounds[i], slot_bounds[i + 1], extent)
                         for i in range(len(slot_bounds) - 1))
    slots = _line_slots(search, _Split(line_ys, slot_bounds, slot_columns, tuple(partial)))
    header = _header_box(search, full, run, extent)
    table = Box(extent.x0, (header.y0 if header else run[0].pos), extent.x1, run[-1].pos)
    return Grid(table, line_ys, slot_bounds, slot_columns, header, ruling_px, slots, tuple(r.pos for r in rules))


def number_column_side(grid: Grid, *, settings: LayoutSettings = _DEFAULT) -> NumberSide:
    """The side of the narrow line-number column, when one edge column is clearly the narrowest. Petitions
    number their lines at the left, so a narrow right-hand column means upside down."""
    columns = grid.slot_columns[0]
    if len(columns) < 4:
        return NumberSide.UNCLEAR
    widths = np.diff(columns)
    left, right = float(widths[0]), float(widths[-1])
    table_width = float(columns[-1] - columns[0])
    narrow, other = min(left, right), max(left, right)
    if (narrow > settings.number_column_share * table_width or narrow > settings.number_column_ratio * other
            or narrow > min(widths[1:-1])):
        return NumberSide.UNCLEAR
    return NumberSide.LEFT if left < right else NumberSide.RIGHT


def horizontal_rules(mask: np.ndarray, *, min_length: int, settings: LayoutSettings = _DEFAULT,
                     unit: float = WORK_UNIT) -> list[Rule]:
    """Rows of the mask that hold a long run, grouped into rules."""
    # A 1-px rule left 0.1 degree off level wanders over a few rows; a small vertical smear (9 px at the
    # reference) gathers it.
    smear = px(9, unit)
    gathered = cv2.dilate(mask, _rect(1, smear))
    counts = np.count_nonzero(gathered, axis=1)
    candidate_rows = np.flatnonzero(counts >= min_length * settings.rule_row_share)
    raw_counts = np.count_nonzero(mask, axis=1)
    thickest = max(px(6, unit), mask.shape[1] // 120)
    rules: list[Rule] = []
    # Rows a pixel or two apart (2 px at the reference) are one rule's.
    for rows in _consecutive_groups(candidate_rows, max_gap=px(2, unit)):
        # A rule is thin; a band as tall as a line of text is lettering that the closing joined up.
        if len(rows) - (smear - 1) <= thickest:
            rule = _rule_in(mask, rows, raw_counts, min_length=min_length, thickness=len(rows) - (smear - 1),
                            settings=settings, unit=unit)
        else:
            rule = _rule_under_writing(mask, rows, raw_counts, min_length=min_length, thickest=thickest,
                                       settings=settings, unit=unit)
        if rule is not None:
            rules.append(rule)
    return rules


def _rule_in(mask: np.ndarray, rows: np.ndarray, raw_counts: np.ndarray, *, min_length: int, thickness: int,
             settings: LayoutSettings, unit: float) -> Rule | None:
    """The rule these rows hold, when their run is long enough and inked over most of its span."""
    band = mask[rows[0] : rows[-1] + 1]
    columns = np.flatnonzero(band.any(axis=0))
    if columns.size == 0 or raw_counts[rows].sum() == 0:
        return None
    # Broken or dashed rules have gaps; bridge generous ones but ask that most of the span is inked.
    start, end = _longest_cover(columns, max_gap=max(px(6, unit), mask.shape[1] // 14))
    inked = np.count_nonzero((columns >= start) & (columns <= end))
    if end - start < min_length or inked < settings.rule_inked_share * (end - start):
        return None
    centre = int(round(np.average(rows, weights=raw_counts[rows] + 1)))
    return Rule(centre, start, end, max(1, thickness))


# A rule's solid row is inked over this share of the rule's span (a printed rule, not lettering joined up).
SOLID_RULE_SHARE = 0.9


def _rule_under_writing(mask: np.ndarray, rows: np.ndarray, raw_counts: np.ndarray, *, min_length: int,
                        thickest: int, settings: LayoutSettings, unit: float) -> Rule | None:
    """A rule that handwriting crosses (a signature written over the line's bottom rule) is a thick band too,
    but its own rows stand out: they run the whole width, the writing's level strokes a fraction of it. The
    rows holding at least half the band's longest count are the rule when they are few and together, and one of
    them is inked solid over the rule's whole span (SOLID_RULE_SHARE of it): a band of lettering has that many
    rows over most of its height, and none of them is solid from end to end (a bold title, closed up, was)."""
    core = rows[raw_counts[rows] >= 0.5 * raw_counts[rows].max()]
    if core.size == 0 or core[-1] - core[0] + 1 > thickest or raw_counts[core].max() < min_length:
        return None
    rule = _rule_in(mask, np.arange(core[0], core[-1] + 1), raw_counts, min_length=min_length,
                    thickness=core[-1] - core[0] + 1, settings=settings, unit=unit)
    if rule is None or raw_counts[core].max() < SOLID_RULE_SHARE * (rule.end - rule.start):
        return None
    return rule


def _table_extent(search: _Search, rules: list[Rule]) -> TableExtent:
    """The outermost left and right ends shared by several long rules (sub-row rules start further in)."""
    longest = max(r.length for r in rules)
    long_rules = [r for r in rules if r.length >= search.settings.long_rule_share * longest]
    # Ends a few pixels apart (6 at the reference, more on a wide table) are the same end.
    tolerance = max(search.px(6), longest // 100)
    needed = min(3, len(long_rules))
    starts = [g for g in _cluster(sorted(float(r.start) for r in long_rules), tolerance=tolerance) if len(g) >= needed]
    ends = [g for g in _cluster(sorted(float(r.end) for r in long_rules), tolerance=tolerance) if len(g) >= needed]
    x0 = int(np.median(starts[0])) if starts else min(r.start for r in long_rules)
    x1 = int(np.median(ends[-1])) if ends else max(r.end for r in long_rules)
    return TableExtent(x0, x1)


def _without_strokes(full: list[Rule], search: _Search) -> list[Rule]:
    """The table-wide rules without pen strokes: a line struck through edge to edge is a long level run too,
    but a slanting stroke spans far more rows than the printed rules (over twice their median thickness, and
    over 4 px at the reference more). The outermost rules stay whatever their weight: a table's border is often heavier.
    Left in, a strike halfway down a line counted as a full rule and made a chain at half the spacing, through
    the sub-row rules, look like the table (the city form read as ten half lines)."""
    ordered = sorted(full, key=lambda r: r.pos)
    if len(ordered) < 3:
        return ordered
    usual = float(np.median([r.thickness for r in ordered]))
    heaviest = max(2 * usual, usual + search.px(4))
    inner = [r for r in ordered[1:-1] if r.thickness <= heaviest]
    return [ordered[0], *inner, ordered[-1]]


def _regular_run(search: _Search, rules: list[Rule], *, fallback: list[Rule] = ()) -> list[Rule]:
    """The longest chain of rules with near-equal spacing: the table's lines.

    Each step looks for a rule one spacing further on and skips anything in between, so a level strike-out
    or a stray long stroke inside a line cannot break the chain. Where no full-width rule is found at the
    expected place, a shorter one there (a broken or partly faded rule) continues the chain.
    """
    ordered = sorted(rules, key=lambda r: r.pos)
    if len(ordered) < 3:
        return ordered
    positions = np.array([r.pos for r in ordered])
    spares = sorted(fallback, key=lambda r: r.pos)
    spare_positions = np.array([r.pos for r in spares]) if spares else np.array([-10**9])
    # Rules closer than a line of writing (15 px at the reference) are a rule's double edge, not a spacing.
    spacings = {int(g) for g in np.diff(positions) if g >= search.px(15)}
    best: list[Rule] = []
    for spacing in sorted(spacings):
        tolerance = search.settings.spacing_tolerance * spacing
        for first in range(len(ordered)):
            chain = [ordered[first]]
            while True:
                target = chain[-1].pos + spacing
                index = int(np.abs(positions - target).argmin())
                if positions[index] > chain[-1].pos and abs(positions[index] - target) <= tolerance:
                    chain.append(ordered[index])
                    continue
                spare = int(np.abs(spare_positions - target).argmin())
                if spares and spare_positions[spare] > chain[-1].pos and abs(spare_positions[spare] - target) <= tolerance:
                    chain.append(spares[spare])
                    continue
                break
            # Trailing rules found only as spares are not trusted to close the table.
            while chain and chain[-1] not in ordered:
                chain.pop()
            # Most full-width rules wins; among equals, fewest stand-ins (a chain at half the spacing
            # through sub-row rules is not the table's lines).
            if _chain_score(chain, ordered) > _chain_score(best, ordered):
                best = chain
    return best


def _chain_score(chain: list[Rule], full: list[Rule]) -> tuple[int, int]:
    members = set(full)
    full_count = sum(rule in members for rule in chain)
    return full_count, full_count - len(chain)


def _slot_bounds(settings: LayoutSettings, run: list[Rule], partial: list[Rule]) -> tuple[float, ...]:
    """Fractions of the line height where partial rules split lines into sub-rows, agreed by most lines."""
    fractions: list[float] = []
    for upper, lower in zip(run, run[1:]):
        height = lower.pos - upper.pos
        fractions += [(r.pos - upper.pos) / height for r in partial if upper.pos < r.pos < lower.pos]
    if not fractions:
        return (0.0, 1.0)
    bounds: list[float] = []
    lowest, highest = settings.subrow_lowest, settings.subrow_highest
    for group in _cluster(sorted(fractions), tolerance=settings.subrow_tolerance):
        # A sub-row split must repeat on most lines; one stray partial rule is not a layout.
        if len(group) >= settings.subrow_agreement * (len(run) - 1) and lowest < np.median(group) < highest:
            bounds.append(round(float(np.median(group)), 3))
    return (0.0, *bounds, 1.0)


def _crossed_by_dividers(search: _Search, run: list[Rule], extent: TableExtent) -> list[Rule]:
    """The run without end lines that no column divider crosses: a rule below or above the table (a box's
    edge, a dense line of print) can sit one spacing away by chance, but the table's dividers stop at it."""
    ys = tuple(r.pos for r in run)
    inner = _column_bounds(search, ys, 0.0, 1.0, extent)[1:-1]
    if not inner:
        return run
    needed = search.settings.min_table_rules
    while len(run) > needed and not _has_divider(search, run[-2].pos, run[-1].pos, inner):
        run = run[:-1]
    while len(run) > needed and not _has_divider(search, run[0].pos, run[1].pos, inner):
        run = run[1:]
    return run


def _opened_by_a_full_rule(run: list[Rule], full: list[Rule], needed: int) -> list[Rule]:
    """The run from its first table-wide rule: once a band no divider crosses is cut off above it, a shorter
    stand-in left on top (a rule under the warning's print, one spacing above the header) opens no line."""
    while len(run) > needed and run[0] not in full:
        run = run[1:]
    return run


def _has_divider(search: _Search, y0: int, y1: int, dividers: tuple[int, ...]) -> bool:
    """Whether a vertical rule runs down most of the band y0..y1 at any of the dividers' x."""
    # A divider wavers a few pixels (3 at the reference) off its mean x; its junctions (2 px) are not counted.
    reach, inset = search.px(3), search.px(2)
    band = search.masks.divider_runs[y0 + inset : y1 - inset]
    if band.shape[0] == 0:
        return False
    for x in dividers:
        covered = np.count_nonzero(band[:, max(0, x - reach) : x + reach + 1].any(axis=1))
        if covered >= search.settings.end_line_divider_share * band.shape[0]:
            return True
    return False


@dataclass(frozen=True)
class _Split:
    """The lines' sub-row bounds, each sub-row's column bounds and the partial rules that split them."""

    line_ys: tuple[int, ...]
    bounds: tuple[float, ...]
    columns: tuple[tuple[int, ...], ...]
    partial: tuple[Rule, ...]


def _line_slots(search: _Search, split: _Split) -> tuple[Slot, ...]:
    """Every cell of a line. Columns bounded by dividers that run through all sub-rows are split only at the
    bounds whose partial rule crosses them on most lines; the others span those sub-rows whole."""
    tolerance = search.px(6)  # one divider found a few pixels apart in two sub-rows (6 at the reference)
    blocks = [x for x in split.columns[0] if all(_near(x, other, tolerance) for other in split.columns[1:])]
    slots: list[Slot] = []
    for x0, x1 in pairwise(blocks):
        cuts = [0.0, *(f for f in split.bounds[1:-1] if _crosses(search, split, f, x0, x1)), 1.0]
        for top, bottom in pairwise(cuts):
            first = split.bounds.index(top)
            covered = split.columns[first : split.bounds.index(bottom)]
            inner = [x for x in covered[0] if x0 < x < x1 and all(_near(x, other, tolerance) for other in covered)]
            edges = [x0, *inner, x1]
            slots += [Slot(first, a, b, top, bottom) for a, b in pairwise(edges)]
    return tuple(sorted(slots, key=lambda s: (s.slot, s.x0)))


def _near(x: int, columns: tuple[int, ...], tolerance: int) -> bool:
    return any(abs(x - other) <= tolerance for other in columns)


def _crosses(search: _Search, split: _Split, bound: float, x0: int, x1: int) -> bool:
    """Whether a partial rule at this bound covers most of the column x0..x1 on most lines."""
    settings = search.settings
    crossed = 0
    for upper, lower in pairwise(split.line_ys):
        height = lower - upper
        near = [r for r in split.partial if abs((r.pos - upper) / height - bound) <= settings.subrow_tolerance]
        covered = max((min(r.end, x1) - max(r.start, x0) for r in near), default=0)
        crossed += covered >= settings.subrow_column_share * (x1 - x0)
    return crossed >= settings.subrow_agreement * (len(split.line_ys) - 1)


def _column_bounds(search: _Search, line_ys: tuple[int, ...], top: float, bottom: float,
                   extent: TableExtent) -> tuple[int, ...]:
    """Vertical rules present in this sub-row on most lines, plus the table's edges."""
    # A divider in a photo wavers a pixel or two off its mean x (2 at the reference): a row counts for every x
    # its divider passes within that reach of, so one divider's votes are not split between neighbouring x.
    reach = search.px(2)
    vertical = cv2.dilate(search.masks.divider_runs, _rect(2 * reach + 1, 1))
    # The rows next to a horizontal rule (2 px at the reference) hold its junctions, not the dividers.
    inset = search.px(2)
    height_total = 0
    profile = np.zeros(vertical.shape[1], dtype=np.int64)
    for upper, lower in zip(line_ys, line_ys[1:]):
        y0 = upper + round(top * (lower - upper)) + inset
        y1 = upper + round(bottom * (lower - upper)) - inset
        if y1 > y0:
            profile += np.count_nonzero(vertical[y0:y1], axis=0)
            height_total += y1 - y0
    xs = np.flatnonzero(profile >= search.settings.column_agreement * height_total)
    # Columns a few pixels apart (3 at the reference) are one thick or wavering divider.
    inner = [int(round(np.mean(g))) for g in _consecutive_groups(xs, max_gap=search.px(3))]
    edge_margin = search.settings.column_edge_margin * extent.width
    inner = [x for x in inner if extent.x0 + edge_margin < x < extent.x1 - edge_margin]
    return (extent.x0, *inner, extent.x1)


def _header_box(search: _Search, full: list[Rule], run: list[Rule], extent: TableExtent) -> Box | None:
    """The band above the first line: bounded by a rule when there is one, else by the text it holds."""
    first = run[0].pos
    row_height = int(np.median(np.diff([r.pos for r in run])))
    above = [r.pos for r in full if first - 3 * row_height <= r.pos < first - row_height // 3]
    if above:
        return Box(extent.x0, max(above), extent.x1, first)
    band_top = max(0, first - 2 * row_height)
    # The first rule's own rows (2 px at the reference) are not header text.
    band = search.masks.ink[band_top:first - search.px(2), extent.x0:extent.x1]
    rows = np.flatnonzero(np.count_nonzero(band, axis=1) > search.settings.header_text_share * extent.width)
    if rows.size == 0:
        return None
    # A little paper above the header's text (4 px at the reference) keeps its ascenders in the box.
    return Box(extent.x0, band_top + int(rows[0]) - search.px(4), extent.x1, first)


def _rect(width: int, height: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, (width, height))


def _consecutive_groups(values: np.ndarray, *, max_gap: int) -> list[np.ndarray]:
    if len(values) == 0:
        return []
    splits = np.flatnonzero(np.diff(values) > max_gap) + 1
    return [g for g in np.split(values, splits) if len(g)]


def _longest_cover(columns: np.ndarray, *, max_gap: int) -> tuple[int, int]:
    groups = _consecutive_groups(columns, max_gap=max_gap)
    if not groups:
        return 0, 0
    longest = max(groups, key=lambda g: g[-1] - g[0])
    return int(longest[0]), int(longest[-1])


def _cluster(values: list[float], *, tolerance: float) -> list[list[float]]:
    groups: list[list[float]] = []
    for value in values:
        if groups and value - groups[-1][-1] <= tolerance:
            groups[-1].append(value)
        else:
            groups.append([value])
    return groups


def _odd(value: int) -> int:
    return max(3, value | 1)
