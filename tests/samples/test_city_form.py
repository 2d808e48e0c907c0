"""The rendered city ballot-initiative form: its table as measured in the pixels, honest truth, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pipeline.evaluate import truth_frame
from samples import city_form as cf
from samples import render

DPI = 200
ALL_KINDS = ("signed", "struck", "name_only", "signature_only", "blank")


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    runs, start = [], None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(flags)))
    return runs


def _centres(flags: np.ndarray) -> list[float]:
    return [(a + b - 1) / 2 for a, b in _runs(flags)]


@pytest.fixture(scope="module")
def blank() -> np.ndarray:
    return np.asarray(cf.blank_form(DPI))


@pytest.fixture(scope="module")
def table(blank: np.ndarray) -> tuple[list[float], list[float]]:
    """(line rules y, column rules x) measured in the blank form's pixels: the run of evenly spaced long rules
    one twentieth of the page apart, and the rules that cross that whole band."""
    height, width = blank.shape
    dark = blank < 128
    rules = _centres(dark.sum(axis=1) > 0.8 * width)
    gaps = np.diff(rules)
    even = np.abs(gaps - height / 20) < 0.06 * height / 20
    runs = _runs(even)
    assert len(runs) == 1, f"expected one run of 1/20-page lines, got rules at {rules}"
    start, end = runs[0]
    lines = rules[start:end + 1]
    band = dark[round(lines[0]) + 3:round(lines[-1]) - 2]
    columns = _centres(band.mean(axis=0) > 0.95)
    return lines, columns


def _cell(lines, columns, line: int, column: int, inset: int = 4) -> tuple[slice, slice]:
    return (slice(round(lines[line - 1]) + inset, round(lines[line]) - inset + 1),
            slice(round(columns[column]) + inset, round(columns[column + 1]) - inset + 1))


def test_blank_form_has_five_numbered_lines_a_twentieth_of_the_page_tall(blank, table):
    lines, columns = table
    height, width = blank.shape
    assert len(lines) == 6  # five lines between six rules
    for upper, lower in zip(lines, lines[1:]):
        assert abs((lower - upper) / height - 1 / 20) < 0.003
    # Number, signature/address, printed name, date, ward: the number column is the narrowest, at the left.
    assert len(columns) == 6
    widths = np.diff(columns)
    assert widths[0] == widths.min() and widths[0] < 0.06 * width
    assert widths[1] == widths.max()
    dark = blank < 128
    for line in range(1, 6):
        number = dark[_cell(lines, columns, line, 0)]
        assert number.sum() > 40  # its printed number
        ys, xs = np.nonzero(number)
        assert abs(xs.mean() - number.shape[1] / 2) < 0.2 * number.shape[1]


def test_left_cell_is_two_labelled_sub_rows_and_the_name_cell_spans_the_line(blank, table):
    lines, columns = table
    dark = blank < 128
    for line in range(1, 6):
        rows, cols = _cell(lines, columns, line, 1)
        left = dark[rows, cols]
        dividers = _centres(left.mean(axis=1) > 0.9)
        assert len(dividers) == 1 and abs(dividers[0] - left.shape[0] / 2) < 0.1 * left.shape[0]
        mid = round(dividers[0])
        label_w = left.shape[1] // 5  # SIGNATURE and ADDRESS printed small at the sub-rows' left
        assert left[:mid - 3, :label_w].sum() > 30 and left[mid + 3:, :label_w].sum() > 30
        assert left[:mid - 3, label_w:].sum() == 0 and left[mid + 3:, label_w:].sum() == 0
        name = dark[_cell(lines, columns, line, 2)]
        assert not (name.mean(axis=1) > 0.9).any()  # no divider: the name cell is the whole line
        top = name.shape[0] // 4
        assert name[:top].sum() > 50  # "PRINTED NAME OF SIGNER" at its top left...
        ys, xs = np.nonzero(name)
        assert xs.max() < name.shape[1] / 2
        assert name[top:].sum() == 0  # ...and room to write below it
        for column in (3, 4):  # DATE and WARD: plain, empty cells
            assert dark[_cell(lines, columns, line, column)].sum() == 0


def test_truth_lists_five_lines_with_the_reader_roles():
    for seed in range(6):
        _, truth = cf.render_city_sheet(seed=seed)
        assert truth.layout == "city" and truth.dpi == DPI
        assert [line.line for line in truth.lines] == [1, 2, 3, 4, 5]
        assert any(line.status == "signed" for line in truth.lines)
        for line in truth.lines:
            assert line.status in render.STATUSES
            assert set(line.fields) == {"address", "date", "ward"}
            assert bool(line.name) == (line.status in ("signed", "name_only", "struck"))
            if line.status == "blank":
                assert not any(line.fields.values())


def test_blank_copies_are_all_blank_and_their_name_cells_hold_only_the_label(blank, table):
    lines, columns = table
    for seed in range(4):
        image, truth = cf.render_city_sheet(seed=seed, blank=True)
        assert [line.status for line in truth.lines] == ["blank"] * 5
        assert all(line.name == "" and not any(line.fields.values()) for line in truth.lines)
        copy = np.asarray(image)
        for line in range(1, 6):
            for column in (1, 2, 3, 4):  # the whole table is untouched, name cells included
                cell = _cell(lines, columns, line, column, inset=2)
                assert np.array_equal(copy[cell], blank[cell]), (seed, line, column)


def test_written_names_are_in_the_name_cells_where_the_truth_says(blank, table):
    lines, columns = table
    sheets = [cf.render_city_sheet(seed=11, statuses=ALL_KINDS, name_font=font)
              for font in ("kalam", "bad-script")]
    sheets += [cf.render_city_sheet(seed=seed) for seed in range(20, 26)]
    for image, truth in sheets:
        page = np.asarray(image)
        for line in truth.lines:
            cell = _cell(lines, columns, line.line, 2, inset=2)
            new_ink = (page[cell] < 128) & (blank[cell] >= 160)
            if line.name:
                assert new_ink.sum() > 300, (truth.name_font, line)
            else:
                assert line.status in ("blank", "signature_only")
                assert np.array_equal(page[cell], blank[cell]), (truth.name_font, line)
            sub_rows = page[_cell(lines, columns, line.line, 1)] < 128
            wrote_left = ((sub_rows & ~(blank[_cell(lines, columns, line.line, 1)] < 128)).sum() > 100)
            if line.status in ("signed", "signature_only", "struck") or line.fields["address"]:
                assert wrote_left, line


def test_struck_lines_are_struck_through_the_whole_line(blank, table):
    lines, columns = table
    image, truth = cf.render_city_sheet(seed=11, statuses=ALL_KINDS)
    page = np.asarray(image) < 128
    struck = next(line.line for line in truth.lines if line.status == "struck")
    band = slice(round(lines[struck - 1]) + 3, round(lines[struck]) - 2)
    new = page[band] & ~(blank[band] < 128)
    # Ink in (nearly) every pixel column from the signature/address cell to the ward column.
    span = new[:, round(columns[1]) + 5:round(columns[4])].any(axis=0)
    assert span.mean() > 0.97


def test_rendering_is_deterministic_for_a_seed():
    first, truth = cf.render_city_sheet(seed=7)
    again, truth_again = cf.render_city_sheet(seed=7)
    other, truth_other = cf.render_city_sheet(seed=8)
    assert first.tobytes() == again.tobytes() and truth == truth_again
    assert first.tobytes() != other.tobytes() and truth != truth_other
    assert cf.blank_form(DPI).tobytes() == cf.blank_form(DPI).tobytes()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        cf.render_city_sheet(seed=1, name_font="comic-sans")
    with pytest.raises(ValueError):
        cf.render_city_sheet(seed=1, statuses=("signed",) * 4)
    with pytest.raises(ValueError):
        cf.render_city_sheet(seed=1, blank=True, statuses=ALL_KINDS)


def test_set_is_scans_blank_copies_a_photo_and_struck_lines_in_the_eval_truth_format(tmp_path):
    paths = cf.write_city_set(tmp_path / "a", 3, seed=3)
    again = cf.write_city_set(tmp_path / "b", 3, seed=3)
    assert [p.name for p in paths] == [p.name for p in again]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(paths, again))
    doc = json.loads((tmp_path / "a" / "truth.json").read_text(encoding="utf-8"))
    assert set(doc["files"]) == {p.name for p in paths}
    frame = truth_frame(tmp_path / "a" / "truth.json")  # what `petition eval` reads
    assert len(frame) == 15 and set(frame["layout"]) == {"city"}
    photos = 0
    for path in paths:
        page = doc["files"][path.name]["pages"][0]
        statuses = [line["status"] for line in page["lines"]]
        tags = page["degradations"]
        image = Image.open(path)
        assert image.format == "JPEG" and any(tag.startswith("jpeg:") for tag in tags)
        if "photo" in tags:
            photos += 1
            assert image.mode == "RGB" and not page["blank_copy"]
        else:
            assert image.mode == "L" and image.info["dpi"] == (DPI, DPI)
            skew = next(float(tag.split(":")[1]) for tag in tags if tag.startswith("skew:"))
            assert 0.2 < abs(skew) <= 2.5
        if page["blank_copy"]:
            assert statuses == ["blank"] * 5 and "blank" in path.name
        else:
            assert "signed" in statuses or "signature_only" in statuses
    assert photos == 1
    blank_copies = [p for p in paths if doc["files"][p.name]["pages"][0]["blank_copy"]]
    assert len(blank_copies) == 1  # filled, blank copy, filled photo
    assert (frame["truth_status"] == "struck").any()


def test_the_committed_city_samples_are_what_make_samples_renders(tmp_path):
    """samples/city and samples/forms are rendered, never edited: a fresh render gives the same bytes."""
    from samples.city_form import write_city_set, write_form_file
    from tests.support import ROOT

    committed = ROOT / "samples" / "city"
    paths = write_city_set(tmp_path / "city", 5, seed=2)
    assert sorted(p.name for p in paths) == sorted(p.name for p in committed.glob("*.jpg"))
    for path in [*paths, tmp_path / "city" / "truth.json"]:
        assert path.read_bytes() == (committed / path.name).read_bytes(), path.name
    form, template = write_form_file(tmp_path / "forms" / "city-form.toml")
    for path in (form, template):
        assert path.read_bytes() == (ROOT / "samples" / "forms" / path.name).read_bytes(), path.name
