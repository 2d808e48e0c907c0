"""Handwriting in the table: ruling and pre-printed content removed, strokes grouped, each stroke given to one cell.

A signature that overflows into the line above or below belongs to the line where most of its ink lies
(connected components are assigned whole), so it cannot make a blank neighbour look signed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scanner.context import PageContext
from scanner.settings import InkThresholds
from scanner.types import (
    Box,
    CellRef,
    FieldSpec,
    InkMeasure,
    LineBox,
    Presence,
    Role,
    SheetLayout,
)


@dataclass(frozen=True)
class Strokes:
    """Connected handwriting components, each assigned to one cell of the table or to none."""

    labels: np.ndarray  # component label per pixel (0 = background), table-sized page coordinates
    stats: np.ndarray  # cv2 stats per label
    cell_of: np.ndarray  # per label: index into cells, or -1
    cells: tuple[CellRef, ...]  # the cells strokes can be given to (SheetLayout.cell_refs)
    row_height: int

    def members(self, cell: CellRef, *, min_size: float) -> list[int]:
        """Labels of the cell's strokes whose width or height reaches min_size (pixels)."""
        ids = np.flatnonzero(self.cell_of == self.cells.index(cell))
        if ids.size == 0:
            return []
        stats = self.stats[ids]
        size = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
        return [int(i) for i in ids[size >= min_size]]


@dataclass(frozen=True)
class WritingMasks:
    """Handwriting (ink minus ruling and pre-printed content), and the pale pixels a crop may grow into."""

    writing: np.ndarray
    pale: np.ndarray  # slightly darker than paper, same removals: the thin, light parts of ballpoint strokes


@dataclass(frozen=True)
class Ink:
    """The ink stage's result for one page: handwriting, its pale pixels, and its strokes given to cells."""

    writing: np.ndarray
    pale: np.ndarray
    strokes: Strokes


@dataclass(frozen=True)
class StrokeMask:
    """Some strokes' pixels (True where they are) within their bounding box in page coordinates."""

    mask: np.ndarray
    box: Box


def find_ink(context: PageContext) -> Ink:
    """Handwriting with ruling and print removed, grouped into strokes that each belong to one cell."""
    found = writing_masks(context)
    return Ink(found.writing, found.pale, group_strokes(context, found.writing))


def writing_masks(context: PageContext) -> WritingMasks:
    """Ink minus ruling minus whatever is printed at the same place in most lines (and the same for pale ink)."""
    masks, layout = context.masks, context.layout
    ruling = _ruling_of_layout(context)
    grow = max(1, context.scale.rule_px // 2 + 1)
    not_ruling = cv2.bitwise_not(cv2.dilate(ruling, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)))
    writing = cv2.bitwise_and(masks.ink, not_ruling)
    pale = cv2.bitwise_and(masks.faint, not_ruling)
    for spec in layout.fields:
        printed = _printed_template(context, writing, spec)
        if printed is None:
            continue
        for line in layout.lines:
            cell = layout.cell(line, spec)
            for mask in (writing, pale):
                region = mask[cell.y0 : cell.y0 + printed.shape[0], cell.x0 : cell.x1]
                region[printed[: region.shape[0], : region.shape[1]] > 0] = 0
    return WritingMasks(writing, pale)


def grow_into_pale(mask: np.ndarray, box: Box, pale: np.ndarray, *, steps: int) -> StrokeMask:
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
    kernel = np.ones((3, 3), np.uint8)  # one step: the 8 neighbours (a connectivity, not a size)
    grown = seed
    for _ in range(steps):
        wider = cv2.dilate(grown, kernel) & allowed
        if np.array_equal(wider, grown):
            break
        grown = wider
    rows, cols = np.flatnonzero(grown.any(axis=1)), np.flatnonzero(grown.any(axis=0))
    trimmed = Box(grown_box.x0 + int(cols[0]), grown_box.y0 + int(rows[0]), grown_box.x0 + int(cols[-1]) + 1,
                  grown_box.y0 + int(rows[-1]) + 1)
    return StrokeMask(grown[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] > 0, trimmed)


@dataclass(frozen=True)
class _RuleSpan:
    """Where the layout says a horizontal rule is: its y and the x range it runs over."""

    y: int
    x0: int
    x1: int


def _ruling_of_layout(context: PageContext) -> np.ndarray:
    """Ruling pixels near the layout's own rules only: a tall handwritten I or a long signature stroke
    also survives a line-shaped opening, and must stay handwriting."""
    masks, layout = context.masks, context.layout
    # A photographed rule bows off its fitted position by about its thickness and a few pixels (4 at the reference).
    reach = 2 * context.scale.rule_px + context.scale.px(4)
    ruling = _horizontal_rules_near(context, _rule_spans(layout, masks.horizontal.shape[1]), reach=reach)
    top, bottom = max(0, layout.table.y0 - reach), layout.table.y1 + reach
    for x in {v for f in layout.fields for v in (f.x0, f.x1)}:
        cols = slice(max(0, x - reach), x + reach + 1)
        ruling[top:bottom, cols] = np.maximum(ruling[top:bottom, cols], masks.vertical[top:bottom, cols])
    return ruling


def _rule_spans(layout: SheetLayout, width: int) -> list[_RuleSpan]:
    """The rules between lines across the page; a sub-row's rule only over the fields it bounds (a name
    written across the middle of a whole-line cell is no rule, however level its strokes)."""
    spans = {_RuleSpan(y, 0, width) for line in layout.lines for y in (line.y0, line.y1)}
    full = {span.y for span in spans}
    for line in layout.lines:
        for spec in layout.fields:
            y = layout.cell(line, spec).y0
            if y not in full:
                spans.add(_RuleSpan(y, spec.x0, spec.x1))
    return sorted(spans, key=lambda span: (span.y, span.x0))


def _horizontal_rules_near(context: PageContext, spans: list[_RuleSpan], *, reach: int) -> np.ndarray:
    """The horizontal-run pixels within reach of the layout's rules that belong to a rule.

    The reach is generous because a photographed rule bows a few pixels away from its fitted position. But
    writing that sits just above a rule also leaves horizontal runs there: the feet of L and E, the bar
    of a Z, merged into one run by the faint mask's closing. Erasing those turns LEVY into "I FVY". So
    a run counts as ruling only where it is long (a rule crosses whole fields, a name's baseline does
    not) or where it lies on a rule's own rows.
    """
    horizontal = context.masks.horizontal
    ruling = np.zeros_like(horizontal)
    if not spans:
        return ruling
    # Only the band the rules span is labelled (the page beyond holds no layout rule).
    top, bottom = max(0, spans[0].y - reach), min(horizontal.shape[0], spans[-1].y + reach + 1)
    near = np.zeros((bottom - top, horizontal.shape[1]), horizontal.dtype)
    for span in spans:
        rows, cols = slice(max(top, span.y - reach), min(bottom, span.y + reach + 1)), slice(span.x0, span.x1)
        near[rows.start - top : rows.stop - top, cols] = horizontal[rows, cols]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=8)
    if count <= 1:
        return ruling
    long_run = stats[:, cv2.CC_STAT_WIDTH] >= context.settings.ink.rule_run_lines * context.scale.line_px
    on_rule_rows = np.zeros(count, dtype=bool)
    half = context.scale.rule_px // 2 + 1
    for span in spans:
        rows = slice(max(0, span.y - half - top), max(0, span.y + half + 1 - top))
        on_rule_rows[np.unique(labels[rows, span.x0 : span.x1])] = True
    keep = long_run | on_rule_rows
    keep[0] = False
    ruling[top:bottom] = np.where(keep[labels], near, 0)
    return ruling


def _printed_template(context: PageContext, writing: np.ndarray, spec: FieldSpec) -> np.ndarray | None:
    """Pixels inked in most lines of this field: pre-printed labels and numbers, never handwriting."""
    layout, thresholds = context.layout, context.settings.ink
    if len(layout.lines) < thresholds.min_template_lines:
        return None
    cells = [layout.cell(line, spec) for line in layout.lines]
    height = min(c.height for c in cells)
    stack = np.stack([writing[c.y0 : c.y0 + height, c.x0 : c.x1] > 0 for c in cells])
    share = stack.mean(axis=0)
    # Printed ink is in (nearly) every line; handwriting overlaps by chance in a few at most.
    printed = (share >= thresholds.printed_share).astype(np.uint8)
    if not printed.any():
        return None
    # The print's anti-aliased and jittered edge (2 px at the reference) goes with it.
    size = context.scale.odd_px(5)
    return cv2.dilate(printed, np.ones((size, size), np.uint8))


def group_strokes(context: PageContext, writing: np.ndarray) -> Strokes:
    """Components of the handwriting, each given whole to the cell holding most of its pixels."""
    layout, scale = context.layout, context.scale
    row_height = scale.row_px
    # Removing a rule cuts strokes that cross it; a short closing (the rule and 3 px at the reference) joins them.
    bridge = 2 * scale.rule_px + scale.px(3)
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
    labels, stats = _split_touching_writing(context, labels, stats)
    count = len(stats)
    cells = layout.cell_refs()
    votes = np.zeros((len(cells), count), dtype=np.int64)
    for index, cell in enumerate(cells):
        box = layout.box(cell)
        votes[index] = np.bincount(labels[box.y0 : box.y1, box.x0 : box.x1].ravel(), minlength=count)
    votes[:, 0] = 0
    cell_of = np.where(votes.max(axis=0) > 0, votes.argmax(axis=0), -1)
    cell_of[0] = -1
    cell_of = _attach_overflow_tails(context, votes, cell_of, stats)
    labels, stats, cell_of = _signature_parts(context, labels, stats, cell_of)
    return Strokes(labels, stats, cell_of, cells, row_height)


def _signature_parts(context: PageContext, labels: np.ndarray, stats: np.ndarray,
                     cell_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A signature in a sub-row that runs on into the line's sub-row below (ADDRESS under SIGNATURE) lies
    mostly there, but still signs its line: the part of it in the signature cell, when it is a real amount
    of writing, is split off and given to that cell. Only within a line (overflow across lines is
    _attach_overflow_tails' and _split_touching_writing's), and never a strike-out."""
    layout, thresholds = context.layout, context.settings.ink
    cells = layout.cell_refs()
    field = next((i for i, f in enumerate(layout.fields) if f.role is Role.SIGNATURE), None)
    if field is None or (layout.fields[field].top, layout.fields[field].bottom) == (0.0, 1.0):
        return labels, stats, cell_of
    position = {cell: index for index, cell in enumerate(cells)}
    area = thresholds.shared_part_area * context.scale.line_px ** 2
    narrow = stats[:, cv2.CC_STAT_WIDTH] < thresholds.strike_out_width * layout.table.width
    new_stats, owners = list(stats), list(cell_of)
    for line in range(len(layout.lines)):
        target = position[CellRef(line, field)]
        box = layout.box(cells[target])
        window = labels[box.y0 : box.y1, box.x0 : box.x1]
        for label in np.unique(window[window > 0]):
            owner = cell_of[label]
            if owner < 0 or owner == target or cells[owner].line != line or not narrow[label]:
                continue
            part = window == label
            rows = np.flatnonzero(part.any(axis=1))
            if part.sum() < area or rows[-1] - rows[0] < thresholds.signature_part_height * box.height:
                continue
            window[part] = len(new_stats)
            new_stats.append(_stats_of(labels, len(new_stats)))
            owners.append(target)
            new_stats[label] = _stats_of(labels, label)
    if len(new_stats) == len(stats):
        return labels, stats, cell_of
    return labels, np.array(new_stats), np.array(owners)


def _attach_overflow_tails(context: PageContext, votes: np.ndarray, cell_of: np.ndarray,
                           stats: np.ndarray) -> np.ndarray:
    """Writing that only hugs a rule (the loops or letter tops of a big signature from the line next door,
    often cut into pieces where the rule was removed) goes with the neighbour beyond that rule when the
    neighbour holds far more writing: it must not make a blank line look signed."""
    layout, thresholds = context.layout, context.settings.ink
    cells = layout.cell_refs()
    position = {cell: index for index, cell in enumerate(cells)}
    cell_of = cell_of.copy()
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    # A strike-out is wide and heavy; it says nothing about who owns a letter, so it does not count as mass.
    writing = (cell_of >= 0) & (stats[:, cv2.CC_STAT_WIDTH] < thresholds.strike_out_width * layout.table.width)
    mass = np.bincount(cell_of[writing], weights=areas[writing], minlength=len(votes))
    # Hugging a rule: within its thickness and a few pixels (6 at the reference) of it.
    near = 2 * context.scale.rule_px + context.scale.px(6)
    # Cut by the rule's removal: a stroke's end within the rule's thickness and a few pixels (4 at the
    # reference) of it (writing that only comes near a rule was not cut by it).
    cut = context.scale.rule_px + context.scale.px(4)
    for index in np.flatnonzero(mass):
        members = np.flatnonzero(writing & (cell_of == index))
        cell = cells[index]
        line = layout.lines[cell.line]
        box = layout.box(cell)
        top = int(stats[members, cv2.CC_STAT_TOP].min())
        bottom = int((stats[members, cv2.CC_STAT_TOP] + stats[members, cv2.CC_STAT_HEIGHT]).max())
        # Writing this tall is the cell's own, however small. In a half-height sub-row, a signature's loop
        # spilling from the next line is taller than that, though still under half the sub-row: there it
        # moves only when it plainly continues a far heavier stroke cut at the rule.
        height = bottom - top
        own = height >= thresholds.own_writing_height * box.height
        sub_row = box.height < line.y1 - line.y0
        if own and not (sub_row and height < thresholds.sub_row_tail_height * box.height):
            continue
        # Only across the rules between physical lines: a sub-cell's neighbours belong to the same signer.
        sides = ((_across_rule(layout, cell, upward=True), box.y0 == line.y0 and top <= line.y0 + near, line.y0),
                 (_across_rule(layout, cell, upward=False), box.y1 == line.y1 and bottom >= line.y1 - near, line.y1))
        for beyond, at_rule, rule_y in sides:
            neighbour = position.get(beyond)
            if not (at_rule and neighbour is not None
                    and mass[neighbour] >= thresholds.overflow_mass_ratio * mass[index]):
                continue
            # A tail continues a stroke of the neighbour's cut at the rule: a name written high in its own
            # cell under a signed line is not one (the neighbour's writing there stops short of the rule).
            continued = _continued_area(stats, members, np.flatnonzero(writing & (cell_of == neighbour)), rule_y,
                                        near=near, cut=cut)
            tail_area = int(areas[members].sum())
            if continued > 0 and continued >= (thresholds.overflow_mass_ratio if own else 1) * tail_area:
                cell_of[members] = neighbour
                mass[neighbour] += mass[index]
                mass[index] = 0
                break
    return cell_of


def _across_rule(layout: SheetLayout, cell: CellRef, *, upward: bool) -> CellRef | None:
    """The cell just across the rule above (or below) this one, in the same column: in a line split into
    sub-rows that is the neighbour's bottom (or top) sub-row, whatever its role (a signature written in the
    ADDRESS sub-row spills into the next line's SIGNATURE sub-row)."""
    other = cell.line - 1 if upward else cell.line + 1
    if not 0 <= other < len(layout.lines):
        return None
    box = layout.box(cell)
    edge = layout.lines[other].y1 if upward else layout.lines[other].y0
    for field in range(len(layout.fields)):
        candidate = CellRef(other, field)
        there = layout.box(candidate)
        if (there.y1 if upward else there.y0) == edge and there.x0 < box.x1 and box.x0 < there.x1:
            return candidate
    return None


def _continued_area(stats: np.ndarray, tail: np.ndarray, neighbour: np.ndarray, rule_y: int, *, near: int,
                    cut: int) -> int:
    """Ink of the neighbour's strokes that the rule's removal cut from the tail's: the tail's strokes that end
    at the rule at `rule_y` (within `cut`), and the neighbour's reaching it (within `near`) where they do,
    overlapping them across (with `near` to spare). A tail is the lesser side of such a cut (a signature's
    body is above its loop); a name written high in its cell under a signed line continues nothing."""
    def reaching(members: np.ndarray, within: int) -> np.ndarray:
        top = stats[members, cv2.CC_STAT_TOP]
        bottom = top + stats[members, cv2.CC_STAT_HEIGHT]
        return members[(top <= rule_y + within) & (bottom >= rule_y - within)]

    starts = reaching(tail, cut)
    continued = [a for a in reaching(neighbour, near) if any(_overlap_across(stats, a, b, near) for b in starts)]
    return int(stats[continued, cv2.CC_STAT_AREA].sum()) if continued else 0


def _overlap_across(stats: np.ndarray, a: int, b: int, slack: int) -> bool:
    a0, b0 = stats[a, cv2.CC_STAT_LEFT], stats[b, cv2.CC_STAT_LEFT]
    return bool(a0 - slack <= b0 + stats[b, cv2.CC_STAT_WIDTH] and b0 <= a0 + stats[a, cv2.CC_STAT_WIDTH] + slack)


def _split_touching_writing(context: PageContext, labels: np.ndarray,
                            stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two people's writing that touch across a rule form one component; split it at the rule.

    An overflow tail is short (it reaches a third of the neighbour line at most) and stays with its owner;
    a part that fills most of its own line's height and holds a real amount of ink is writing of that line,
    however large the rest (a strike-out through the next line joins everything it touches).
    """
    table, thresholds = context.layout.table, context.settings.ink
    bands = [(line.y0, line.y1) for line in context.layout.lines]
    count = len(stats)
    per_line = np.stack([np.bincount(labels[y0:y1, table.x0 : table.x1].ravel(), minlength=count) for y0, y1 in bands])
    per_line[:, 0] = 0
    row_height = context.scale.line_px
    substantial = per_line >= thresholds.shared_part_area * row_height * row_height
    shared = np.flatnonzero(((per_line > 0).sum(axis=0) >= 2) & substantial.any(axis=0))
    new_stats = [row for row in stats]
    for label in shared:
        owner = int(per_line[:, label].argmax())
        for index, (y0, y1) in enumerate(bands):
            if index == owner or not substantial[index, label]:
                continue
            region = labels[y0:y1, table.x0 : table.x1]
            rows = np.flatnonzero((region == label).any(axis=1))
            if rows.size == 0 or (rows[-1] - rows[0]) < thresholds.shared_part_height * (y1 - y0):
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


def measure(strokes: Strokes, cell: CellRef, box: Box, thresholds: InkThresholds) -> InkMeasure:
    """Presence of writing in one cell, from the strokes assigned to it (stray marks ignored)."""
    # Measured against the cell, not the whole line: in a line split into sub-rows, a spaced capital
    # ("D A V I D") is smaller than a fifth of the line but is writing.
    members = strokes.members(cell, min_size=thresholds.mark_size * min(box.height, strokes.row_height))
    if not members:
        return InkMeasure(Presence.ABSENT, 0.0, 0.0)
    return _measured(strokes.stats[members], box, thresholds)


def _measured(stats: np.ndarray, box: Box, thresholds: InkThresholds) -> InkMeasure:
    """Presence from the stats (page coordinates) of the strokes counted in a cell: the share of the cell they
    ink, and the share of its width they span."""
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


def pale_writing(context: PageContext, ink: Ink, box: Box) -> InkMeasure:
    """Writing in the cell's box that is pale all through: strokes of the pale mask with no dark ink in or
    beside them, measured as `measure` measures dark ones. A pale pen (a worn ballpoint, a phone photo's glare)
    can leave a whole line's name and signature lighter than the ink threshold; called blank, a signer would be
    dropped without anyone looking. (A neighbour's dark overflow is dark ink, so it is not counted here.)"""
    thresholds = context.settings.ink
    dark = ink.writing[box.y0 : box.y1, box.x0 : box.x1]
    # A dark stroke's anti-aliased edge (a couple of pixels at the reference) is pale too: not a pale stroke.
    edge = 2 * context.scale.px(2) + 1
    near_dark = cv2.dilate(dark, np.ones((edge, edge), np.uint8)) > 0
    only_pale = ((ink.pale[box.y0 : box.y1, box.x0 : box.x1] > 0) & ~near_dark).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(only_pale, connectivity=8)
    stats = stats[1:]
    size = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    kept = stats[size >= thresholds.mark_size * min(box.height, ink.strokes.row_height)]
    if len(kept) == 0:
        return InkMeasure(Presence.ABSENT, 0.0, 0.0)
    kept = kept.copy()
    kept[:, cv2.CC_STAT_LEFT] += box.x0  # to page coordinates, as _measured takes them
    return _measured(kept, box, thresholds)


def cell_pixels(strokes: Strokes, cell: CellRef, *, min_size: float) -> StrokeMask | None:
    """Mask of the strokes assigned to a cell (for a clean OCR crop) and their bounding box; None if it has none."""
    members = strokes.members(cell, min_size=min_size)
    if not members:
        return None
    stats = strokes.stats[members]
    x0 = int(stats[:, cv2.CC_STAT_LEFT].min())
    y0 = int(stats[:, cv2.CC_STAT_TOP].min())
    x1 = int((stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH]).max())
    y1 = int((stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]).max())
    window = strokes.labels[y0:y1, x0:x1]
    return StrokeMask(np.isin(window, members), Box(x0, y0, x1, y1))


def cell_pixels_within(strokes: Strokes, box: Box, *, min_size: float) -> StrokeMask | None:
    """Mask of the stroke pixels inside a cell's box, whoever owns their strokes, cut to their bounding box;
    None if there are none. For a struck line: its strike joins the writing of every cell it crosses into one
    stroke, which cell_pixels would hand whole to one cell (the zip and date read as one "830003/20/26")."""
    window = strokes.labels[box.y0 : box.y1, box.x0 : box.x1]
    labels = np.unique(window[window > 0])
    if labels.size == 0:
        return None
    stats = strokes.stats[labels]
    big = labels[np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= min_size]
    inside = np.isin(window, big)
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        return None
    cut = Box(box.x0 + int(cols[0]), box.y0 + int(rows[0]), box.x0 + int(cols[-1]) + 1, box.y0 + int(rows[-1]) + 1)
    return StrokeMask(inside[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], cut)


def find_strike(context: PageContext, writing: np.ndarray, line_index: int) -> bool:
    """A long, nearly level pen stroke through the line, across most of the table's width.

    A vertical smear first lets a stroke slanted by a few degrees (or wavy) stay continuous; then only
    level runs longer than any handwritten letter survive an opening; their total span decides.
    """
    layout = context.layout
    line = layout.lines[line_index]
    needed = context.settings.ink.strike_span * layout.table.width
    in_writing = _level_runs(context, writing, line)
    span = np.count_nonzero(in_writing.any(axis=0))
    if span >= needed or span < needed / 3:
        return span >= needed
    # A strike along a sub-row's rule (the city form's SIGNATURE/ADDRESS rule lies at mid-line, where people
    # strike) was erased with the rule. Followed through all ink, it runs on from the writing's level runs
    # across that cell; a rule alone never does (it is no writing, and ends at its cell's divider).
    in_ink = _level_runs(context, context.masks.ink, line)
    count, labels = cv2.connectedComponents(in_ink, connectivity=8)
    joined = np.setdiff1d(np.unique(labels[in_writing > 0]), [0])
    return count > 1 and np.count_nonzero(np.isin(labels, joined).any(axis=0)) >= needed


def _level_runs(context: PageContext, mask: np.ndarray, line: LineBox) -> np.ndarray:
    """Long, nearly level runs of the mask in the line (off its rules), rejoined across the column dividers."""
    layout, scale = context.layout, context.scale
    height = line.y1 - line.y0
    # Off the rules: their thickness and a little more (2 px at the reference), where removal leaves stubs.
    inset = max(scale.px(2), scale.rule_px + scale.px(2))
    band = mask[line.y0 + inset : line.y1 - inset, layout.table.x0 : layout.table.x1]
    if band.size == 0 or not band.any():
        return np.zeros_like(band)
    # An eighth of the line tall (at least 3 px at the reference); longer than a letter is wide (at least 10).
    smear = max(scale.px(3), height // 8)
    smeared = _bridge_dividers(context, cv2.dilate(band, cv2.getStructuringElement(cv2.MORPH_RECT, (1, smear))))
    level = cv2.getStructuringElement(cv2.MORPH_RECT, (max(scale.px(10), layout.table.width // 8), 1))
    return cv2.morphologyEx(smeared, cv2.MORPH_OPEN, level)


def _bridge_dividers(context: PageContext, band: np.ndarray) -> np.ndarray:
    """A stroke across the table is cut where each column divider was removed; in narrow columns (DATE,
    WARD) the pieces are shorter than the level-run test. Rejoin it where it reaches both sides of a gap."""
    layout, scale = context.layout, context.scale
    # As far as the divider's removal reached: its thickness on each side and a few pixels (4 at the reference).
    reach = 2 * scale.rule_px + scale.px(4)
    bridged = band.copy()
    for x in sorted({v - layout.table.x0 for f in layout.fields for v in (f.x0, f.x1)}):
        left, right = x - reach - 1, x + reach + 1
        if left < 0 or right >= band.shape[1]:
            continue
        rows = (band[:, left] > 0) & (band[:, right] > 0)
        bridged[rows, left : right + 1] = 255
    return bridged

