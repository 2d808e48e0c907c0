"""OCR: the in-process Tesseract engine on cleanly printed text."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from scanner.ocr import TesserocrEngine, TextKind, default_engine, tessdata_dir
from tests.support import FONTS


def _printed(text: str, *, px: int = 44) -> np.ndarray:
    font = ImageFont.truetype(str(FONTS / "roboto-regular.woff"), px)
    x0, y0, x1, y1 = font.getbbox(text)
    image = Image.new("L", (x1 - x0 + 40, y1 - y0 + 40), 255)
    ImageDraw.Draw(image).text((20 - x0, 20 - y0), text, font=font, fill=0)
    return np.asarray(image)


@pytest.fixture(scope="module")
def engine():
    engine = TesserocrEngine()
    yield engine
    engine.close()


def test_tessdata_has_english():
    assert (tessdata_dir() / "eng.traineddata").is_file()


@pytest.mark.parametrize("name", ["MARIA LOPEZ", "Jakub Kowalski", "Amina Okafor"])
def test_reads_printed_name_exactly_with_high_confidence(engine, name):
    read = engine.read_line(_printed(name), kind=TextKind.NAME)
    assert read.text == name
    assert read.min_confidence >= 85
    assert len(read.word_confidences) == len(name.split())


def test_name_whitelist_keeps_digits_out(engine):
    read = engine.read_line(_printed("Ana 42 Reyes"), kind=TextKind.NAME)
    assert not any(c.isdigit() for c in read.text)


def test_reads_zip_digits(engine):
    assert engine.read_line(_printed("02139"), kind=TextKind.ZIP).text == "02139"


def test_default_engine_is_shared():
    assert default_engine() is default_engine()
