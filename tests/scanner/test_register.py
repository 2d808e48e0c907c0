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
