"""A corpus of broken inputs, made fresh in a temporary folder (never committed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from scanner.types import PageStatus
from tests.support import DPI, SCANS, bomb_png, text_page

BAD_FILES = {
    "truncated.pdf": PageStatus.UNREADABLE,
    "encrypted.pdf": PageStatus.ENCRYPTED,
    "empty.png": PageStatus.UNREADABLE,
    "webpage.pdf": PageStatus.UNREADABLE,
    "bomb.png": PageStatus.TOO_LARGE,
    "no_table.png": PageStatus.NO_TABLE,
    "truncated.jpg": PageStatus.UNREADABLE,
}
GOOD_FILE = "seed_clean.png"


def _make_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    source = (SCANS / "ballot_batch.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(source[: len(source) // 3])
    plain = folder / "plain.pdf"
    Image.new("L", (170, 220), 255).save(plain, "PDF", resolution=20)
    writer = PdfWriter()
    writer.append(PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    with (folder / "encrypted.pdf").open("wb") as handle:
        writer.write(handle)
    plain.unlink()
    (folder / "empty.png").write_bytes(b"")
    (folder / "webpage.pdf").write_text("<!DOCTYPE html>\n<html><head><title>Download</title></head></html>\n")
    bomb_png(folder / "bomb.png")
    text_page().save(folder / "no_table.png", dpi=(DPI, DPI))
    photo = (SCANS / "seed_phone.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(photo[: len(photo) // 2])


@pytest.fixture(scope="session")
def bad_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "bad"
    _make_corpus(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(BAD_FILES)
    return folder


@pytest.fixture(scope="session")
def good_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    return Path(shutil.copy(SCANS / GOOD_FILE, folder / GOOD_FILE))
