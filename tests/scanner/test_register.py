"""Registration of a page to its form's blank sheet, and the print dropped out (rendered city form)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from samples import city_form, render
from scanner import ingest
from scanner.normalize import normalize
from scanner.register import Template, drop_print, labels_on_page, load_template, register


def _upright(image, path: Path) -> np.ndarray:
    image.save(path)
    return normalize(ingest.load_page(ingest.page_refs(path, pdf_dpi=200)[0])).gray


def _ink(gray: np.ndarray) -> np.ndarray:
    """Darker than the paper around it (a shadow darkens paper and print together)."""
    paper = cv2.medianBlur(gray, 31).astype(np.int16)
    return gray.astype(np.int16) < paper - 60


def _long_runs(ink: np.ndarray) -> np.ndarray:
    mask = ink.astype(np.uint8)
    across = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, ink.shape[1] // 8), np.uint8))
    down = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((ink.shape[0] // 40, 1), np.uint8))
    return cv2.dilate(across | down, np.ones((5, 5), np.uint8)) > 0


@lru_cache(maxsize=1)
def _template(folder: str) -> Template:
    path = Path(folder) / "blank.png"
    city_form.blank_form(200).save(path)
    return load_template(path)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return _template(str(tmp_path_factory.mktemp("template")))


def _table(fit, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The table's rows and columns on the page (the rendered form's table carried through the fit)."""
    table = city_form.city_form_layout(200).table
    corners = np.float32([[table.x0, table.y0], [table.x1, table.y1]]).reshape(-1, 1, 2)
    (x0, y0), (x1, y1) = cv2.perspectiveTransform(corners, np.linalg.inv(fit.homography)).reshape(2, 2)
    return slice(max(0, int(y0)), min(shape[0], int(y1))), slice(max(0, int(x0)), min(shape[1], int(x1)))


@pytest.mark.parametrize("degradation", [dict(skew_deg=1.8, noise=True), dict(photo=True),
                                         dict(skew_deg=-2.2, blur=True, shadow=True)])
def test_a_blank_copy_registers_and_its_table_is_left_without_ink(template, tmp_path, degradation):
    image, truth = city_form.render_city_sheet(seed=11, blank=True)
    scanned, _ = render.degrade(image, truth, seed=3, **degradation)
    gray = _upright(scanned, tmp_path / "page.jpg")
    fit = register(gray, _ink(gray), template)
    assert fit.ok, fit.message
    assert fit.print_overlap > 0.85
    ink = _ink(gray) & ~_long_runs(_ink(gray))  # rules are the ink stage's to remove, not the template's
    table = _table(fit, gray.shape)
    before = int(ink[table].sum())
    after = int(drop_print(ink, labels_on_page(template, fit.homography, gray.shape))[table].sum())
    # Labels, headings and line numbers are all a blank copy's table holds besides its rules: specks are left.
    assert before > 10_000
    assert after < 0.02 * before


def test_writing_survives_the_dropout(template, tmp_path):
    image, truth = city_form.render_city_sheet(seed=12, statuses=["signed"] * 5)
    scanned, _ = render.degrade(image, truth, seed=4, skew_deg=1.0, noise=True)
    gray = _upright(scanned, tmp_path / "page.jpg")
    fit = register(gray, _ink(gray), template)
    assert fit.ok, fit.message
    ink = _ink(gray) & ~_long_runs(_ink(gray))
    left = drop_print(ink, labels_on_page(template, fit.homography, gray.shape))[_table(fit, gray.shape)]
    # Five names, signatures, addresses, dates and wards: thousands of pixels of writing stay.
    assert left.sum() > 20_000


def test_another_form_does_not_register(template, tmp_path):
    other, _ = render.render_sheet("ballot", seed=2, dpi=200)
    gray = _upright(other, tmp_path / "other.png")
    fit = register(gray, _ink(gray), template)
    assert not fit.ok
    assert fit.quality == 0.0
    assert "form" in fit.message


def test_print_a_few_pixels_off_the_fit_still_drops_out(template):
    """One homography is a few pixels off here and there (paper that is not flat, the fit's tolerance): each
    printed phrase is moved onto the page's own print before it drops out, so no label edge is left as ink."""
    identity = np.eye(3)
    page_print = np.zeros_like(template.label_mask)
    page_print[5:, 4:] = template.label_mask[:-5, :-4]  # the whole sheet's print 5 px down and 4 px right
    as_fit = drop_print(page_print, labels_on_page(template, identity, page_print.shape))
    snapped = drop_print(page_print, labels_on_page(template, identity, page_print.shape, ink=page_print))
    assert as_fit.sum() > 0.2 * page_print.sum()  # beyond the tolerance: much of the print would be read as ink
    assert snapped.sum() < 0.01 * page_print.sum()


def test_writing_near_a_label_does_not_pull_the_label_off_its_print(template):
    """A name written just below its cell's label: the label stays where the page's print is, so the writing
    keeps its pixels."""
    identity = np.eye(3)
    page = template.label_mask.copy()
    ys, xs = np.nonzero(template.label_mask)
    writing = np.zeros_like(page)
    top, left = int(np.median(ys)), int(np.median(xs))
    writing[top + 12:top + 40, left - 150:left + 150] = True  # a thick band of "writing" under mid-page print
    writing &= ~cv2.dilate(template.label_mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    page |= writing
    left_ink = drop_print(page, labels_on_page(template, identity, page.shape, ink=page))
    assert (left_ink & writing).sum() > 0.95 * writing.sum()
