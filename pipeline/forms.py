"""Propose a form file from one blank sheet; keep named forms in a workspace."""

from __future__ import annotations

import getpass
import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.store import Workspace, WorkspaceError, forms
from scanner import ingest
from scanner.errors import NoTableFound
from scanner.form import Form, FormError, form_from_layout, load_form, to_toml
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


# Named forms --------------------------------------------------------------------------------------------------
# A workspace keeps forms by name in its forms/ folder (<name>.toml and its blank sheet <name>.png) and records
# them in the store, so that `add --form NAME` and the review app's uploads read with the same form file.

FORMS = "forms"
MAX_NAME = 60
_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_NAME}}}")


class FormNameError(WorkspaceError):
    """A form name that cannot be a file name in forms/ (exit 2, like every WorkspaceError)."""


class UnknownForm(WorkspaceError):
    """No stored form by that name; the message lists the ones there are."""


@dataclass(frozen=True)
class NamedForm:
    """A stored form as `form list` and the upload page show it."""

    name: str
    lines: int
    roles: tuple[str, ...]
    has_blank_sheet: bool
    created_by: str
    created_at: str
    problem: str = ""  # why the stored file cannot be used (moved, deleted, edited into something broken)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise FormNameError(f"form name {name!r} is not allowed: use up to {MAX_NAME} letters, digits, '-' or '_'")
    return name


def form_path(workspace: Workspace, name: str) -> Path:
    return workspace.root / FORMS / f"{check_name(name)}.toml"


def save_named_form(workspace: Workspace, name: str, form_file: Path, *, created_by: str) -> Path:
    """Store a form file (checked by load_form) and its blank sheet under NAME, replacing one stored before; the
    stored TOML is rewritten to name the copied sheet beside it. Returns the stored TOML's path."""
    target = form_path(workspace, name)
    form = load_form(form_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet = target.with_suffix(".png")
    if form.template is not None and form.template != sheet.resolve():
        shutil.copyfile(form.template, sheet)
    elif form.template is None:
        sheet.unlink(missing_ok=True)  # an older sheet would not belong to this form
    text = to_toml(replace(form, name=name, template=sheet if form.template is not None else None))
    partial = target.with_suffix(".toml.partial")  # never a half-written form under the name
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    with workspace.transaction():
        forms.save_form(workspace, name, created_by, hashlib.sha256(text.encode("utf-8")).hexdigest())
    return target


def add_named_form(workspace: Workspace, name: str, blank_sheet: Path, *, page: int = 1, created_by: str) -> Path:
    """Detect the form of a blank sheet (detect_form) and store it under NAME with the sheet."""
    check_name(name)
    folder = workspace.root / FORMS
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".detect-") as scratch:
        detected = Path(scratch) / f"{name}.toml"
        detected.write_text(detect_form(blank_sheet, page=page, template=detected.with_suffix(".png")),
                            encoding="utf-8")
        return save_named_form(workspace, name, detected, created_by=created_by)


def load_named_form(workspace: Workspace, name: str) -> Form:
    """The stored form NAME, ready to read with; UnknownForm (with the known names) when there is none."""
    known = forms.form_names(workspace)
    if name not in known:
        listing = ", ".join(known) if known else "none yet (add one with 'petition form add NAME BLANK_SHEET')"
        raise UnknownForm(f"no form file or stored form named {name!r}; the workspace's forms: {listing}")
    return load_form(form_path(workspace, name))


def named_forms(workspace: Workspace) -> list[NamedForm]:
    """Every stored form with its lines and roles, read from its file."""
    out = []
    for row in forms.all_forms(workspace):
        try:
            form = load_form(form_path(workspace, row.name))
        except FormError as exc:  # one broken form must not hide the others (nor break the upload page)
            out.append(NamedForm(row.name, 0, (), False, row.created_by, row.created_at, problem=str(exc)))
            continue
        out.append(NamedForm(row.name, len(form.line_bounds) - 1, tuple(f.role.value for f in form.fields),
                             form.template is not None, row.created_by, row.created_at))
    return out


def describe(form: NamedForm) -> str:
    """One line of `form list`: name, lines, roles, blank sheet."""
    if form.problem:
        return f"{form.name}\tcannot be used: {form.problem}"
    sheet = "blank sheet" if form.has_blank_sheet else "no blank sheet"
    return f"{form.name}\t{form.lines} lines\t{', '.join(form.roles)}\t{sheet}"


def command_user() -> str:
    """Who stored a form from the command line: the account running it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database (some containers)
        return "cli"
