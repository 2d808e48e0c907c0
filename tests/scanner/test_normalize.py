"""Normalize: skew, perspective and quarter turns are undone on rendered sheets with known degradations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from samples.render import degrade
from scanner.normalize import estimate_axis_and_skew, find_sheet_quad, normalize
from tests.support import page_from_array, to_gray


@pytest.mark.parametrize("skew", [7.0, -11.0])
def test_estimate_axis_and_skew_recovers_known_skew(sheets, skew):
    image, truth = sheets.sheet("seed", 1)
    skewed, _ = degrade(image, truth, seed=3, skew_deg=skew)
    found = estimate_axis_and_skew(to_gray(skewed), max_skew_deg=16.0)
    assert found.quarter_turns == 0
    # degrade() turns counter-clockwise for positive degrees; the estimate is the turn that undoes it.
    assert found.angle_deg == pytest.approx(-skew, abs=0.3)


def test_estimate_axis_finds_sideways_sheet(sheets):
    image, truth = sheets.sheet("seed", 1)
    sideways, _ = degrade(image, truth, seed=3, rotate_quarters=1, skew_deg=4.0)
    found = estimate_axis_and_skew(to_gray(sideways), max_skew_deg=16.0)
    assert found.quarter_turns == 1
    assert found.angle_deg == pytest.approx(-4.0, abs=0.3)


def test_find_sheet_quad_finds_photographed_sheet(sheets):
    image, truth = sheets.sheet("seed", 1)
    photo, _ = degrade(image, truth, seed=5, photo=True)
    gray = to_gray(photo)
    quad = find_sheet_quad(gray)
    assert quad is not None
    points = quad.points
    height, width = gray.shape
    assert points.shape == (4, 2)
    assert (points[:, 0] > 0).all() and (points[:, 0] < width).all()
    assert (points[:, 1] > 0).all() and (points[:, 1] < height).all()
    # top-left, top-right, bottom-right, bottom-left, and the sheet covers a good part of the photo
    tl, tr, br, bl = points
    assert tl[0] < tr[0] and bl[0] < br[0] and tl[1] < bl[1] and tr[1] < br[1]
    diagonal_a, diagonal_b = br - tl, tr - bl
    area = 0.5 * abs(diagonal_a[0] * diagonal_b[1] - diagonal_a[1] * diagonal_b[0])
    assert 0.3 < area / (height * width) < 0.9


def test_find_sheet_quad_is_none_on_flat_scan(sheets):
    assert find_sheet_quad(sheets.gray("seed", 1)) is None


def test_photographed_sheet_is_flattened_to_paper_aspect(sheets):
    image, truth = sheets.sheet("seed", 1)
    photo, _ = degrade(image, truth, seed=5, photo=True)
    upright = normalize(page_from_array(to_gray(photo)))
    assert upright.perspective_corrected
    height, width = upright.gray.shape
    assert height / width == pytest.approx(11 / 8.5, rel=0.03)


@pytest.mark.slow
@pytest.mark.parametrize("quarters", [1, 2, 3])
def test_normalize_turns_rotated_sheet_upright(sheets, quarters):
    image, truth = sheets.sheet("seed", 1)
    turned, _ = degrade(image, truth, seed=3, rotate_quarters=quarters)
    upright = normalize(page_from_array(to_gray(turned)))
    # quarter_turns counts counter-clockwise turns applied: together with the degradation, a full turn.
    assert (upright.quarter_turns + quarters) % 4 == 0
    assert upright.gray.shape[0] > upright.gray.shape[1]
    # Same picture as the sheet before it was turned, and unlike it upside down.
    reference = _thumb(sheets.gray("seed", 1))
    assert np.abs(_thumb(upright.gray) - reference).mean() < 0.5 * np.abs(reference[::-1, ::-1] - reference).mean()


def _thumb(gray: np.ndarray) -> np.ndarray:
    return cv2.resize(gray, (85, 110), interpolation=cv2.INTER_AREA).astype(float)


def test_normalize_keeps_upright_sheet(sheets):
    upright = normalize(page_from_array(sheets.gray("seed", 1)))
    assert upright.quarter_turns == 0
    assert abs(upright.skew_deg) <= 0.3
    assert not upright.perspective_corrected


def test_a_page_with_no_table_or_a_few_lines_on_the_chosen_axis_is_leveled_on_the_other(sheets, monkeypatch):
    """The projection test scores both axes by the sharpness of their row profiles; a table's rules and dividers
    can make the two all but equal (a calibration-split ballot sheet turned a quarter, shadowed and skewed:
    8.74 against 8.67 the wrong way). Leveled on the wrong axis the page has no table, or a line or two between
    its dividers, so the reader levels it on the other too and keeps the table with more lines. The projection
    test is made to choose the wrong axis here."""
    from scanner import normalize as normalize_module
    from scanner.layout import upright_table
    from scanner.settings import ReadSettings

    gray = np.rot90(sheets.gray("ballot", 1)).copy()  # a quarter turned: the right axis is 1 (or 3) turns back
    right = normalize_module.estimate_axis_and_skew

    def wrong_first(image, *, max_skew_deg, quarter_turns=None):
        chosen = right(image, max_skew_deg=max_skew_deg, quarter_turns=quarter_turns)
        if quarter_turns is None:
            return right(image, max_skew_deg=max_skew_deg, quarter_turns=1 - chosen.quarter_turns)
        return chosen

    monkeypatch.setattr(normalize_module, "estimate_axis_and_skew", wrong_first)
    found = upright_table(page_from_array(gray), settings=ReadSettings())
    assert found.upright.quarter_turns % 2 == 1
    assert len(found.table.grid.line_rules) >= 13  # the ballot's 12 lines (and its header row)
