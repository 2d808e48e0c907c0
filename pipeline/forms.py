"""Propose a form file from one blank sheet."""

from __future__ import annotations

from pathlib import Path

from scanner import ingest
from scanner.errors import NoTableFound
from scanner.form import form_from_layout, to_toml
from scanner.grid import find_table
from scanner.normalize import normalize
from scanner.ocr import default_engine
from scanner.roles import build_layout


def detect_form(path: Path, *, page: int = 1) -> str:
    """Auto-detect the layout of a blank sheet and write it as editable TOML."""
    refs = ingest.page_refs(path, pdf_dpi=200)
    if page > len(refs):
        raise NoTableFound(f"{path.name} has {len(refs)} page(s), not {page}")
    upright = normalize(ingest.load_page(refs[page - 1]))
    masks, grid = find_table(upright.gray)
    layout = build_layout(upright.gray, masks, grid, default_engine())
    return to_toml(form_from_layout(layout, upright.gray.shape, path.stem))
