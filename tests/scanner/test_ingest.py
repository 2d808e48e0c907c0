"""Ingest: files are recognised by content, pages are counted without decoding, pixels become 8-bit gray."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scanner import ingest
from scanner.errors import InputTooLarge, UnreadableInput
from tests.support import SCANS, bomb_png


def _png(path: Path, size=(60, 40), colour=255) -> Path:
    Image.new("L", size, colour).save(path)
    return path


def _pdf(path: Path, pages: int, size=(85, 110)) -> Path:
    """A small PDF (72 dpi images) with a dark square in a different place on every page."""
    images = []
    for i in range(pages):
        image = Image.new("L", size, 255)
        image.paste(0, (5 + 10 * i, 5, 15 + 10 * i, 15))
        images.append(image)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return path


def test_png_named_pdf_is_read_as_an_image(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes((_png(tmp_path / "real.png", colour=90)).read_bytes())
    assert ingest.sniff(path) == "image"
    (ref,) = ingest.page_refs(path, pdf_dpi=200)
    page = ingest.load_page(ref)
    assert ref.kind == "image"
    assert page.gray.shape == (40, 60)
    assert int(page.gray[0, 0]) == 90


def test_html_named_pdf_is_unreadable(tmp_path):
    path = tmp_path / "petition.pdf"
    path.write_text("<!DOCTYPE html><html><body>Not Found</body></html>", encoding="utf-8")
    with pytest.raises(UnreadableInput):
        ingest.page_refs(path, pdf_dpi=200)


def test_empty_file_is_unreadable(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(UnreadableInput):
        ingest.sniff(path)


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(UnreadableInput):
        ingest.sniff(tmp_path / "nowhere.png")


def test_discover_expands_folders_to_supported_files_sorted(tmp_path):
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    _png(folder / "b.png")
    _png(folder / "sub" / "a.PNG")
    (folder / "notes.txt").write_text("x")
    (folder / "sub" / "c.jpeg").write_bytes(b"\xff\xd8\xff")
    named = tmp_path / "loose.dat"
    named.write_text("kept as given")
    found = ingest.discover([folder, named])
    assert found == [folder / "b.png", folder / "sub" / "a.PNG", folder / "sub" / "c.jpeg", named]


def test_page_refs_counts_tiff_frames(tmp_path):
    path = tmp_path / "three.tif"
    frames = [Image.new("L", (50, 70), shade) for shade in (10, 120, 240)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    refs = ingest.page_refs(path, pdf_dpi=200)
    assert [r.page for r in refs] == [1, 2, 3]
    assert {r.kind for r in refs} == {"image"}
    assert [int(ingest.load_page(r).gray.mean()) for r in refs] == [10, 120, 240]


def test_page_refs_counts_pdf_pages_and_loads_one(tmp_path):
    path = _pdf(tmp_path / "four.pdf", 4)
    refs = ingest.page_refs(path, pdf_dpi=144)
    assert [r.page for r in refs] == [1, 2, 3, 4]
    assert {(r.kind, r.dpi) for r in refs} == {("pdf", 144)}
    page = ingest.load_page(refs[2])
    # 85x110 pt at 144 dpi is 170x220 px; page 3's square sits 20 pt (40 px) in.
    assert page.gray.shape == (220, 170)
    assert page.dpi == 144
    assert page.gray[20, 60] < 80 and page.gray[20, 20] > 200


def test_sample_pdf_page_count_matches_truth():
    refs = ingest.page_refs(SCANS / "ballot_batch.pdf", pdf_dpi=200)
    assert len(refs) == 3


def test_jpeg_exif_orientation_is_applied(tmp_path):
    stored = Image.new("L", (300, 200), 255)
    stored.paste(0, (0, 0, 40, 40))  # dark block top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # display needs a 90° clockwise turn
    path = tmp_path / "phone.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    (ref,) = ingest.page_refs(path, pdf_dpi=200)
    gray = ingest.load_page(ref).gray
    assert gray.shape == (300, 200)
    # Turned clockwise, the stored top-left corner is displayed top-right.
    assert gray[:30, -30:].mean() < 60
    assert gray[:30, :30].mean() > 200


def test_16_bit_image_becomes_8_bit_gray(tmp_path):
    wide = np.zeros((40, 64), dtype=np.uint16)
    wide[:, 32:] = 65535
    wide[:, 16:32] = 32768
    path = tmp_path / "deep.png"
    Image.fromarray(wide).save(path)
    assert Image.open(path).mode.startswith("I")
    gray = ingest.load_page(ingest.page_refs(path, pdf_dpi=200)[0]).gray
    assert gray.dtype == np.uint8 and gray.ndim == 2
    assert int(gray[0, 0]) == 0 and int(gray[0, 63]) == 255
    assert 120 <= int(gray[0, 20]) <= 135


def test_rgba_image_becomes_gray_on_white(tmp_path):
    rgba = np.zeros((30, 30, 4), dtype=np.uint8)
    rgba[:, :15] = (0, 0, 0, 255)  # opaque black
    rgba[:, 15:] = (0, 0, 0, 0)  # fully transparent
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    gray = ingest.load_page(ingest.page_refs(path, pdf_dpi=200)[0]).gray
    assert gray.dtype == np.uint8 and gray.shape == (30, 30)
    assert gray[:, :15].max() < 10
    assert gray[:, 15:].min() > 245


def test_decompression_bomb_is_too_large(tmp_path):
    path = tmp_path / "bomb.png"
    bomb_png(path)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(InputTooLarge):
        ingest.page_refs(path, pdf_dpi=200)


def test_same_pixels_hash_the_same_whatever_the_file_name(tmp_path):
    first = _png(tmp_path / "a.png", colour=77)
    second = tmp_path / "b.pdf"
    shutil.copy(first, second)
    digest = {ingest.load_page(ingest.page_refs(p, pdf_dpi=200)[0]).sha256 for p in (first, second)}
    other = ingest.load_page(ingest.page_refs(_png(tmp_path / "c.png", colour=78), pdf_dpi=200)[0]).sha256
    assert len(digest) == 1 and other not in digest
