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
from scanner.register import Template, drop_print, make_template, register, warp_to_template


def _upright(image, path: Path) -> np.ndarray:
    image.save(path)
    return normalize(ingest.load_page(ingest.page_refs(path, pdf_dpi=200)[0])).gray


def _ink(gray: np.ndarray) -> np.ndarray:
    """Darker than the paper around it (a shadow darkens paper and print together)."""
    paper = cv2.medianBlur(gray, 31).astype(np.int16)
    return gray.astype(np.int16) < paper - 60


@lru_cache(maxsize=1)
def _template(folder: str) -> Template:
    gray = _upright(city_form.blank_form(200), Path(folder) / "blank.png")
    return make_template(gray, _ink(gray))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return _template(str(tmp_path_factory.mktemp("template")))


def _table_rows(template: Template) -> slice:
    table = city_form.city_form_layout(200).table
    scale = template.shape[1] / city_form.blank_form(200).width
    return slice(int(table.y0 * scale), int(table.y1 * scale))


@pytest.mark.parametrize("degradation", [dict(skew_deg=1.8, noise=True), dict(photo=True),
                                         dict(skew_deg=-2.2, blur=True, shadow=True)])
def test_a_blank_copy_registers_and_its_table_is_left_without_ink(template, tmp_path, degradation):
    image, truth = city_form.render_city_sheet(seed=11, blank=True)
    scanned, _ = render.degrade(image, truth, seed=3, **degradation)
    gray = _upright(scanned, tmp_path / "page.jpg")
    fit = register(gray, _ink(gray), template)
    assert fit.ok, fit.message
    assert fit.print_overlap > 0.85
    ink = warp_to_template(_ink(gray).astype(np.uint8), fit.homography, template, fill=0, nearest=True) > 0
    table = _table_rows(template)
    before = int(ink[table].sum())
    after = int(drop_print(ink, template)[table].sum())
    # The rules, labels and line numbers are nearly all the table's ink on a blank copy; what is left is specks.
    assert before > 20_000
    assert after < 0.01 * before


def test_writing_survives_the_dropout(template, tmp_path):
    image, truth = city_form.render_city_sheet(seed=12, statuses=["signed"] * 5)
    scanned, _ = render.degrade(image, truth, seed=4, skew_deg=1.0, noise=True)
    gray = _upright(scanned, tmp_path / "page.jpg")
    fit = register(gray, _ink(gray), template)
    assert fit.ok, fit.message
    ink = warp_to_template(_ink(gray).astype(np.uint8), fit.homography, template, fill=0, nearest=True) > 0
    left = drop_print(ink, template)[_table_rows(template)]
    # Five names, signatures, addresses, dates and wards: thousands of pixels of writing stay.
    assert left.sum() > 20_000


def test_another_form_does_not_register(template, tmp_path):
    other, _ = render.render_sheet("ballot", seed=2, dpi=200)
    gray = _upright(other, tmp_path / "other.png")
    fit = register(gray, _ink(gray), template)
    assert not fit.ok
    assert fit.quality == 0.0
    assert "form" in fit.message
