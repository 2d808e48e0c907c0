"""A line of the table → its LineReading: name and signature ink, strike-out, handwriting read, status and
the reasons a volunteer should look at it."""

from __future__ import annotations

import cv2
import numpy as np

from scanner.context import PageContext
from scanner.ink import (
    Ink,
    StrokeMask,
    cell_pixels,
    cell_pixels_within,
    find_strike,
    grow_into_pale,
    measure,
    pale_writing,
)
from scanner.ocr import TextKind
from scanner.types import (
    TEXT_ROLES, CellRef, InkMeasure, LineReading, LineStatus, Presence, ReviewReason, Role, TextRead,
)

_KIND_OF_ROLE = {Role.ADDRESS: TextKind.ADDRESS, Role.ZIP: TextKind.ZIP, Role.DATE: TextKind.DATE,
                 Role.EMAIL: TextKind.EMAIL, Role.WARD: TextKind.ADDRESS}
_NOTHING = TextRead("", 0.0)


def read_lines(context: PageContext, ink: Ink) -> tuple[LineReading, ...]:
    """Every line of the layout, top to bottom."""
    return tuple(_read_line(context, ink, index) for index in range(len(context.layout.lines)))


def _read_line(context: PageContext, ink: Ink, index: int) -> LineReading:
    layout = context.layout
    name_cell = layout.cell_ref(index, Role.NAME)
    name_ink = _measure(context, ink, name_cell)
    signature = _measure(context, ink, layout.cell_ref(index, Role.SIGNATURE))
    struck = find_strike(context, ink.writing, index)
    name = _NOTHING
    if name_ink.presence is not Presence.ABSENT and not struck:
        name = _read_text(context, ink, name_cell, TextKind.NAME)
    fields: dict[Role, TextRead] = {}
    for role in TEXT_ROLES:
        cell = layout.cell_ref(index, role)
        # Only a cell holding a stroke of writing size is read (the stray-mark rule of presence): a speck of
        # dust or toner in an empty address or date cell was read as "o" or ".". On a struck line the strike
        # joins its cells' writing into strokes owned by one cell: each cell's own pixels are read instead.
        if cell is not None:
            # Dark strokes only: _measure's look for pale writing cannot give a field cell any extent.
            written = struck or measure(ink.strokes, cell, layout.box(cell), context.settings.ink).extent > 0
            kind = _KIND_OF_ROLE[role]
            fields[role] = _read_text(context, ink, cell, kind, own_box_only=struck) if written else _NOTHING
    status = decide_status(name_ink.presence, signature.presence, struck)
    reasons = review_reasons(status, name_ink.presence, signature.presence, name, context.accept_name_at)
    if layout.guessed_roles:
        reasons += (ReviewReason.LAYOUT_GUESSED,)
    return LineReading(layout.lines[index].number, status, name, fields, signature, name_ink, struck, bool(reasons),
                       reasons)


def decide_status(name: Presence, signature: Presence, struck: bool) -> LineStatus:
    """The line's status from the two ink verdicts; anything marginal stays uncertain."""
    if struck:
        return LineStatus.STRUCK
    if Presence.MARGINAL in (name, signature):
        return LineStatus.UNCERTAIN
    match (name is Presence.PRESENT, signature is Presence.PRESENT):
        case (True, True):
            return LineStatus.SIGNED
        case (True, False):
            return LineStatus.NAME_ONLY
        case (False, True):
            return LineStatus.SIGNATURE_ONLY
        case _:
            return LineStatus.BLANK


def review_reasons(status: LineStatus, name: Presence, signature: Presence, read: TextRead,
                   accept_at: float) -> tuple[ReviewReason, ...]:
    """Why a volunteer should look at this line (empty: the machine's verdict stands)."""
    reasons: list[ReviewReason] = []
    if signature is Presence.MARGINAL:
        reasons.append(ReviewReason.MARGINAL_SIGNATURE)
    if name is Presence.MARGINAL:
        reasons.append(ReviewReason.MARGINAL_NAME)
    match status:
        case LineStatus.STRUCK:
            reasons.append(ReviewReason.STRUCK)
        case LineStatus.NAME_ONLY:
            reasons.append(ReviewReason.NAME_WITHOUT_SIGNATURE)
        case LineStatus.SIGNATURE_ONLY:
            reasons.append(ReviewReason.SIGNATURE_WITHOUT_NAME)
        case LineStatus.SIGNED | LineStatus.UNCERTAIN | LineStatus.BLANK:
            pass
    named = status in (LineStatus.SIGNED, LineStatus.NAME_ONLY, LineStatus.UNCERTAIN) and name is not Presence.ABSENT
    if named and read.confidence < accept_at:
        reasons.append(ReviewReason.LOW_NAME_CONFIDENCE)
    return tuple(reasons)


def _measure(context: PageContext, ink: Ink, cell: CellRef | None) -> InkMeasure:
    """The cell's writing; a cell with no dark writing but pale writing enough to be present is marginal: the
    line goes to a person (uncertain), never silently blank."""
    if cell is None:
        return InkMeasure(Presence.ABSENT, 0.0, 0.0)
    box = context.layout.box(cell)
    found = measure(ink.strokes, cell, box, context.settings.ink)
    if found.presence is Presence.ABSENT and pale_writing(context, ink, box).presence is Presence.PRESENT:
        return InkMeasure(Presence.MARGINAL, found.ink_fraction, found.extent)
    return found


def _read_text(context: PageContext, ink: Ink, cell: CellRef | None, kind: TextKind, *,
               own_box_only: bool = False) -> TextRead:
    """The cell's writing read; own_box_only (a struck line's fields): only the pixels inside the cell's box."""
    if cell is None:
        return _NOTHING
    row_px = context.scale.row_px
    # Small marks stay in the crop: accents and i-dots are letters' parts (specks far from the writing are
    # dropped later, with the crop's main line of writing).
    if own_box_only:
        found = cell_pixels_within(ink.strokes, context.layout.box(cell), min_size=0.02 * row_px)
    else:
        found = cell_pixels(ink.strokes, cell, min_size=0.02 * row_px)
    if found is None:
        return _NOTHING
    # Pale pixels within a stroke's length of the writing: about an eighth of a line (at least 2 px at the
    # reference).
    grown = grow_into_pale(found.mask, found.box, ink.pale, steps=max(context.scale.px(2), round(row_px / 8)))
    return context.reader.read(_clean_crop(context, grown), kind)


def _clean_crop(context: PageContext, strokes: StrokeMask) -> np.ndarray:
    """The cell's gray pixels where its own strokes are, white everywhere else (no ruling, labels or neighbours)."""
    box = strokes.box
    window = context.gray[box.y0 : box.y1, box.x0 : box.x1]
    # A stroke's anti-aliased edge (a pixel at the reference) is part of it.
    size = context.scale.odd_px(2)
    keep = cv2.dilate(strokes.mask.astype(np.uint8), np.ones((size, size), np.uint8)) > 0
    crop = np.full_like(window, 255)
    crop[keep] = window[keep]
    return crop
