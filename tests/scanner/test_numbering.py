"""Lines are numbered by the numbers printed on the sheet: the logic over fake reads, then real rendered forms
whose faint rules the ruling finder misses, read by real Tesseract."""

from __future__ import annotations

import pytest

from scanner.layout import find_layout
from scanner.numbering import NumberingSettings, number_lines
from scanner.ocr import default_engine
from scanner.read import ReadSettings
from tests.support import blank_form, page_from_array, to_gray

HEIGHT = 50


def _printed(numbers: dict[int, int | None]):
    """A reader of a sheet whose row starting at y0 has `numbers[y0]` printed in its number cell."""

    def read(y0: int, y1: int) -> int | None:
        assert y1 - y0 == HEIGHT, "a row looked for beyond the run has the height of its neighbour"
        return numbers.get(y0)

    return read


def _rules(first: int, count: int) -> tuple[int, ...]:
    return tuple(first + k * HEIGHT for k in range(count + 1))


def _sheet(first_number: int, first_y: int, count: int) -> dict[int, int | None]:
    return {first_y + k * HEIGHT: first_number + k for k in range(count)}


def test_a_header_row_taken_into_the_run_is_no_line():
    numbers = _sheet(1, 100, 10)  # lines 1..10 from y=100; the header row above (y=50) prints no number
    numbered = number_lines(_rules(50, 11), _printed(numbers), top=0, bottom=1000)
    assert [line.number for line in numbered.lines] == list(range(1, 11))
    assert numbered.lines[0].y0 == 100
    assert numbered.header == (50, 100)
    assert numbered.offset == -1


def test_lines_the_rules_missed_above_and_below_are_found_by_their_numbers():
    numbers = _sheet(1, 100, 12)  # twelve printed lines; the rules were found only around lines 3..10
    numbered = number_lines(_rules(200, 8), _printed(numbers), top=0, bottom=2000)
    assert [line.number for line in numbered.lines] == list(range(1, 13))
    assert [line.y0 for line in numbered.lines] == [100 + k * HEIGHT for k in range(12)]
    assert numbered.header is None and numbered.offset == 2


def test_a_misread_number_does_not_move_the_lines():
    numbers = _sheet(1, 100, 10) | {250: 7, 400: None}  # line 4 misread as 7, line 7 not read at all
    numbered = number_lines(_rules(100, 10), _printed(numbers), top=0, bottom=1000)
    assert [line.number for line in numbered.lines] == list(range(1, 11))
    assert numbered.offset == 0


def test_too_few_agreeing_reads_leave_the_lines_numbered_by_position():
    numbers = {100: 5, 150: 2, 200: 9}  # three numbers read, no two agreeing on where line 1 is
    numbered = number_lines(_rules(100, 6), _printed(numbers), top=0, bottom=1000)
    assert [line.number for line in numbered.lines] == list(range(1, 7))
    assert numbered.offset is None and numbered.header is None


def test_fewer_than_the_minimum_agreeing_is_not_enough():
    numbers = _sheet(3, 100, 2)  # only two reads, and they agree the run starts at line 3
    numbered = number_lines(_rules(100, 6), _printed(numbers), top=0, bottom=1000)
    assert [line.number for line in numbered.lines] == list(range(1, 7))
    assert numbered.offset is None
    assert number_lines(_rules(100, 6), _printed(numbers), top=0, bottom=1000,
                        settings=NumberingSettings(min_agreeing=2)).offset == 2


def test_a_continuation_sheet_keeps_its_printed_numbers():
    numbers = _sheet(16, 100, 15)  # the second sheet of a form that numbers 16..30
    numbered = number_lines(_rules(100, 15), _printed(numbers), top=0, bottom=1000)
    assert [line.number for line in numbered.lines] == list(range(16, 31))
    assert numbered.header is None  # line 15 is not looked for above: the numbers say the run starts at 16...
    # ...but the rows above are read, and a sheet whose rules missed its printed 16 still finds it.
    numbered = number_lines(_rules(150, 14), _printed(numbers), top=0, bottom=1000)
    assert [line.number for line in numbered.lines] == list(range(16, 31))


def test_rows_are_not_looked_for_past_the_page():
    numbers = _sheet(1, 100, 12)  # twelve printed, but the page ends after the tenth
    numbered = number_lines(_rules(100, 8), _printed(numbers), top=0, bottom=100 + 10 * HEIGHT)
    assert [line.number for line in numbered.lines] == list(range(1, 11))


def test_a_runaway_extension_stops_at_the_cap():
    numbers = _sheet(1, 100, 100)
    numbered = number_lines(_rules(100, 5), _printed(numbers), top=0, bottom=100_000,
                            settings=NumberingSettings(max_extra=3))
    assert [line.number for line in numbered.lines] == list(range(1, 9))


def _erase_rules(gray, ys: list[int], x0: int, x1: int):
    """The sheet with the rules at `ys` whited out, as faint rules vanish from a photograph."""
    erased = gray.copy()
    for y in ys:
        erased[max(0, y - 4) : y + 5, max(0, x0 - 10) : x1 + 10] = 255
    return erased


@pytest.mark.parametrize("layout_name", ["seed", "ballot", "stacked"])
def test_lines_whose_rules_vanished_are_found_by_their_printed_numbers(layout_name):
    gray = to_gray(blank_form(layout_name)[0])
    engine = default_engine()
    settings = ReadSettings()
    whole = find_layout(page_from_array(gray), settings=settings, engine=engine).layout
    count = len(whole.lines)
    assert [line.number for line in whole.lines] == list(range(1, count + 1))
    # The rule above line 1 and the ones under the last two lines go: by the rules alone, the run would start
    # at the old line 2 and lose the last line (or two).
    lines, table = whole.lines, whole.table
    erased = _erase_rules(gray, [lines[0].y0, lines[-2].y1, lines[-1].y1], table.x0, table.x1)
    found = find_layout(page_from_array(erased), settings=settings, engine=engine).layout
    assert [line.number for line in found.lines] == list(range(1, count + 1))
    for was, now in zip(whole.lines, found.lines, strict=True):
        assert abs(was.y0 - now.y0) <= 0.1 * (was.y1 - was.y0), (was, now)
