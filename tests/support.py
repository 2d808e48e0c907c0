"""Shared helpers for the test suite: rendered sheets, in-memory pages, small file builders."""

from __future__ import annotations

import random
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samples import render
from scanner.debug import DebugWriter
from scanner.ocr import OcrEngine, default_engine
from scanner.read import ReadSettings, read_page, reader_for
from scanner.types import Page, PageRef, PageResult

ROOT = Path(__file__).resolve().parent.parent
SCANS = ROOT / "samples" / "scans"
FONTS = ROOT / "samples" / "fonts"
PETITION = Path(sys.executable).parent / "petition"
DPI = 200  # tests render at 200 dpi: the working scale, and fast
ROW_CONTRACT = ["file", "page", "line", "status", "name", "name_confidence", "needs_review", "review_reasons"]


def page_from_array(gray: np.ndarray, *, name: str = "memory.png", dpi: float = DPI) -> Page:
    """A decoded page that never touched the disk."""
    gray = np.ascontiguousarray(gray)
    return Page(PageRef(f"/nonexistent/{name}", name, 1, "image", 0), gray, float(dpi), "")


def read_gray(gray: np.ndarray, *, form=None, engine: OcrEngine | None = None,
              settings: ReadSettings = ReadSettings()) -> PageResult:
    """Read one in-memory page with the real reader (real Tesseract for print unless an engine is given, and
    the recognizer the settings name for handwriting)."""
    engine = engine or default_engine()
    return read_page(page_from_array(gray), settings=settings, form=form, debug=DebugWriter(None, "test"),
                     engine=engine, reader=reader_for(settings, engine))


def to_gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def blank_form(layout: str, *, dpi: int = DPI, seed: int = 1) -> tuple[Image.Image, list[render.FormLine]]:
    """An unsigned sheet of one of the sample layouts, and where its cells are (render coordinates)."""
    page = Image.new("L", (round(render.PAGE_IN[0] * dpi), round(render.PAGE_IN[1] * dpi)), 255)
    if layout == "seed":
        lines = render._seed_form(page, dpi)
    elif layout == "ballot":
        lines = render._ballot_form(page, dpi, random.Random(f"ballot:{seed}"))
    elif layout == "stacked":
        lines = render._stacked_form(page, dpi)
    else:
        raise ValueError(layout)
    return page, lines


def text_page(*, dpi: int = DPI) -> Image.Image:
    """A letter-size page of printed paragraphs and no table at all."""
    page = Image.new("L", (round(8.5 * dpi), round(11 * dpi)), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONTS / "roboto-regular.woff"), round(11 * dpi / 72))
    y = dpi // 2
    words = render.BALLOT_TEXT.split()
    for paragraph in range(6):
        for _ in range(7):
            start = (y // 7) % len(words)
            draw.text((dpi // 2, y), " ".join((words * 2)[start : start + 12]), font=font, fill=0)
            y += round(16 * dpi / 72)
        y += round(12 * dpi / 72)
    return page


def bomb_png(path: Path, *, width: int = 30_000, height: int = 30_000) -> None:
    """A tiny PNG whose header declares a huge 1-bit image (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    block = row * 1000
    idat = b"".join(packer.compress(block) for _ in range(height // 1000)) + packer.compress(row * (height % 1000))
    idat += packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def child_pids(pid: int) -> list[int]:
    """Child processes of pid, from /proc (no extra dependency)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def admin_export_csv(root: Path, what: str, profile: str, *, name: str, password: str):
    """Log in to the review app as an admin and download one export (`/admin/export/<what>.csv`)."""
    import re

    from fastapi.testclient import TestClient

    from pipeline.review.app import create_app
    from pipeline.review.web import ReviewSettings

    # TestClient sends `Host: testserver`; the app answers only to the names it is given.
    app = create_app(ReviewSettings(workspace=root, allowed_hosts=("testserver",)), run_batches=False)
    with TestClient(app) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        login = client.post("/login", data={"name": name, "password": password, "csrf": token},
                            follow_redirects=False)
        assert login.status_code == 303
        return client.get(f"/admin/export/{what}.csv", params={"profile": profile} if profile else {})
