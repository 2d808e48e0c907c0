"""Number the table's lines by the numbers printed in their line-number column.

The rules say where the lines are; the printed numbers say which line each one is. They disagree when the
evenly spaced run of rules takes in the header row (its "LINE" becomes line 1 and every name moves down a line),
or when faint rules at the top or bottom of a photographed table go unseen (the first lines are lost and the
rest move up). A challenge cites "page and line" from the sheet itself, so the sheet's own numbers win:

1. every line's number cell is read (printed digits);
2. the offset between printed number and position that most reads agree on is the page's, when enough agree;
   without that, nothing changes (a form with no printed numbers, or too few read);
3. a row whose number would be below 1 is no line (the header), and rows of the same height just above or
   below the run whose cells read the next number down or up are lines the rules missed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from scanner.types import LineBox

ReadNumber = Callable[[int, int], int | None]  # (y0, y1) of a row -> the number printed in its number cell


@dataclass(frozen=True)
class NumberingSettings:
    min_agreeing: int = 3  # reads that must agree on the offset: two could be a coincidence of misreads
    agreement: float = 0.6  # ...and this share of the numbers read
    max_extra: int = 40  # rows looked for beyond the run at each end, at most (a runaway stops here)


@dataclass(frozen=True)
class Numbered:
    """The lines numbered as printed, and the rows dropped above them as the header (top, bottom), if any."""

    lines: tuple[LineBox, ...]
    header: tuple[int, int] | None
    offset: int | None  # printed number minus position of the run as found; None: the numbers were not used


def number_lines(rules: tuple[int, ...], read_number: ReadNumber, *, top: int, bottom: int,
                 settings: NumberingSettings = NumberingSettings()) -> Numbered:
    """Lines between consecutive `rules`, numbered as their number cells read; `top`/`bottom` bound the rows
    looked for beyond the run (the page or table edges)."""
    rows = list(zip(rules, rules[1:]))
    positional = tuple(LineBox(k + 1, y0, y1) for k, (y0, y1) in enumerate(rows))
    reads = [read_number(y0, y1) for y0, y1 in rows]
    offset = _agreed_offset(reads, settings)
    if offset is None or not rows:
        return Numbered(positional, None, None)
    numbered = [LineBox(k + 1 + offset, y0, y1) for k, (y0, y1) in enumerate(rows)]
    dropped = [line for line in numbered if line.number < 1]
    numbered = [line for line in numbered if line.number >= 1]
    header = (dropped[0].y0, dropped[-1].y1) if dropped else None
    if not numbered:
        return Numbered(positional, None, None)
    numbered = _extended_up(numbered, read_number, top, settings) if not dropped else numbered
    numbered = _extended_down(numbered, read_number, bottom, settings)
    return Numbered(tuple(numbered), header, offset)


def _agreed_offset(reads: list[int | None], settings: NumberingSettings) -> int | None:
    """The offset (printed - position) most reads agree on, when enough of them do."""
    offsets = Counter(number - (k + 1) for k, number in enumerate(reads) if number is not None)
    if not offsets:
        return None
    offset, votes = offsets.most_common(1)[0]
    if votes < settings.min_agreeing or votes < settings.agreement * sum(offsets.values()):
        return None
    return offset


def _extended_up(lines: list[LineBox], read_number: ReadNumber, top: int,
                 settings: NumberingSettings) -> list[LineBox]:
    """Rows of the first line's height above it, kept while each reads the number before."""
    found: list[LineBox] = []
    first = lines[0]
    height = first.y1 - first.y0
    while first.number > 1 and len(found) < settings.max_extra and first.y0 - height >= top:
        row = LineBox(first.number - 1, first.y0 - height, first.y0)
        if read_number(row.y0, row.y1) != row.number:
            break
        found.insert(0, row)
        first = row
    return found + lines


def _extended_down(lines: list[LineBox], read_number: ReadNumber, bottom: int,
                   settings: NumberingSettings) -> list[LineBox]:
    """Rows of the last line's height below it, kept while each reads the number after."""
    found: list[LineBox] = []
    last = lines[-1]
    height = last.y1 - last.y0
    while len(found) < settings.max_extra and last.y1 + height <= bottom:
        row = LineBox(last.number + 1, last.y1, last.y1 + height)
        if read_number(row.y0, row.y1) != row.number:
            break
        found.append(row)
        last = row
    return lines + found
