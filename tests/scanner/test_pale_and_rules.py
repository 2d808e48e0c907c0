"""Writing near the rules and pale strokes: the feet of L and E just above a rule stay writing, and a
ballpoint's pale thin strokes are grown back into a crop without spreading to the paper around them."""

from __future__ import annotations

import numpy as np

from scanner.grid import Masks
from scanner.ink import _ruling_of_layout, grow_into_pale, writing_masks
from scanner.types import Box, FieldSpec, LineBox, Role, SheetLayout
from tests.scanner.fakes import context_for

ROW = 60  # line height, px
WIDTH = 900


def _layout(lines: int = 4) -> SheetLayout:
    boxes = tuple(LineBox(i + 1, 100 + i * ROW, 100 + (i + 1) * ROW) for i in range(lines))
    fields = (FieldSpec(Role.LINE_NUMBER, 50, 100), FieldSpec(Role.NAME, 100, 500), FieldSpec(Role.SIGNATURE, 500, 850))
    return SheetLayout(Box(50, 100, 850, 100 + lines * ROW), boxes, fields, None, 3, "detected")


def _masks(ink: np.ndarray, horizontal: np.ndarray, faint: np.ndarray | None = None) -> Masks:
    return Masks(ink, horizontal, np.zeros_like(ink), ink if faint is None else faint)


def test_a_baseline_run_just_above_a_rule_is_writing_but_the_rule_is_ruling():
    layout = _layout()
    ink = np.zeros((500, WIDTH), np.uint8)
    horizontal = np.zeros_like(ink)
    rule_y = layout.lines[0].y1
    ink[rule_y - 1 : rule_y + 2, 50:850] = 255  # the rule under line 1
    horizontal[rule_y - 1 : rule_y + 2, 50:850] = 255
    # The feet of "LE" 8 px above the rule: a horizontal run the faint mask's closing made ~70 px long.
    foot_y = rule_y - 8
    ink[foot_y - 1 : foot_y + 2, 150:220] = 255
    horizontal[foot_y - 1 : foot_y + 2, 150:220] = 255
    ruling = _ruling_of_layout(context_for(_masks(ink, horizontal), layout))
    assert ruling[rule_y, 60:840].all()
    assert not ruling[foot_y, 150:220].any()
    writing = writing_masks(context_for(_masks(ink, horizontal), layout)).writing
    assert writing[foot_y, 150:220].all()
    assert not writing[rule_y, 300:840].any()


def test_a_long_bowed_rule_off_its_fitted_row_is_still_ruling():
    layout = _layout()
    ink = np.zeros((500, WIDTH), np.uint8)
    rule_y = layout.lines[1].y1 + 6  # a photographed rule a few pixels off where the layout put it
    ink[rule_y - 1 : rule_y + 2, 50:850] = 255
    ruling = _ruling_of_layout(context_for(_masks(ink, ink.copy()), layout))
    assert ruling[rule_y, 60:840].all()


def test_pale_strokes_grow_back_into_the_crop_but_not_across_the_paper():
    pale = np.zeros((120, 300), np.uint8)
    # An "E": a dark stem, its three bars pale (a ballpoint's thin strokes under the ink threshold).
    stem = (slice(20, 80), slice(40, 46))
    pale[stem] = 255
    for y in (20, 48, 76):
        pale[y : y + 4, 46:80] = 255
    pale[20:80, 200:204] = 255  # a pale stroke of someone else, far away
    mask = np.zeros((60, 6), bool)
    mask[:, :] = True  # the stem, as the dark-ink mask saw it
    grown = grow_into_pale(mask, Box(40, 20, 46, 80), pale, steps=40)
    box = grown.box
    page = np.zeros_like(pale, bool)
    page[box.y0 : box.y1, box.x0 : box.x1] = grown.mask
    assert page[49, 46:80].all() and page[21, 46:80].all() and page[77, 46:80].all()
    assert not page[:, 150:].any()
    assert box == Box(40, 20, 80, 80)


def test_growth_stops_after_its_steps():
    pale = np.zeros((20, 200), np.uint8)
    pale[8:12, :] = 255  # a long pale line touching the writing (a faint rule the ruling mask missed)
    mask = np.ones((4, 4), bool)
    box = grow_into_pale(mask, Box(10, 8, 14, 12), pale, steps=5).box
    assert box.x1 <= 14 + 5 and box.x0 >= 10 - 5
