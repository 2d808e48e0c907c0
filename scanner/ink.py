"""Handwriting in the table: ruling and pre-printed content removed, strokes grouped, each stroke given to one cell.

A signature that overflows into the line above or below belongs to the line where most of its ink lies
(connected components are assigned whole), so it cannot make a blank neighbour look signed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scanner.grid import Masks
from scanner.types import Box, InkMeasure, Presence, SheetLayout


@dataclass(frozen=True)
class InkThresholds:
    """Definite and marginal thresholds on ink extent (share of cell width) and ink fraction."""

    present_extent: float = 0.10
    absent_extent: float = 0.04
    present_fraction: float = 0.006
    absent_fraction: float = 0.002
    mark_size: float = 0.22  # a stroke shorter than this share of the cell's height is a stray mark, not writing


@dataclass(frozen=True)
class Strokes:
    """Connected handwriting components, each assigned to one (line, field) cell or to none."""

    labels: np.ndarray  # component label per pixel (0 = background), table-sized page coordinates
    stats: np.ndarray  # cv2 stats per label
    cell_of: np.ndarray  # per label: index into cells, or -1
    cells: tuple[tuple[int, int], ...]  # (line index, field index)
    row_height: int
    pale: np.ndarray | None = None  # pale pixels a cell's crop may grow into (see grow_into_pale)


@dataclass(frozen=True)
class WritingMasks:
    """Handwriting (ink minus ruling and pre-printed content), and the pale pixels a crop may grow into."""

    writing: np.ndarray
    pale: np.ndarray  # slightly darker than paper, same removals: the thin, light parts of ballpoint strokes


def writing_masks(ink: np.ndarray, masks: Masks, layout: SheetLayout) -> WritingMasks:
    """Ink minus ruling minus whatever is printed at the same place in most lines (and the same for pale ink)."""
    ruling = _ruling_of_layout(masks, layout)
    grow = max(1, layout.ruling_px // 2 + 1)
    not_ruling = cv2.bitwise_not(cv2.dilate(ruling, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)))
    writing = cv2.bitwise_and(ink, not_ruling)
    pale = cv2.bitwise_and(masks.faint, not_ruling)
    for spec in layout.fields:
        printed = _printed_template(writing, layout, spec)
        if printed is None:
            continue
        for line in layout.lines:
            cell = layout.cell(line, spec)
            for mask in (writing, pale):
                region = mask[cell.y0 : cell.y0 + printed.shape[0], cell.x0 : cell.x1]
                region[printed[: region.shape[0], : region.shape[1]] > 0] = 0
    return WritingMasks(writing, pale)


def grow_into_pale(mask: np.ndarray, box: Box, pale: np.ndarray, *, steps: int) -> tuple[np.ndarray, Box]:
    """A cell's stroke mask grown into the pale pixels it touches (hysteresis), for reading only.

    A ballpoint's thin horizontal strokes are paler than its downstrokes and fall under the ink threshold:
    E is left as "I", L as "I", a pale name as scattered ticks. Growth is geodesic and short (about a
    stroke's length), so it follows strokes and never crawls along the page; presence and grouping keep
    using dark ink only, so no pale halo can join a line's writing to its neighbour's.
    """
    height, width = pale.shape
    grown_box = Box(max(0, box.x0 - steps), max(0, box.y0 - steps), min(width, box.x1 + steps),
                    min(height, box.y1 + steps))
    seed = np.zeros((grown_box.y1 - grown_box.y0, grown_box.x1 - grown_box.x0), np.uint8)
    dy, dx = box.y0 - grown_box.y0, box.x0 - grown_box.x0
    seed[dy : dy + mask.shape[0], dx : dx + mask.shape[1]] = mask.astype(np.uint8)
    allowed = (pale[grown_box.y0 : grown_box.y1, grown_box.x0 : grown_box.x1] > 0).astype(np.uint8) | seed
    kernel = np.ones((3, 3), np.uint8)
    grown = seed
    for _ in range(steps):
        wider = cv2.dilate(grown, kernel) & allowed
        if np.array_equal(wider, grown):
            break
        grown = wider
    rows, cols = np.flatnonzero(grown.any(axis=1)), np.flatnonzero(grown.any(axis=0))
    trimmed = Box(grown_box.x0 + int(cols[0]), grown_box.y0 + int(rows[0]), grown_box.x0 + int(cols[-1]) + 1,
                  grown_box.y0 + int(rows[-1]) + 1)
    return grown[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] > 0, trimmed


def _ruling_of_layout(masks: Masks, layout: SheetLayout) -> np.ndarray:
    """Ruling pixels near the layout's own rules only: a tall handwritten I or a long signature stroke
    also survives a line-shaped opening, and must stay handwriting."""
    reach = 2 * layout.ruling_px + 4
    ys = {y for line in layout.lines for y in (line.y0, line.y1)}
    ys |= {layout.cell(line, f).y0 for line in layout.lines for f in layout.fields}
    ruling = _horizontal_rules_near(masks.horizontal, sorted(ys), reach=reach, layout=layout)
    top, bottom = max(0, layout.table.y0 - reach), layout.table.y1 + reach
    for x in {v for f in layout.fields for v in (f.x0, f.x1)}:
        cols = slice(max(0, x - reach), x + reach + 1)
        ruling[top:bottom, cols] = np.maximum(ruling[top:bottom, cols], masks.vertical[top:bottom, cols])
    return ruling


def _horizontal_rules_near(horizontal: np.ndarray, ys: list[int], *, reach: int, layout: SheetLayout) -> np.ndarray:
    """The horizontal-run pixels within reach of the layout's rules that belong to a rule.

    The reach is generous because a photographed rule bows a few pixels away from its fitted position. But
    writing that sits just above a rule also leaves horizontal runs there: the feet of L and E, the bar
    of a Z, merged into one run by the faint mask's closing. Erasing those turns LEVY into "I FVY". So
    a run counts as ruling only where it is long (a rule crosses whole fields, a name's baseline does
    not) or where it lies on a rule's own rows.
    """
    ruling = np.zeros_like(horizontal)
    if not ys:
        return ruling
    # Only the band the rules span is labelled (the page beyond holds no layout rule).
    top, bottom = max(0, ys[0] - reach), min(horizontal.shape[0], ys[-1] + reach + 1)
    near = np.zeros((bottom - top, horizontal.shape[1]), horizontal.dtype)
    for y in ys:
        rows = slice(max(top, y - reach), min(bottom, y + reach + 1))
        near[rows.start - top : rows.stop - top] = horizontal[rows]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=8)
    if count <= 1:
        return ruling
    row_height = float(np.median([ln.y1 - ln.y0 for ln in layout.lines])) if layout.lines else 0.0
    long_run = stats[:, cv2.CC_STAT_WIDTH] >= 3 * row_height
    on_rule_rows = np.zeros(count, dtype=bool)
    half = layout.ruling_px // 2 + 1
    for y in ys:
        on_rule_rows[np.unique(labels[max(0, y - half - top) : max(0, y + half + 1 - top)])] = True
    keep = long_run | on_rule_rows
    keep[0] = False
    ruling[top:bottom] = np.where(keep[labels], near, 0)
    return ruling


def _printed_template(writing: np.ndarray, layout: SheetLayout, spec) -> np.ndarray | None:
    """Pixels inked in most lines of this field: pre-printed labels and numbers, never handwriting."""
    if len(layout.lines) < 4:
        return None
    cells = [layout.cell(line, spec) for line in layout.lines]
    height = min(c.height for c in cells)
    stack = np.stack([writing[c.y0 : c.y0 + height, c.x0 : c.x1] > 0 for c in cells])
    share = stack.mean(axis=0)
    # Printed ink is in (nearly) every line; handwriting overlaps by chance in a few at most.
    printed = (share >= 0.85).astype(np.uint8)
    if not printed.any():
        return None
    return cv2.dilate(printed, np.ones((5, 5), np.uint8))


def group_strokes(writing: np.ndarray, layout: SheetLayout, *, pale: np.ndarray | None = None) -> Strokes:
    """Components of the handwriting, each given whole to the cell holding most of its pixels."""
    row_height = int(np.median([ln.y1 - ln.y0 for ln in layout.lines])) if layout.lines else 1
    # Removing a rule cuts strokes that cross it; a short closing joins them again for grouping.
    bridge = 2 * layout.ruling_px + 3
    table = layout.table
    top = max(0, table.y0 - row_height)
    bottom = min(writing.shape[0], table.y1 + row_height)
    # Only the table's band is worked on (cheaper); components are placed back in page coordinates.
    band = np.ascontiguousarray(writing[top:bottom, table.x0 : table.x1])
    joined = cv2.morphologyEx(band, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge)))
    joined = cv2.morphologyEx(joined, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (bridge, 1)))
    count, band_labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    labels = np.zeros(writing.shape, dtype=np.int32)
    labels[top:bottom, table.x0 : table.x1] = band_labels
    stats = stats.copy()
    stats[:, cv2.CC_STAT_LEFT] += table.x0
    stats[:, cv2.CC_STAT_TOP] += top
    labels, stats = _split_touching_writing(labels, stats, layout)
    count = len(stats)
    cells = tuple((li, fi) for li in range(len(layout.lines)) for fi in range(len(layout.fields)))
    votes = np.zeros((len(cells), count), dtype=np.int64)
    for index, (li, fi) in enumerate(cells):
        box = layout.cell(layout.lines[li], layout.fields[fi])
        votes[index] = np.bincount(labels[box.y0 : box.y1, box.x0 : box.x1].ravel(), minlength=count)
    votes[:, 0] = 0
    cell_of = np.where(votes.max(axis=0) > 0, votes.argmax(axis=0), -1)
    cell_of[0] = -1
    cell_of = _attach_overflow_tails(votes, cell_of, stats, layout)
    return Strokes(labels, stats, cell_of, cells, row_height, pale)


def _attach_overflow_tails(votes: np.ndarray, cell_of: np.ndarray, stats: np.ndarray, layout: SheetLayout) -> np.ndarray:
    """Writing that only hugs a rule (the loops or letter tops of a big signature from the line next door,
    often cut into pieces where the rule was removed) goes with the neighbour beyond that rule when the
    neighbour holds far more writing: it must not make a blank line look signed."""
    n_fields = len(layout.fields)
    cell_of = cell_of.copy()
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    # A strike-out is wide and heavy; it says nothing about who owns a letter, so it does not count as mass.
    writing = (cell_of >= 0) & (stats[:, cv2.CC_STAT_WIDTH] < 0.5 * layout.table.width)
    mass = np.bincount(cell_of[writing], weights=areas[writing], minlength=len(votes))
    near = 2 * layout.ruling_px + 6
    for cell in np.flatnonzero(mass):
        members = np.flatnonzero(writing & (cell_of == cell))
        line = layout.lines[cell // n_fields]
        box = layout.cell(line, layout.fields[cell % n_fields])
        top = int(stats[members, cv2.CC_STAT_TOP].min())
        bottom = int((stats[members, cv2.CC_STAT_TOP] + stats[members, cv2.CC_STAT_HEIGHT]).max())
        if bottom - top >= 0.35 * box.height:
            continue  # writing of this cell in its own right, however small
        # Only across the rules between physical lines: a sub-cell's neighbours belong to the same signer.
        sides = ((cell - n_fields, box.y0 == line.y0 and top <= line.y0 + near),
                 (cell + n_fields, box.y1 == line.y1 and bottom >= line.y1 - near))
        for neighbour, at_rule in sides:
            if at_rule and 0 <= neighbour < len(votes) and mass[neighbour] >= 3 * mass[cell]:
                cell_of[members] = neighbour
                mass[neighbour] += mass[cell]
                mass[cell] = 0
                break
    return cell_of


def _split_touching_writing(labels: np.ndarray, stats: np.ndarray, layout: SheetLayout) -> tuple[np.ndarray, np.ndarray]:
    """Two people's writing that touch across a rule form one component; split it at the rule.

    An overflow tail is short (it reaches a third of the neighbour line at most) and stays with its owner;
    a part that fills most of its own line's height and holds a real amount of ink is writing of that line,
    however large the rest (a strike-out through the next line joins everything it touches).
    """
    table = layout.table
    bands = [(line.y0, line.y1) for line in layout.lines]
    count = len(stats)
    per_line = np.stack([np.bincount(labels[y0:y1, table.x0 : table.x1].ravel(), minlength=count) for y0, y1 in bands])
    per_line[:, 0] = 0
    row_height = float(np.median([y1 - y0 for y0, y1 in bands]))
    substantial = per_line >= 0.03 * row_height * row_height
    shared = np.flatnonzero(((per_line > 0).sum(axis=0) >= 2) & substantial.any(axis=0))
    new_stats = [row for row in stats]
    for label in shared:
        owner = int(per_line[:, label].argmax())
        for index, (y0, y1) in enumerate(bands):
            if index == owner or not substantial[index, label]:
                continue
            region = labels[y0:y1, table.x0 : table.x1]
            rows = np.flatnonzero((region == label).any(axis=1))
            if rows.size == 0 or (rows[-1] - rows[0]) < 0.55 * (y1 - y0):
                continue
            region[region == label] = len(new_stats)
            new_stats.append(np.zeros(5, dtype=stats.dtype))
    if len(new_stats) == count:
        return labels, stats
    stats = np.array(new_stats)
    for label in list(shared) + list(range(count, len(new_stats))):
        stats[label] = _stats_of(labels, label)
    return labels, stats


def _stats_of(labels: np.ndarray, label: int) -> np.ndarray:
    ys, xs = np.nonzero(labels == label)
    if ys.size == 0:
        return np.zeros(5, dtype=np.int32)
    return np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1, ys.size], dtype=np.int32)


def measure(strokes: Strokes, cell_index: int, box: Box, thresholds: InkThresholds) -> InkMeasure:
    """Presence of writing in one cell, from the strokes assigned to it (stray marks ignored)."""
    # Measured against the cell, not the whole line: in a line split into sub-rows, a spaced capital
    # ("D A V I D") is smaller than a fifth of the line but is writing.
    members = _members(strokes, cell_index, min_size=thresholds.mark_size * min(box.height, strokes.row_height))
    if not members:
        return InkMeasure(Presence.ABSENT, 0.0, 0.0)
    stats = strokes.stats[members]
    fraction = float(stats[:, cv2.CC_STAT_AREA].sum()) / max(box.width * box.height, 1)
    covered = np.zeros(box.width, dtype=bool)
    for x, w in zip(stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_WIDTH]):
        covered[max(0, x - box.x0) : max(0, x - box.x0 + w)] = True
    extent = float(covered.mean())
    return InkMeasure(_presence(fraction, extent, thresholds), round(fraction, 4), round(extent, 3))


def _presence(fraction: float, extent: float, t: InkThresholds) -> Presence:
    if extent >= t.present_extent and fraction >= t.present_fraction:
        return Presence.PRESENT
    if extent < t.absent_extent or fraction < t.absent_fraction:
        return Presence.ABSENT
    return Presence.MARGINAL


def cell_pixels(strokes: Strokes, cell_index: int, *, min_size: float) -> tuple[np.ndarray, Box] | None:
    """Mask of the strokes assigned to a cell (for a clean OCR crop) and their bounding box."""
    members = _members(strokes, cell_index, min_size=min_size)
    if not members:
        return None
    stats = strokes.stats[members]
    x0 = int(stats[:, cv2.CC_STAT_LEFT].min())
    y0 = int(stats[:, cv2.CC_STAT_TOP].min())
    x1 = int((stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH]).max())
    y1 = int((stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]).max())
    window = strokes.labels[y0:y1, x0:x1]
    return np.isin(window, members), Box(x0, y0, x1, y1)


def _members(strokes: Strokes, cell_index: int, *, min_size: float) -> list[int]:
    ids = np.flatnonzero(strokes.cell_of == cell_index)
    if ids.size == 0:
        return []
    stats = strokes.stats[ids]
    size = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    return [int(i) for i in ids[size >= min_size]]


def find_strike(writing: np.ndarray, layout: SheetLayout, line_index: int) -> bool:
    """A long, nearly level pen stroke through the line, across most of the table's width.

    A vertical smear first lets a stroke slanted by a few degrees (or wavy) stay continuous; then only
    level runs longer than any handwritten letter survive an opening; their total span decides.
    """
    line = layout.lines[line_index]
    height = line.y1 - line.y0
    inset = max(2, layout.ruling_px + 2)
    band = writing[line.y0 + inset : line.y1 - inset, layout.table.x0 : layout.table.x1]
    if band.size == 0 or not band.any():
        return False
    width = layout.table.width
    smeared = cv2.dilate(band, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, height // 8))))
    long_runs = cv2.morphologyEx(smeared, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(10, width // 8), 1)))
    span = np.count_nonzero(long_runs.any(axis=0))
    return span >= 0.45 * width
