"""Name each column's role from its header text or from the label printed inside every cell."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from scanner.grid import Grid, Masks
from scanner.ocr import OcrEngine, TextKind
from scanner.types import Box, FieldSpec, LineBox, Role, SheetLayout

# Checked in order: "PRINTED NAME OF SIGNER" is a name, "SIGNATURE OF PETITIONER" a signature.
_KEYWORDS: tuple[tuple[Role, tuple[str, ...]], ...] = (
    (Role.EMAIL, ("EMAIL", "E-MAIL")),
    (Role.ZIP, ("ZIP", "POSTAL", "ZIPCODE")),
    (Role.DATE, ("DATE",)),
    (Role.ADDRESS, ("ADDRESS", "STREET", "RESIDENCE")),
    (Role.WARD, ("WARD",)),
    (Role.NAME, ("PRINT", "PRINTED")),
    (Role.SIGNATURE, ("SIGNATURE",)),
    (Role.NAME, ("NAME",)),
    (Role.SIGNATURE, ("SIGN",)),
    (Role.LINE_NUMBER, ("LINE", "NO", "#", "NUMBER")),
)


def role_from_text(text: str) -> Role | None:
    """The role a header or label names, tolerating OCR's small misreadings."""
    words = re.findall(r"[A-Z#@-]+", text.upper())
    # OCR splits printed words ("EM AIL", "SIGN ATURE"): try each neighbouring pair joined as well.
    words += [a + b for a, b in zip(words, words[1:])]
    for role, keywords in _KEYWORDS:
        for keyword in keywords:
            if any(_similar(word, keyword) for word in words):
                return role
    return None


def _similar(word: str, keyword: str) -> bool:
    if len(keyword) <= 4:
        return word == keyword
    return word == keyword or difflib.SequenceMatcher(None, word, keyword).ratio() >= 0.8


def build_layout(gray: np.ndarray, masks: Masks, grid: Grid, engine: OcrEngine) -> SheetLayout:
    """Roles from labels printed in every line when there are any (they name their own cells), else from
    the header row; what neither names is guessed by position and flagged."""
    rules = list(grid.line_rules)
    cells = _field_boxes(grid)
    lines = _lines(rules)
    labels = {cell: _label_text(gray, masks, lines, *cell[1:], engine) for cell in cells}
    label_roles = {cell: role_from_text(text) for cell, text in labels.items()}
    header = grid.header
    header_roles: dict[tuple[int, int], Role] = {}
    if not any(role in (Role.NAME, Role.SIGNATURE) for role in label_roles.values()):
        header_roles = _header_roles(gray, masks, grid, header, engine) if header else {}
        if not header_roles and _first_line_is_header(gray, masks, grid, engine):
            header = Box(grid.table.x0, rules[0], grid.table.x1, rules[1])
            header_roles = _header_roles(gray, masks, grid, header, engine)
            rules = rules[1:]
            lines = _lines(rules)
    fields = []
    for cell in cells:
        slot, x0, x1, top, bottom = cell
        role = label_roles[cell] or (header_roles.get((x0, x1)) if slot == 0 else None)
        fields.append(FieldSpec(role or Role.OTHER, x0, x1, top, bottom, labels[cell]))
    fields, guessed = _fill_missing_roles(fields, grid.table.width)
    table = Box(grid.table.x0, header.y0 if header else rules[0], grid.table.x1, rules[-1])
    return SheetLayout(table, lines, tuple(fields), header, grid.ruling_px, "detected", guessed)


def _lines(rules: list[int]) -> tuple[LineBox, ...]:
    return tuple(LineBox(i + 1, upper, lower) for i, (upper, lower) in enumerate(zip(rules, rules[1:])))


def _field_boxes(grid: Grid) -> list[tuple[int, int, int, float, float]]:
    cells = []
    for slot, columns in enumerate(grid.slot_columns):
        top, bottom = grid.slot_bounds[slot], grid.slot_bounds[slot + 1]
        for x0, x1 in zip(columns, columns[1:]):
            cells.append((slot, x0, x1, top, bottom))
    return cells


def _header_roles(gray, masks, grid: Grid, header: Box, engine: OcrEngine) -> dict[tuple[int, int], Role]:
    """Each column's role from its header text; a role claimed by two columns is not trusted for either."""
    roles: dict[tuple[int, int], Role] = {}
    for x0, x1 in zip(grid.slot_columns[0], grid.slot_columns[0][1:]):
        role = role_from_text(_read_label(gray, masks, Box(x0, header.y0, x1, header.y1), engine))
        if role is not None:
            roles[(x0, x1)] = role
    claimed = Counter(roles.values())
    roles = {column: role for column, role in roles.items() if claimed[role] == 1}
    return roles if any(r in (Role.NAME, Role.SIGNATURE) for r in roles.values()) else {}


def _first_line_is_header(gray, masks, grid: Grid, engine: OcrEngine) -> bool:
    """The evenly spaced run can include a header row of the same height; a header's words do not repeat below."""
    rules = grid.line_rules
    if len(rules) < 4:
        return False
    first = [role_from_text(_read_label(gray, masks, Box(x0, rules[0], x1, rules[1]), engine))
             for x0, x1 in zip(grid.slot_columns[0], grid.slot_columns[0][1:])]
    if not any(r in (Role.NAME, Role.SIGNATURE) for r in first):
        return False
    second = [role_from_text(_read_label(gray, masks, Box(x0, rules[1], x1, rules[2]), engine))
              for x0, x1 in zip(grid.slot_columns[0], grid.slot_columns[0][1:])]
    return not any(r in (Role.NAME, Role.SIGNATURE) for r in second)


def _label_text(gray, masks, lines, x0, x1, top, bottom, engine: OcrEngine) -> str:
    """OCR of what is printed in every line of this field. Only pixels inked in nearly every line are kept
    (handwriting never repeats); there the median grey of all lines is the label, anti-aliasing and all."""
    if len(lines) < 3:
        return ""
    height = min(round((ln.y1 - ln.y0) * (bottom - top)) for ln in lines)
    inked, greys = [], []
    for line in lines:
        y0 = line.y0 + round(top * (line.y1 - line.y0))
        box = Box(x0, y0, x1, y0 + height)
        inked.append(_clean(masks.faint, masks, box, paper=0) > 0)
        greys.append(gray[box.y0 : box.y1, box.x0 : box.x1])
    printed = np.mean(np.stack(inked), axis=0) >= 0.85
    if printed.sum() < 20 or not _word_shaped(printed):
        return ""
    keep = cv2.dilate(printed.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    template = np.where(keep, np.median(np.stack(greys), axis=0), 255).astype(np.uint8)
    return _ocr_label(template, engine, min_confidence=0.0)


def _word_shaped(printed: np.ndarray) -> bool:
    """A label is a word or more, wider than tall; a lone repeated dot (after printed line numbers) is not."""
    ys, xs = np.nonzero(printed)
    return (xs.max() - xs.min() + 1) >= 2.5 * (ys.max() - ys.min() + 1)


def _read_label(gray, masks, box: Box, engine: OcrEngine) -> str:
    return _ocr_label(_clean(gray, masks, box), engine)


def _clean(image: np.ndarray, masks: Masks, box: Box, *, paper: int = 255) -> np.ndarray:
    """The box's pixels with its own border rules set to paper; inside, bold small print can look like a rule."""
    crop = image[box.y0 : box.y1, box.x0 : box.x1].copy()
    if crop.size == 0:  # a header box squeezed to nothing at the page edge: nothing to read
        return np.full((1, 1), paper, dtype=image.dtype)
    ruling = cv2.bitwise_or(masks.horizontal[box.y0 : box.y1, box.x0 : box.x1],
                            masks.vertical[box.y0 : box.y1, box.x0 : box.x1])
    reach = max(4, min(crop.shape) // 8)
    ruling[reach:-reach, reach:-reach] = 0
    crop[cv2.dilate(ruling, np.ones((3, 3), np.uint8)) > 0] = paper
    return crop


@dataclass(frozen=True)
class _LabelTry:
    kind: TextKind
    cap_height: int
    binarize: bool


# Cheapest first; blurred small print (a phone photo) reads only as a single word, large and grey.
_LABEL_TRIES = (_LabelTry(TextKind.LABEL, 30, True), _LabelTry(TextKind.LABEL, 40, True),
                _LabelTry(TextKind.LABEL_WORD, 30, True), _LabelTry(TextKind.LABEL, 22, True),
                _LabelTry(TextKind.LABEL_WORD, 48, False), _LabelTry(TextKind.LABEL, 48, False))


def _ocr_label(crop: np.ndarray, engine: OcrEngine, *, min_confidence: float = 60.0) -> str:
    """Printed label text. Tesseract is fickle on small, blurred print, so a few scales are tried until
    one reads a known keyword. Several tries invite a lucky misreading of noise, so a read must also be
    confident (less is asked of a template that only holds what is printed in every line)."""
    if crop.size == 0:
        return ""
    flat = _flatten(crop)
    _, ink = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    heights = [s[cv2.CC_STAT_HEIGHT] for s in stats[1:] if s[cv2.CC_STAT_AREA] >= 10]
    if not heights or flat.min() > 200 or np.count_nonzero(ink) < 0.002 * ink.size:
        return ""
    ys, xs = np.nonzero(ink)
    trimmed = flat[max(0, ys.min() - 3) : ys.max() + 4, max(0, xs.min() - 3) : xs.max() + 4]
    text = ""
    for attempt in _LABEL_TRIES:
        factor = attempt.cap_height / float(np.median(heights))
        scaled = cv2.resize(trimmed, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
        if attempt.binarize:
            _, scaled = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        result = engine.read_line(cv2.copyMakeBorder(scaled, 16, 16, 16, 16, cv2.BORDER_CONSTANT, value=255), kind=attempt.kind)
        if result.mean_confidence < min_confidence:
            continue
        if role_from_text(result.text) is not None:
            return result.text
        text = text or result.text
    return text


def _flatten(crop: np.ndarray) -> np.ndarray:
    """Divide by the paper's brightness so grey, shadowed or blurred print becomes dark on white."""
    size = max(15, (min(crop.shape) // 3) | 1)
    paper = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    return np.clip(crop.astype(np.float32) / np.maximum(paper, 1) * 255.0, 0, 255).astype(np.uint8)


def _fill_missing_roles(fields: list[FieldSpec], table_width: int) -> tuple[list[FieldSpec], tuple[Role, ...]]:
    """Without words to go by: a narrow first column numbers the lines; name and signature sit beside or
    under each other. Returns the fields and the roles that were guessed (their lines go to review)."""
    result = list(fields)
    first = min(range(len(result)), key=lambda i: result[i].x0)
    if result[first].role is Role.OTHER and (result[first].x1 - result[first].x0) < 0.12 * table_width:
        result[first] = _with_role(result[first], Role.LINE_NUMBER)
    guessed: list[Role] = []
    for wanted, partner in ((Role.NAME, Role.SIGNATURE), (Role.SIGNATURE, Role.NAME)):
        if any(f.role is wanted for f in result):
            continue
        spare = [i for i, f in enumerate(result) if f.role is Role.OTHER]
        if not spare:
            continue
        anchor = next((f for f in result if f.role is partner), None)
        spare.sort(key=lambda i: _guess_rank(result[i], anchor, wanted))
        result[spare[0]] = _with_role(result[spare[0]], wanted)
        guessed.append(wanted)
    return result, tuple(guessed)


def _guess_rank(spec: FieldSpec, anchor: FieldSpec | None, wanted: Role) -> tuple[float, ...]:
    """Prefer the cell under/over the partner (stacked sub-cells), then the next column over, then the widest."""
    width = -(spec.x1 - spec.x0)
    if anchor is None:
        return (spec.top, spec.x0, width)
    stacked = 0 if (abs(spec.x0 - anchor.x0) < 0.02 * (anchor.x1 - anchor.x0 + 1) and spec.top != anchor.top) else 1
    beside = spec.x0 - anchor.x1 if wanted is Role.SIGNATURE else anchor.x0 - spec.x1
    return (stacked, 0 if 0 <= beside < 20 and spec.top == anchor.top else 1, width)


def _with_role(spec: FieldSpec, role: Role) -> FieldSpec:
    return FieldSpec(role, spec.x0, spec.x1, spec.top, spec.bottom, spec.label)
