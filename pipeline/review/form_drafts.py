"""The form editor's server side: a blank sheet becomes a draft (the proposed layout and the sheet, kept in
forms/.drafts/<token>/), the editor's page data, and an edited form checked and stored as a named form.

The browser only ever sends fractions and roles; the form is built here, written as TOML and stored through
pipeline.forms.save_named_form, which loads it back with scanner.form.load_form: what is stored is exactly what
`petition add --form NAME` will read, and a form load_form refuses is never stored."""

from __future__ import annotations

import json
import math
import re
import secrets
import shutil
import tempfile
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pipeline.forms import FORMS, FormNameTaken, Kept, check_name, detect_form, load_named_form, save_named_form
from pipeline.store import Workspace, forms
from scanner.form import Form, FormError, FormField, to_toml
from scanner.types import Role

DRAFTS = ".drafts"
DRAFT_SHEET = "sheet.png"
DRAFT_FORM = "layout.json"  # the proposed layout as the editor takes it (not yet a checked form)
DRAFT_MAX_AGE_S = 24 * 3600  # a draft nobody saved within a day is removed when the next one is made
_TOKEN = re.compile(r"[0-9a-f]{32}")
MAX_LINES = 60
MAX_FIELDS = 24
DEFAULT_PAGE = (1700, 2200)  # letter at 200 dpi: the page a form without a blank sheet is drawn on
# A key per role (the editor's menu and keyboard); 'other' is a column that is not read.
ROLE_KEYS = {Role.LINE_NUMBER: "l", Role.NAME: "n", Role.SIGNATURE: "s", Role.ADDRESS: "a", Role.EMAIL: "e",
             Role.ZIP: "z", Role.DATE: "d", Role.WARD: "w", Role.OTHER: "o"}
ROLE_LABELS = {Role.LINE_NUMBER: "line number", Role.OTHER: "other (not read)"}


class UnknownDraft(LookupError):
    """No draft by that token (never made, saved already, or removed after a day)."""


class BadEdit(ValueError):
    """An edited form that cannot be stored; the message says what to change (nothing was stored)."""


@dataclass(frozen=True)
class EditorSource:
    """What the editor started from: a draft (its token) or a stored form (its name); its blank sheet, if any."""

    kind: str  # "draft" or "form"
    key: str
    sheet: Path | None

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.key}"


def drafts_root(workspace_root: Path) -> Path:
    return workspace_root / FORMS / DRAFTS


def draft_folder(workspace_root: Path, token: str) -> Path:
    """The draft's folder, for a token of 32 hex digits only: nothing else ever reaches the disk."""
    folder = drafts_root(workspace_root) / token
    if not _TOKEN.fullmatch(token) or not (folder / DRAFT_FORM).is_file():
        raise UnknownDraft(token)
    return folder


def new_draft(workspace_root: Path, blank_sheet: Path) -> str:
    """Propose a form from a blank sheet (pipeline.forms.detect_form) and keep it as a draft; its token."""
    root = drafts_root(workspace_root)
    root.mkdir(parents=True, exist_ok=True)
    _remove_old_drafts(root)
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir()
    try:
        proposed = tomllib.loads(detect_form(blank_sheet, template=folder / DRAFT_SHEET))
        (folder / DRAFT_FORM).write_text(json.dumps(_layout_of_toml(proposed)), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return token


def _remove_old_drafts(root: Path) -> None:
    cutoff = time.time() - DRAFT_MAX_AGE_S
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def source_of(workspace: Workspace, ref: str) -> EditorSource:
    """`draft:TOKEN` or `form:NAME`, as the editor page was given it; UnknownDraft/UnknownForm when gone."""
    kind, _, key = ref.partition(":")
    if kind == "draft":
        return EditorSource("draft", key, draft_folder(workspace.root, key) / DRAFT_SHEET)
    if kind == "form":
        return EditorSource("form", key, load_named_form(workspace, key).template)
    raise UnknownDraft(ref)


def _layout_of_toml(proposed: Mapping) -> dict:
    """A proposed form (detect_form's TOML, parsed) as the editor's layout, unchecked: a proposal without a name
    or a signature field is what the editor is for, so it must open (load_form would refuse it)."""
    meta = proposed["form"]
    return {"table": meta["table"], "line_bounds": meta["line_bounds"],
            "fields": [{"role": f["role"], "x0": f["x"][0], "x1": f["x"][1], "top": f["rows"][0],
                        "bottom": f["rows"][1]} for f in proposed.get("fields", [])]}


def _layout_of_form(form: Form) -> dict:
    return {"table": list(form.table), "line_bounds": list(form.line_bounds),
            "fields": [{"role": f.role.value, "x0": f.x0, "x1": f.x1, "top": f.top, "bottom": f.bottom}
                       for f in form.fields]}


def source_layout(workspace: Workspace, source: EditorSource) -> dict:
    """The layout the editor starts from: the draft's proposal, or the stored form."""
    if source.kind == "draft":
        path = draft_folder(workspace.root, source.key) / DRAFT_FORM
        return json.loads(path.read_text(encoding="utf-8"))
    return _layout_of_form(load_named_form(workspace, source.key))


def editor_data(workspace: Workspace, source: EditorSource, *, sheet_url: str) -> dict:
    """Everything the editor page's script needs (JSON in the page: no inline script)."""
    width, height = _page_size(source.sheet)
    return {
        "source": source.ref,
        "name": source.key if source.kind == "form" else "",
        "sheet": sheet_url if source.sheet is not None else "",
        "width": width, "height": height, "max_fields": MAX_FIELDS,
        "roles": [{"value": r.value, "label": ROLE_LABELS.get(r, r.value), "key": ROLE_KEYS[r]} for r in Role],
        "form": source_layout(workspace, source),
    }


def _page_size(sheet: Path | None) -> tuple[int, int]:
    if sheet is None:
        return DEFAULT_PAGE
    with Image.open(sheet) as image:  # reads the header only
        return image.size


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("not a number")
    if not 0 <= value <= 1:
        raise ValueError("outside the page")
    return float(value)


def form_from_edit(edit: Mapping, name: str, template: Path | None) -> Form:
    """The form the editor sent (fractions of the page, roles by value). Only its shape is checked here; what
    makes a usable form is load_form's to say. The table keeps its top (the header) and ends with the lines."""
    try:
        bounds = tuple(_fraction(v) for v in edit["line_bounds"])
        fields = tuple(FormField(Role(f["role"]), _fraction(f["x0"]), _fraction(f["x1"]), _fraction(f["top"]),
                                 _fraction(f["bottom"])) for f in edit["fields"])
        table = tuple(_fraction(v) for v in edit["table"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEdit("the editor sent a form this server cannot use: reload the page and edit again") from exc
    if len(table) != 4 or not 2 <= len(bounds) <= MAX_LINES + 1 or not 1 <= len(fields) <= MAX_FIELDS:
        raise BadEdit(f"a form has 1 to {MAX_LINES} lines and 1 to {MAX_FIELDS} fields")
    left = min([table[0], *(f.x0 for f in fields)])
    right = max([table[2], *(f.x1 for f in fields)])
    return Form(name, (left, min(table[1], bounds[0]), right, bounds[-1]), bounds, fields, template)


@dataclass(frozen=True)
class Edit:
    """One save from the editor."""

    name: str
    source: str
    form: Mapping
    replace: bool = False


def save_edit(workspace: Workspace, edit: Edit, *, created_by: str) -> Kept:
    """Check and store an edited form under its name. Saving over another stored form needs `replace` (the
    one replaced is kept as NAME@N); a draft is removed once stored."""
    name = check_name(edit.name)
    source = source_of(workspace, edit.source)
    if not edit.replace and name != source.key and forms.stored_form(workspace, name) is not None:
        raise FormNameTaken(f"there is a stored form named {name!r} already: tick 'replace it' and save again to"
                            " replace it (the one it replaces is kept as an earlier version), or choose another name")
    scratch = Path(tempfile.mkdtemp(dir=workspace.root / FORMS, prefix=".edit-"))
    try:
        template = None
        if source.sheet is not None:
            template = scratch / DRAFT_SHEET
            shutil.copyfile(source.sheet, template)
        path = scratch / f"{name}.toml"
        path.write_text(to_toml(form_from_edit(edit.form, name, template)), encoding="utf-8")
        try:
            kept = save_named_form(workspace, name, path, created_by=created_by)
        except FormError as exc:  # the message names the scratch file: name the form instead
            raise BadEdit(str(exc).replace(str(path), name)) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if source.kind == "draft":
        shutil.rmtree(draft_folder(workspace.root, source.key), ignore_errors=True)
    return kept
