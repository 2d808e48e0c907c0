"""Find the ruled table on an upright page: its physical lines, sub-rows and column boundaries.

After img2table's approach (morphological line extraction, scale from the page), extended with sub-rows:
a horizontal rule that spans the whole table separates physical lines; one that starts right of the
line-number column splits a line into labelled sub-cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scanner.errors import NoTableFound
from scanner.types import Box


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
class Grid:
    """Rules of the table, before roles are known."""

    table: Box
    line_rules: tuple[int, ...]  # y of rules between physical lines, top to bottom (n lines → n+1 rules)
    slot_bounds: tuple[float, ...]  # sub-row boundaries as fractions of a line's height, (0.0, ..., 1.0)
    slot_columns: tuple[tuple[int, ...], ...]  # per sub-row slot: x of column boundaries incl. table edges
    header: Box | None
    ruling_px: int


@dataclass(frozen=True)
class Masks:
    ink: np.ndarray  # all dark pixels
    horizontal: np.ndarray  # ruling only
    vertical: np.ndarray
    faint: np.ndarray  # pixels even slightly darker than paper: pale print and ruling


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


def ruling_masks(gray: np.ndarray, *, faint_ratio: float = 0.92) -> Masks:
    """Long thin horizontal and vertical runs: ruling survives an opening that erases handwriting.

    Rules are searched in a more sensitive mask than handwriting: faint grey ruling (a pale 1-px line
    after resampling) is only ~10% darker than paper, and noise is never line-shaped.
    """
    paper = paper_level(gray)
    ink = binarize(gray, paper=paper)
    faint = binarize(gray, darker_than_paper=faint_ratio, paper=paper)
    short = min(ink.shape)
    # Noise on a faint rule leaves it dotted; closing pixel-sized gaps first keeps it one run.
    horizontal = cv2.morphologyEx(faint, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (4, 1)))
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (short // 40, 1)))
    # Bridge the gaps of dashed or broken rules before they are measured.
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (short // 60, 1)))
    vertical = cv2.morphologyEx(faint, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 4)))
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, short // 40)))
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, short // 60)))
    return Masks(ink, horizontal, vertical, faint)


def find_grid(masks: Masks) -> Grid:
    """The table's physical lines and columns, or NoTableFound."""
    width = masks.ink.shape[1]
    rules = horizontal_rules(masks.horizontal, min_length=int(0.35 * width))
    if len(rules) < 3:
        raise NoTableFound(f"found {len(rules)} long horizontal rules, a table needs at least 3")
    table_x0, table_x1 = _table_extent(rules)
    table_width = table_x1 - table_x0
    full = [r for r in rules if r.start <= table_x0 + 0.04 * table_width and r.end >= table_x1 - 0.04 * table_width]
    run = _regular_run(full, fallback=rules)
    if len(run) < 3:
        raise NoTableFound("no run of evenly spaced rules (at least 2 table lines) was found")
    partial = [r for r in rules if r not in full and r.length >= 0.3 * table_width and run[0].pos < r.pos < run[-1].pos]
    ruling_px = max(1, int(np.median([r.thickness for r in run])))
    slot_bounds = _slot_bounds(run, partial)
    line_ys = tuple(r.pos for r in run)
    slot_columns = tuple(
        _column_bounds(masks.vertical, line_ys, slot_bounds[i], slot_bounds[i + 1], table_x0, table_x1)
        for i in range(len(slot_bounds) - 1)
    )
    header = _header_box(full, run, masks.ink, table_x0, table_x1)
    table = Box(table_x0, (header.y0 if header else run[0].pos), table_x1, run[-1].pos)
    return Grid(table, line_ys, slot_bounds, slot_columns, header, ruling_px)


def find_table(gray: np.ndarray) -> tuple[Masks, Grid]:
    """The table's masks and grid; a sheet whose pale ruling a phone photo washed out gets a second, more
    sensitive look before it is declared table-less."""
    try:
        masks = ruling_masks(gray)
        return masks, find_grid(masks)
    except NoTableFound:
        masks = ruling_masks(gray, faint_ratio=0.95)
        return masks, find_grid(masks)


def number_column_side(grid: Grid) -> str | None:
    """"left" or "right": the side of the narrow line-number column, when one edge column is clearly the
    narrowest. Petitions number their lines at the left, so a narrow right-hand column means upside down."""
    columns = grid.slot_columns[0]
    if len(columns) < 4:
        return None
    widths = np.diff(columns)
    left, right = float(widths[0]), float(widths[-1])
    table_width = float(columns[-1] - columns[0])
    narrow, other = min(left, right), max(left, right)
    if narrow > 0.12 * table_width or narrow > 0.75 * other or narrow > min(widths[1:-1]):
        return None
    return "left" if left < right else "right"


def horizontal_rules(mask: np.ndarray, *, min_length: int) -> list[Rule]:
    """Rows of the mask that hold a long run, grouped into rules."""
    # A 1-px rule left 0.1 degree off level wanders over a few rows; a small vertical smear gathers it.
    smear = 9
    gathered = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (1, smear)))
    counts = np.count_nonzero(gathered, axis=1)
    candidate_rows = np.flatnonzero(counts >= min_length * 0.6)
    raw_counts = np.count_nonzero(mask, axis=1)
    rules: list[Rule] = []
    for rows in _consecutive_groups(candidate_rows, max_gap=2):
        band = mask[rows[0] : rows[-1] + 1]
        columns = np.flatnonzero(band.any(axis=0))
        # Broken or dashed rules have gaps; bridge generous ones but ask that most of the span is inked.
        start, end = _longest_cover(columns, max_gap=max(6, mask.shape[1] // 14))
        inked = np.count_nonzero((columns >= start) & (columns <= end))
        # A rule is thin; a band as tall as a line of text is lettering that the closing joined up.
        thin = len(rows) - (smear - 1) <= max(6, mask.shape[1] // 120)
        if thin and end - start >= min_length and inked >= 0.6 * (end - start) and raw_counts[rows].sum() > 0:
            centre = int(round(np.average(rows, weights=raw_counts[rows] + 1)))
            rules.append(Rule(centre, start, end, max(1, len(rows) - (smear - 1))))
    return rules


def _table_extent(rules: list[Rule]) -> tuple[int, int]:
    """The outermost left and right ends shared by several long rules (sub-row rules start further in)."""
    longest = max(r.length for r in rules)
    long_rules = [r for r in rules if r.length >= 0.6 * longest]
    tolerance = max(6, longest // 100)
    needed = min(3, len(long_rules))
    starts = [g for g in _cluster(sorted(float(r.start) for r in long_rules), tolerance=tolerance) if len(g) >= needed]
    ends = [g for g in _cluster(sorted(float(r.end) for r in long_rules), tolerance=tolerance) if len(g) >= needed]
    x0 = int(np.median(starts[0])) if starts else min(r.start for r in long_rules)
    x1 = int(np.median(ends[-1])) if ends else max(r.end for r in long_rules)
    return x0, x1


def _regular_run(rules: list[Rule], *, fallback: list[Rule] = ()) -> list[Rule]:
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
    spacings = {int(g) for g in np.diff(positions) if g >= 15}
    best: list[Rule] = []
    for spacing in sorted(spacings):
        tolerance = 0.12 * spacing
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


def _slot_bounds(run: list[Rule], partial: list[Rule]) -> tuple[float, ...]:
    """Fractions of the line height where partial rules split lines into sub-rows, agreed by most lines."""
    fractions: list[float] = []
    for upper, lower in zip(run, run[1:]):
        height = lower.pos - upper.pos
        fractions += [(r.pos - upper.pos) / height for r in partial if upper.pos < r.pos < lower.pos]
    if not fractions:
        return (0.0, 1.0)
    bounds: list[float] = []
    for group in _cluster(sorted(fractions), tolerance=0.08):
        # A sub-row split must repeat on most lines; one stray partial rule is not a layout.
        if len(group) >= 0.5 * (len(run) - 1) and 0.15 < np.median(group) < 0.85:
            bounds.append(round(float(np.median(group)), 3))
    return (0.0, *bounds, 1.0)


def _column_bounds(vertical: np.ndarray, line_ys: tuple[int, ...], top: float, bottom: float, x0: int, x1: int) -> tuple[int, ...]:
    """Vertical rules present in this sub-row on most lines, plus the table's edges."""
    height_total = 0
    profile = np.zeros(vertical.shape[1], dtype=np.int64)
    for upper, lower in zip(line_ys, line_ys[1:]):
        y0 = upper + round(top * (lower - upper)) + 2
        y1 = upper + round(bottom * (lower - upper)) - 2
        if y1 > y0:
            profile += np.count_nonzero(vertical[y0:y1], axis=0)
            height_total += y1 - y0
    xs = np.flatnonzero(profile >= 0.6 * height_total)
    inner = [int(round(np.mean(g))) for g in _consecutive_groups(xs, max_gap=3)]
    edge_margin = 0.02 * (x1 - x0)
    inner = [x for x in inner if x0 + edge_margin < x < x1 - edge_margin]
    return (x0, *inner, x1)


def _header_box(full: list[Rule], run: list[Rule], ink: np.ndarray, x0: int, x1: int) -> Box | None:
    """The band above the first line: bounded by a rule when there is one, else by the text it holds."""
    first = run[0].pos
    row_height = int(np.median(np.diff([r.pos for r in run])))
    above = [r.pos for r in full if first - 3 * row_height <= r.pos < first - row_height // 3]
    if above:
        return Box(x0, max(above), x1, first)
    band_top = max(0, first - 2 * row_height)
    band = ink[band_top:first - 2, x0:x1]
    rows = np.flatnonzero(np.count_nonzero(band, axis=1) > 0.01 * (x1 - x0))
    if rows.size == 0:
        return None
    return Box(x0, band_top + int(rows[0]) - 4, x1, first)


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
