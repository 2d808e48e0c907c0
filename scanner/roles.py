"""Name each column's role from the labels printed in its cells, and from its header where they say nothing."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

from scanner.grid import Grid, Masks, Slot
from scanner.numbering import Numbered, number_lines
from scanner.ocr import OcrEngine, TextKind
from scanner.scale import WORK_UNIT, area_px, odd_px, px
from scanner.settings import LayoutSettings
from scanner.types import Box, FieldSpec, LineBox, Role, SheetLayout

_DEFAULT = LayoutSettings()

# Checked in order: "PRINTED NAME OF SIGNER" is a name, "SIGNATURE OF PETITIONER" a signature, "DATE SIGNED"
# a date. "SIGNATURE AND ADDRESS" is a signature: a column headed by both is where people sign (but see
# role_from_text for a name named before a signature).
_KEYWORDS: tuple[tuple[Role, tuple[str, ...]], ...] = (
    (Role.EMAIL, ("EMAIL", "E-MAIL")),
    (Role.ZIP, ("ZIP", "POSTAL", "ZIPCODE")),
    (Role.DATE, ("DATE",)),
    (Role.SIGNATURE, ("SIGNATURE",)),
    (Role.ADDRESS, ("ADDRESS", "STREET", "RESIDENCE")),
    (Role.WARD, ("WARD",)),
    (Role.NAME, ("PRINT", "PRINTED")),
    (Role.NAME, ("NAME",)),
    (Role.SIGNATURE, ("SIGN",)),
    (Role.LINE_NUMBER, ("LINE", "NO", "#", "NUMBER")),
)


def role_from_text(text: str, *, similarity: float = _DEFAULT.keyword_similarity) -> Role | None:
    """The role a header or label names, tolerating OCR's small misreadings."""
    found = _keyword_hits(text, similarity)
    if not found:
        return None
    best = min(found)[2]
    # One header naming a name and then a signature ("PRINTED NAME OF PETITIONER  SIGNATURE") is two columns
    # whose divider was not seen: the name is written at the left of the cell, so the cell is the name's.
    first_at = {role: min(at for _, at, r in found if r == role) for _, _, role in found}
    if best is Role.SIGNATURE and first_at.get(Role.NAME, len(text)) < first_at[Role.SIGNATURE]:
        return Role.NAME
    return best


def roles_in_text(text: str, *, similarity: float = _DEFAULT.keyword_similarity) -> tuple[Role, ...]:
    """Every role a header names, in reading order: "SIGNATURE AND ADDRESS" over a column of two sub-rows
    names the top one, then the bottom one."""
    by_word = sorted(_keyword_hits(text, similarity), key=lambda hit: (hit[1], hit[0]))
    return tuple(dict.fromkeys(role for _, _, role in by_word))


def _keyword_hits(text: str, similarity: float) -> list[tuple[int, int, Role]]:
    """(index in _KEYWORDS, index of the word, role) of every keyword the text holds."""
    words = re.findall(r"[A-Z#@-]+", text.upper())
    # OCR splits printed words ("EM AIL", "SIGN ATURE"): try each neighbouring pair joined as well.
    placed = list(enumerate(words)) + [(i, a + b) for i, (a, b) in enumerate(pairwise(words))]
    return [(entry, at, role) for entry, (role, keywords) in enumerate(_KEYWORDS) for at, word in placed
            if any(_similar(word, keyword, similarity) for keyword in keywords)]


def _similar(word: str, keyword: str, similarity: float) -> bool:
    if len(keyword) <= 4:
        return word == keyword
    return word == keyword or difflib.SequenceMatcher(None, word, keyword).ratio() >= similarity


@dataclass(frozen=True)
class _Naming:
    """What naming roles works from: the upright page, its ruling, Tesseract, the thresholds, the pixel unit."""

    gray: np.ndarray
    masks: Masks
    engine: OcrEngine
    settings: LayoutSettings
    unit: float
    header_fallback: OcrEngine | None = None  # reads a header Tesseract could not (PP-OCR with its recognizer)

    def role(self, text: str) -> Role | None:
        return role_from_text(text, similarity=self.settings.keyword_similarity)

    def roles(self, text: str) -> tuple[Role, ...]:
        return roles_in_text(text, similarity=self.settings.keyword_similarity)


@dataclass(frozen=True)
class _Heading:
    """What one column's header names: the role a whole cell takes, and every role named in reading order."""

    role: Role
    in_order: tuple[Role, ...]


@dataclass(frozen=True)
class _Header:
    """The header row: its box, what its words name over each column (by x range), the line rules below it."""

    box: Box | None
    roles: dict[tuple[int, int], _Heading]
    line_rules: tuple[int, ...]


def build_layout(gray: np.ndarray, masks: Masks, grid: Grid, engine: OcrEngine, *,
                 settings: LayoutSettings = _DEFAULT, unit: float = WORK_UNIT,
                 header_fallback: OcrEngine | None = None) -> SheetLayout:
    """Roles from labels printed in every line where there are any (they name their own cells), and from the
    header row for the cells without; what neither names is guessed by position and flagged. A header cell
    `engine` reads as no keyword is read again by `header_fallback` when one is given."""
    naming = _Naming(gray, masks, engine, settings, unit, header_fallback)
    slots = list(grid.slots)
    every_line = _lines(grid.line_rules)
    labels = {slot: _label_text(naming, every_line, slot) for slot in slots}
    label_roles = {slot: naming.role(text) for slot, text in labels.items()}
    header = _header(naming, grid, label_roles)
    roles = _with_header_roles(slots, label_roles, header.roles)
    fields = [FieldSpec(roles[slot] or Role.OTHER, slot.x0, slot.x1, slot.top, slot.bottom, labels[slot])
              for slot in slots]
    fields, guessed = _fill_missing_roles(naming, fields, grid.table.width)
    numbered = _numbered(naming, header.line_rules, fields, grid.table)
    header_box = header.box
    if numbered.header is not None:  # the run of rules took in the header row: it is no line
        header_box = Box(grid.table.x0, numbered.header[0], grid.table.x1, numbered.header[1])
    lines = numbered.lines
    table = Box(grid.table.x0, header_box.y0 if header_box else lines[0].y0, grid.table.x1, lines[-1].y1)
    return SheetLayout(table, lines, tuple(fields), header_box, grid.ruling_px, "detected", guessed)


def _numbered(naming: _Naming, rules: tuple[int, ...], fields: list[FieldSpec], table: Box) -> Numbered:
    """The lines between the rules, numbered by the numbers printed in the number column when it has them."""
    column = next((f for f in fields if f.role is Role.LINE_NUMBER), None)
    if column is None:
        return Numbered(_lines(rules), None, None)

    def read(y0: int, y1: int) -> int | None:
        height = y1 - y0
        box = Box(column.x0, y0 + round(column.top * height), column.x1, y0 + round(column.bottom * height))
        return _read_number(naming, box)

    # Rows the rules missed are looked for within the page, not past its edges.
    return number_lines(rules, read, top=0, bottom=naming.gray.shape[0])


def _read_number(naming: _Naming, box: Box) -> int | None:
    """The number printed in a line-number cell, or None (no print, not a number, or not read with confidence)."""
    found = _print_of(naming, _clean(naming.gray, naming.masks, box, unit=naming.unit))
    digits = _digits_of(found.image) if found is not None else None
    if digits is None:
        return None
    image, height = digits
    texts: set[str] = set()
    for cap_height in _NUMBER_CAP_HEIGHTS:  # Tesseract's read of blurred digits hangs on their size
        framed = _for_tesseract(image, cap_height / height, binarize=True)
        result = naming.engine.read_line(framed, kind=TextKind.LINE_NUMBER)
        text = result.text.strip()
        is_number = text.isdigit() and len(text) <= 3
        if is_number and result.mean_confidence >= naming.settings.line_number_confidence:
            return int(text)
        texts.add(text if is_number else "")
    # Tesseract scores some clean digits (a lone "2", "14") at 0 while reading them right: the same digits
    # read at every size are taken instead, since a misread rarely survives three scalings unchanged.
    agreed = texts.pop() if len(texts) == 1 else ""
    return int(agreed) if agreed else None


def _lines(rules: tuple[int, ...]) -> tuple[LineBox, ...]:
    return tuple(LineBox(i + 1, upper, lower) for i, (upper, lower) in enumerate(zip(rules, rules[1:])))


def _with_header_roles(slots: list[Slot], label_roles: dict[Slot, Role | None],
                       headings: dict[tuple[int, int], _Heading]) -> dict[Slot, Role | None]:
    """Label roles, and for cells without one the role their column's header gives them: a whole cell the
    header's role, a column of sub-rows the roles its header names top to bottom. A role a label already
    names elsewhere is not given twice; neither is a header that contradicts the labels."""
    given = _heading_roles(slots, headings)
    if any(label_roles[s] is not None and given.get(s) not in (None, label_roles[s]) for s in slots):
        given = {}
    taken = {role for role in label_roles.values() if role is not None}
    roles = dict(label_roles)
    for slot in slots:
        if roles[slot] is None and given.get(slot) is not None and given[slot] not in taken:
            roles[slot] = given[slot]
            taken.add(given[slot])
    return roles


def _heading_roles(slots: list[Slot], headings: dict[tuple[int, int], _Heading]) -> dict[Slot, Role]:
    """The role each cell's header names for it (see _with_header_roles)."""
    given: dict[Slot, Role] = {}
    for (x0, x1), heading in headings.items():
        # The cells under a header column: those overlapping it most (a column may be split into sub-rows).
        under = sorted((s for s in slots if _column_under(s, headings) == (x0, x1)), key=lambda s: s.top)
        if not under:
            continue
        rows = sorted({(s.top, s.bottom) for s in under})
        order = heading.in_order if len(rows) > 1 and len(heading.in_order) > 1 else (heading.role,)
        for row, role in zip(rows, order):
            given.update({s: role for s in under if (s.top, s.bottom) == row})
    return given


def _column_under(slot: Slot, headings: dict[tuple[int, int], _Heading]) -> tuple[int, int] | None:
    overlaps = {column: min(slot.x1, column[1]) - max(slot.x0, column[0]) for column in headings}
    best = max(overlaps, key=overlaps.__getitem__, default=None)
    return best if best is not None and overlaps[best] > 0 else None


def _header(naming: _Naming, grid: Grid, label_roles: dict[Slot, Role | None]) -> _Header:
    """The grid's header row; failing that, and when labels in the lines do not name name and signature, the
    table's first line when it reads as a header (it is then no line of the table)."""
    rules = tuple(grid.line_rules)
    roles = _header_roles(naming, grid, grid.header) if grid.header else {}
    labelled = any(role in (Role.NAME, Role.SIGNATURE) for role in label_roles.values())
    if roles or labelled or not _first_line_is_header(naming, grid):
        return _Header(grid.header, roles, rules)
    box = Box(grid.table.x0, rules[0], grid.table.x1, rules[1])
    return _Header(box, _header_roles(naming, grid, box), rules[1:])


def _header_roles(naming: _Naming, grid: Grid, header: Box) -> dict[tuple[int, int], _Heading]:
    """What each column's header text names; a role claimed by two columns is not trusted for either."""
    roles: dict[tuple[int, int], _Heading] = {}
    for x0, x1 in zip(grid.slot_columns[0], grid.slot_columns[0][1:]):
        box = Box(x0, header.y0, x1, header.y1)
        text = _read_label(naming, box)
        if naming.role(text) is None and naming.header_fallback is not None:
            text = _read_header_again(naming, box) or text
        role = naming.role(text)
        if role is not None:
            roles[(x0, x1)] = _Heading(role, naming.roles(text))
    claimed = Counter(heading.role for heading in roles.values())
    roles = {column: heading for column, heading in roles.items() if claimed[heading.role] == 1}
    return roles if any(h.role in (Role.NAME, Role.SIGNATURE) for h in roles.values()) else {}


def _first_line_is_header(naming: _Naming, grid: Grid) -> bool:
    """The evenly spaced run can include a header row of the same height; a header's words do not repeat below."""
    rules = grid.line_rules
    if len(rules) < 4:
        return False
    first = [naming.role(_read_label(naming, Box(x0, rules[0], x1, rules[1])))
             for x0, x1 in zip(grid.slot_columns[0], grid.slot_columns[0][1:])]
    if not any(r in (Role.NAME, Role.SIGNATURE) for r in first):
        return False
    second = [naming.role(_read_label(naming, Box(x0, rules[1], x1, rules[2])))
              for x0, x1 in zip(grid.slot_columns[0], grid.slot_columns[0][1:])]
    return not any(r in (Role.NAME, Role.SIGNATURE) for r in second)


def _digits_of(image: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The crop trimmed to its digits and their height: marks shorter than most of the tallest (a stroke of a
    strike-through, a speck of the ruling) would widen the crop and throw Tesseract off a one-digit read."""
    _, ink = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    if count < 2:
        return None
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    tall = stats[1:][heights >= _DIGIT_HEIGHT_SHARE * heights.max()]
    x0, y0 = tall[:, cv2.CC_STAT_LEFT].min(), tall[:, cv2.CC_STAT_TOP].min()
    x1 = (tall[:, cv2.CC_STAT_LEFT] + tall[:, cv2.CC_STAT_WIDTH]).max()
    y1 = (tall[:, cv2.CC_STAT_TOP] + tall[:, cv2.CC_STAT_HEIGHT]).max()
    # The same margin of paper as _print_of leaves (3 px at the reference, here at the crop's own scale).
    margin = max(1, round(0.15 * int(heights.max())))
    return image[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin], int(heights.max())


def _label_text(naming: _Naming, lines: tuple[LineBox, ...], slot: Slot) -> str:
    """OCR of what is printed in every line of this field. Only pixels inked in nearly every line are kept
    (handwriting never repeats); there the median grey of all lines is the label, anti-aliasing and all."""
    if len(lines) < naming.settings.min_label_lines:
        return ""
    height = min(round((ln.y1 - ln.y0) * (slot.bottom - slot.top)) for ln in lines)
    inked, greys = [], []
    for line in lines:
        y0 = line.y0 + round(slot.top * (line.y1 - line.y0))
        box = Box(slot.x0, y0, slot.x1, y0 + height)
        inked.append(_clean(naming.masks.faint, naming.masks, box, paper=0, unit=naming.unit) > 0)
        greys.append(naming.gray[box.y0 : box.y1, box.x0 : box.x1])
    printed = np.mean(np.stack(inked), axis=0) >= naming.settings.label_share
    # Fewer pixels than a small word's (20 at the reference) are a dot or a speck of the ruling.
    if printed.sum() < area_px(20, naming.unit) or not _word_shaped(printed, naming.settings):
        return ""
    # The label's anti-aliased edge (a pixel at the reference) belongs to it.
    keep = cv2.dilate(printed.astype(np.uint8), np.ones((odd_px(2, naming.unit),) * 2, np.uint8)) > 0
    template = np.where(keep, np.median(np.stack(greys), axis=0), 255).astype(np.uint8)
    text = _ocr_label(naming, template, min_confidence=0.0)
    if naming.role(text) is None and naming.header_fallback is not None:
        # The template holds only what is printed in every line, never handwriting: the fallback may read it.
        text = _read_print_again(naming, template, exact=False) or text
    return text


def _word_shaped(printed: np.ndarray, settings: LayoutSettings) -> bool:
    """A label is a word or more, wider than tall; a lone repeated dot (after printed line numbers) is not."""
    ys, xs = np.nonzero(printed)
    return (xs.max() - xs.min() + 1) >= settings.label_aspect * (ys.max() - ys.min() + 1)


def _read_label(naming: _Naming, box: Box) -> str:
    return _ocr_label(naming, _clean(naming.gray, naming.masks, box, unit=naming.unit),
                      min_confidence=naming.settings.label_confidence)


def _clean(image: np.ndarray, masks: Masks, box: Box, *, paper: int = 255, unit: float = WORK_UNIT) -> np.ndarray:
    """The box's pixels with its own border rules set to paper; inside, bold small print can look like a rule."""
    crop = image[box.y0 : box.y1, box.x0 : box.x1].copy()
    if crop.size == 0:  # a header box squeezed to nothing at the page edge: nothing to read
        return np.full((1, 1), paper, dtype=image.dtype)
    ruling = cv2.bitwise_or(_long_runs(masks.horizontal[box.y0 : box.y1, box.x0 : box.x1], axis=1),
                            _long_runs(masks.vertical[box.y0 : box.y1, box.x0 : box.x1], axis=0))
    # Border rules lie within an eighth of the box of its edges (at least 4 px at the reference).
    reach = max(px(4, unit), min(crop.shape) // 8)
    ruling[reach:-reach, reach:-reach] = 0
    # A rule's anti-aliased edge (a pixel at the reference) goes with it.
    crop[cv2.dilate(ruling, np.ones((odd_px(2, unit),) * 2, np.uint8)) > 0] = paper
    return crop


def _long_runs(ruling: np.ndarray, *, axis: int) -> np.ndarray:
    """The ruling components that run along half the box or more: its border rules. The tops of a small
    printed word near a rule merge into a shorter run; that is the label, not a rule."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ruling, connectivity=8)
    extent = stats[:, cv2.CC_STAT_WIDTH] if axis == 1 else stats[:, cv2.CC_STAT_HEIGHT]
    keep = extent >= ruling.shape[axis] // 2
    keep[0] = False
    return np.where(keep[labels], ruling, 0).astype(ruling.dtype) if count > 1 else ruling


@dataclass(frozen=True)
class _LabelTry:
    kind: TextKind
    cap_height: int
    binarize: bool


# Cheapest first; blurred small print (a phone photo) reads only as a single word, large and grey. Cap heights
# and the border are in the pixels Tesseract is given (each try rescales the crop), not the page's.
_LABEL_TRIES = (_LabelTry(TextKind.LABEL, 30, True), _LabelTry(TextKind.LABEL, 40, True),
                _LabelTry(TextKind.LABEL_WORD, 30, True), _LabelTry(TextKind.LABEL, 22, True),
                _LabelTry(TextKind.LABEL_WORD, 48, False), _LabelTry(TextKind.LABEL, 48, False))
_TESSERACT_BORDER = 16
_NUMBER_CAP_HEIGHTS = (40, 52, 30)  # digits scaled to these heights (px) in turn for Tesseract, one line (psm 7)
_DIGIT_HEIGHT_SHARE = 0.75  # a digit is at least this share of the tallest mark in a number cell


# The least confidence (0..100) the fallback's weakest character must have for its reading of a header to count.
FALLBACK_LABEL_MIN_CHAR = 50.0
# A header label is a few words ("SIGNATURE AND ADDRESS OF PETITIONER"); more is the petition's prose above the
# table, which the fallback reads well enough to find keyword-like words in ("sigate" for "investigate").
FALLBACK_LABEL_MAX_WORDS = 6


def _read_header_again(naming: _Naming, box: Box) -> str:
    """A header Tesseract could not read as a keyword, read by the fallback engine (PP-OCR's v6-small reads
    print as well as writing): on a blurred phone photo the three letters of "ZIP" run into one blot that
    Tesseract reads as nothing at every size, and the zip column went unread. Not a line's cell as it is: there
    handwriting could be taken for a label (an in-cell label is read from what every line has printed:
    _label_text). '' when the print is unclear or names no role exactly."""
    return _read_print_again(naming, _clean(naming.gray, naming.masks, box, unit=naming.unit))


def _read_print_again(naming: _Naming, crop: np.ndarray, *, exact: bool = True) -> str:
    """Printed words read by the fallback engine; '' unless every character is clear and they name a role, in a
    label-sized text. `exact`: the role's keyword spelled exactly (a header cell, where the petition's prose may
    sit: the fallback reads print accurately, and prose misread finds look-alike words); else as Tesseract's
    readings are matched (an in-cell label template holds only what every line has printed: "EMAL", its thin I
    lost, is EMAIL)."""
    found = _print_of(naming, crop)
    if found is None or naming.header_fallback is None:
        return ""
    result = naming.header_fallback.read_line(found.image, kind=TextKind.LABEL)
    if not result.char_confidences or min(result.char_confidences) < FALLBACK_LABEL_MIN_CHAR:
        return ""
    named = role_from_text(result.text, similarity=1.0) if exact else naming.role(result.text)
    if len(result.text.split()) > FALLBACK_LABEL_MAX_WORDS or named is None:
        return ""
    return result.text


def _ocr_label(naming: _Naming, crop: np.ndarray, *, min_confidence: float) -> str:
    """Printed label text. Tesseract is fickle on small, blurred print, so a few scales are tried until
    one reads a known keyword. Several tries invite a lucky misreading of noise, so a read must also be
    confident (less is asked of a template that only holds what is printed in every line)."""
    found = _print_of(naming, crop)
    if found is None:
        return ""
    text = ""
    for attempt in _LABEL_TRIES:
        factor = attempt.cap_height / float(np.median(found.heights))
        result = naming.engine.read_line(_for_tesseract(found.image, factor, binarize=attempt.binarize),
                                         kind=attempt.kind)
        if result.mean_confidence < min_confidence:
            continue
        if naming.role(result.text) is not None:
            return result.text
        text = text or result.text
    return text


def _for_tesseract(image: np.ndarray, factor: float, *, binarize: bool) -> np.ndarray:
    """Print scaled by factor (to the letter height Tesseract reads best), optionally Otsu-binarized, framed in
    white paper."""
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    scaled = cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)
    if binarize:
        _, scaled = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = _TESSERACT_BORDER
    return cv2.copyMakeBorder(scaled, border, border, border, border, cv2.BORDER_CONSTANT, value=255)


@dataclass(frozen=True)
class _Print:
    """A crop flattened and trimmed to its print, and the heights of its letters."""

    image: np.ndarray
    heights: list[int]


def _print_of(naming: _Naming, crop: np.ndarray) -> _Print | None:
    """The crop's print, or None when it holds none (paper, a speck)."""
    if crop.size == 0:
        return None
    flat = _flatten(crop, naming.unit)
    _, ink = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    # Letters, not specks: components of 10 px or more (at the reference).
    heights = [s[cv2.CC_STAT_HEIGHT] for s in stats[1:] if s[cv2.CC_STAT_AREA] >= area_px(10, naming.unit)]
    settings = naming.settings
    too_pale = flat.min() > settings.label_max_grey
    if not heights or too_pale or np.count_nonzero(ink) < settings.label_min_ink * ink.size:
        return None
    ys, xs = np.nonzero(ink)
    # A little paper around the print (3 px at the reference) keeps Tesseract off its edges.
    margin = px(3, naming.unit)
    trimmed = flat[max(0, ys.min() - margin) : ys.max() + margin + 1, max(0, xs.min() - margin) : xs.max() + margin + 1]
    return _Print(trimmed, heights)


def _flatten(crop: np.ndarray, unit: float = WORK_UNIT) -> np.ndarray:
    """Divide by the paper's brightness so grey, shadowed or blurred print becomes dark on white."""
    # Wider than any printed stroke: a third of the crop, at least 15 px at the reference.
    size = max(odd_px(15, unit), (min(crop.shape) // 3) | 1)
    paper = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    return np.clip(crop.astype(np.float32) / np.maximum(paper, 1) * 255.0, 0, 255).astype(np.uint8)


def _fill_missing_roles(naming: _Naming, fields: list[FieldSpec],
                        table_width: int) -> tuple[list[FieldSpec], tuple[Role, ...]]:
    """Without words to go by: a narrow first column numbers the lines; name and signature sit beside or
    under each other. Returns the fields and the roles that were guessed (their lines go to review)."""
    result = list(fields)
    first = min(range(len(result)), key=lambda i: result[i].x0)
    narrow = naming.settings.number_column_share * table_width
    if result[first].role is Role.OTHER and (result[first].x1 - result[first].x0) < narrow:
        result[first] = _with_role(result[first], Role.LINE_NUMBER)
    guessed: list[Role] = []
    for wanted, partner in ((Role.NAME, Role.SIGNATURE), (Role.SIGNATURE, Role.NAME)):
        if any(f.role is wanted for f in result):
            continue
        spare = [i for i, f in enumerate(result) if f.role is Role.OTHER]
        if not spare:
            continue
        anchor = next((f for f in result if f.role is partner), None)
        spare.sort(key=lambda i: _guess_rank(naming, result[i], anchor, wanted))
        result[spare[0]] = _with_role(result[spare[0]], wanted)
        guessed.append(wanted)
    return result, tuple(guessed)


def _guess_rank(naming: _Naming, spec: FieldSpec, anchor: FieldSpec | None, wanted: Role) -> tuple[float, ...]:
    """Prefer the cell under/over the partner (stacked sub-cells), then the next column over, then the widest."""
    width = -(spec.x1 - spec.x0)
    if anchor is None:
        return (spec.top, spec.x0, width)
    slack = naming.settings.stacked_slack
    stacked = 0 if (abs(spec.x0 - anchor.x0) < slack * (anchor.x1 - anchor.x0 + 1) and spec.top != anchor.top) else 1
    beside = spec.x0 - anchor.x1 if wanted is Role.SIGNATURE else anchor.x0 - spec.x1
    # Next over: no more than a divider's width apart (20 px at the reference).
    return (stacked, 0 if 0 <= beside < px(20, naming.unit) and spec.top == anchor.top else 1, width)


def _with_role(spec: FieldSpec, role: Role) -> FieldSpec:
    return FieldSpec(role, spec.x0, spec.x1, spec.top, spec.bottom, spec.label)
