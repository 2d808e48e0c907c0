"""Propose a form file from one blank sheet."""

from __future__ import annotations

from pathlib import Path

from scanner import ingest
from scanner.errors import NoTableFound
from scanner.form import form_from_layout, to_toml
from scanner.layout import find_layout
from scanner.ocr import default_engine
from scanner.read import ReadSettings
from scanner.register import save_template


def detect_form(path: Path, *, page: int = 1, template: Path | None = None) -> str:
    """Auto-detect the layout of a blank sheet and write it as editable TOML.

    The layout is found exactly as reading finds it (scanner.layout.find_layout: level, table, up/down from
    the line-number column, roles), so a form proposed from a sheet fits what the reader sees on it. With
    `template`, the upright blank sheet is saved there and the form names it: pages read with the form are
    registered to it and its print never counts as writing."""
    refs = ingest.page_refs(path, pdf_dpi=200)
    if page > len(refs):
        raise NoTableFound(f"{path.name} has {len(refs)} page(s), not {page}")
    found = find_layout(ingest.load_page(refs[page - 1]), settings=ReadSettings(), engine=default_engine())
    if template is not None:
        save_template(found.upright.gray, template)
    return to_toml(form_from_layout(found.layout, found.upright.gray.shape, path.stem, template))
