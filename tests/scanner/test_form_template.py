"""Reading with a form that keeps its blank sheet: pages registered to it, its print never counts as writing.

Real components throughout: the rendered city petition form, the PP-OCR reader, Tesseract for print."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from pipeline.forms import detect_form
from pipeline.rows import pages_frame
from samples import city_form, render
from scanner import ingest
from scanner.form import Form, FormError, load_form, to_toml
from scanner.read import ReadSettings, read_file_page
from scanner.types import LineStatus, PageResult, ReviewReason

DPI = 200


@lru_cache(maxsize=1)
def _form(folder: str) -> Form:
    blank = Path(folder) / "blank.png"
    city_form.blank_form(DPI).save(blank)
    detect_form(blank, template=Path(folder) / "city.png")  # the template is what form detect keeps
    return city_form.form_file(Path(folder) / "city.png")


@pytest.fixture(scope="module")
def form(tmp_path_factory) -> Form:
    return _form(str(tmp_path_factory.mktemp("city_form")))


def _read(image, path: Path, form: Form) -> PageResult:
    image.save(path, quality=85) if path.suffix == ".jpg" else image.save(path)
    return read_file_page(ingest.page_refs(path, pdf_dpi=DPI)[0], settings=ReadSettings(), form=form)


@pytest.mark.parametrize("degradation", [dict(skew_deg=1.6, noise=True), dict(photo=True),
                                         dict(skew_deg=-0.8, rotate_quarters=2, noise=True)],
                         ids=["scan", "photo", "upside-down"])
def test_a_blank_copy_reads_blank_on_every_line(form, tmp_path, degradation):
    image, truth = city_form.render_city_sheet(seed=21, blank=True)
    scanned, _ = render.degrade(image, truth, seed=2, **degradation)
    result = _read(scanned, tmp_path / "blank_copy.jpg", form)
    assert result.registration is not None and result.registration > 0.8, result.message
    assert [line.status for line in result.lines] == [LineStatus.BLANK] * 5
    assert all(line.name.text == "" for line in result.lines), [line.name.text for line in result.lines]


def test_names_on_a_filled_sheet_are_seen_under_and_across_the_label(form, tmp_path):
    image, truth = city_form.render_city_sheet(seed=22, statuses=["signed", "name_only", "signed", "blank", "signed"])
    scanned, _ = render.degrade(image, truth, seed=3, skew_deg=1.1, noise=True)
    result = _read(scanned, tmp_path / "filled.jpg", form)
    assert result.registration is not None and result.registration > 0.8
    written = [bool(line.name) for line in truth.lines]
    assert [bool(line.name.text) for line in result.lines] == written
    assert result.lines[3].status is LineStatus.BLANK
    assert not any("PRINTED" in line.name.text.upper() or "SIGNER" in line.name.text.upper() for line in result.lines)


def test_a_page_of_another_form_is_not_read_silently(form, tmp_path):
    other, _ = render.render_sheet("ballot", seed=4, dpi=DPI)
    result = _read(other, tmp_path / "other.png", form)
    assert result.registration == 0.0
    assert "not lined up" in result.message
    assert result.lines and all(line.needs_review for line in result.lines)
    assert all(ReviewReason.NOT_REGISTERED in line.review_reasons for line in result.lines)


def test_pages_csv_says_how_each_page_lined_up_only_when_a_blank_sheet_was_used(form, tmp_path):
    image, truth = city_form.render_city_sheet(seed=23, blank=True)
    registered = _read(image, tmp_path / "blank.png", form)
    plain = _read(image, tmp_path / "blank.png", Form(form.name, form.table, form.line_bounds, form.fields))
    assert "registration" not in pages_frame((plain,)).columns
    frame = pages_frame((registered, plain))
    assert float(frame.loc[0, "registration"]) > 0.9
    assert frame.loc[1, "registration"] == ""


def test_the_form_file_names_its_blank_sheet_and_a_missing_one_is_a_clear_error(form, tmp_path):
    written = tmp_path / "city.toml"
    written.write_text(to_toml(form), encoding="utf-8")
    assert 'template = "city.png"' in written.read_text(encoding="utf-8")
    with pytest.raises(FormError, match="blank sheet city.png is missing"):
        load_form(written)  # the image is not beside this copy of the file
    (tmp_path / "city.png").write_bytes(form.template.read_bytes())
    assert load_form(written).template == (tmp_path / "city.png").resolve()
