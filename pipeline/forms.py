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
# A batch names the form it was read with; a form is never changed or removed under a batch's feet: replacing
# or deleting one a batch was read with first keeps it as an earlier version, NAME@N, and those batches name that.

FORMS = "forms"
MAX_NAME = 60
VERSION_MARK = "@"  # in no name a person may give (check_name), so NAME@N never collides with one
READ_STATES = ("reading", "done", "failed")  # batches read (or being read) with a form; 'queued' ones are not yet
ALL_STATES = ("queued", *READ_STATES)
_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_NAME}}}")
_STORED_NAME = re.compile(rf"(?P<base>[A-Za-z0-9_-]{{1,{MAX_NAME}}})(?:@(?P<version>[1-9][0-9]{{0,5}}))?")


class FormNameError(WorkspaceError):
    """A form name that cannot be a file name in forms/ (exit 2, like every WorkspaceError)."""


class UnknownForm(WorkspaceError):
    """No stored form by that name; the message lists the ones there are."""


class FormNameTaken(WorkspaceError):
    """A rename to a name another stored form has."""


class FormInUse(WorkspaceError):
    """A change that would leave a batch naming a form it was not read with (the message says what to do)."""


@dataclass(frozen=True)
class NamedForm:
    """A stored form as `form list`, the upload page and the forms page show it."""

    name: str
    lines: int
    roles: tuple[str, ...]
    has_blank_sheet: bool
    created_by: str
    created_at: str
    problem: str = ""  # why the stored file cannot be used (moved, deleted, edited into something broken)
    batches: tuple[int, ...] = ()  # the upload batches that name it
    version_of: str = ""  # for an earlier version (NAME@N): NAME

    @property
    def is_earlier_version(self) -> bool:
        return bool(self.version_of)


@dataclass(frozen=True)
class Kept:
    """What saving, deleting or renaming a form did: `kept_as` names the earlier version kept for `batches`."""

    path: Path  # the stored TOML (saved or renamed); the removed one's former path for a delete
    kept_as: str = ""
    batches: tuple[int, ...] = ()


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise FormNameError(f"form name {name!r} is not allowed: use up to {MAX_NAME} letters, digits, '-' or '_'")
    return name


def version_of(name: str) -> str:
    """NAME for an earlier version NAME@N; '' for any other name."""
    match = _STORED_NAME.fullmatch(name)
    return match.group("base") if match and match.group("version") else ""


def form_path(workspace: Workspace, name: str) -> Path:
    """Where a stored form's TOML is (a name a person gave, or an earlier version's NAME@N)."""
    if not _STORED_NAME.fullmatch(name):
        check_name(name)  # raises, with the message for the name a person gave
    return workspace.root / FORMS / f"{name}.toml"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_form(target: Path, form: Form, name: str) -> str:
    """Write `form` as NAME beside its sheet NAME.png (copied there unless it is that file); its text."""
    sheet = target.with_suffix(".png")
    if form.template is not None and form.template != sheet.resolve():
        partial_sheet = sheet.with_suffix(".png.partial")
        shutil.copyfile(form.template, partial_sheet)
        partial_sheet.replace(sheet)
    text = to_toml(replace(form, name=name, template=sheet if form.template is not None else None))
    partial = target.with_suffix(".toml.partial")  # never a half-written form under the name
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return text


def _keep_earlier(workspace: Workspace, name: str) -> tuple[str, str]:
    """Copy the stored form NAME to its next free NAME@N; (that name, its text). A form that no longer loads is
    copied as it is: it is still what its batches were read with."""
    taken = [int(v) for n in forms.form_names(workspace) if (v := _version_number(n, name))]
    kept = f"{name}{VERSION_MARK}{max(taken, default=0) + 1}"
    source, target = form_path(workspace, name), form_path(workspace, kept)
    try:
        return kept, _write_form(target, load_form(source), kept)
    except FormError:
        if source.with_suffix(".png").is_file():
            shutil.copyfile(source.with_suffix(".png"), target.with_suffix(".png"))
        shutil.copyfile(source, target)
        return kept, target.read_text(encoding="utf-8", errors="replace")


def _version_number(stored: str, name: str) -> str:
    """N for NAME@N, '' for anything else."""
    match = _STORED_NAME.fullmatch(stored)
    return (match.group("version") or "") if match and match.group("base") == name else ""


def _unchanged(target: Path, text: str, form: Form) -> bool:
    """The same text and the same blank sheet as stored: saving it again changes nothing."""
    if not target.is_file() or target.read_text(encoding="utf-8", errors="replace") != text:
        return False
    sheet = target.with_suffix(".png")
    if form.template is None or form.template == sheet.resolve():
        return form.template is None or sheet.is_file()
    return sheet.is_file() and sheet.read_bytes() == form.template.read_bytes()


def save_named_form(workspace: Workspace, name: str, form_file: Path, *, created_by: str) -> Kept:
    """Store a form file (checked by load_form) and its blank sheet under NAME. A form stored under NAME before
    is kept as NAME@N first, and the batches read with it name that (their record stays true)."""
    target = form_path(workspace, check_name(name))
    form = load_form(form_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet = target.with_suffix(".png")
    text = to_toml(replace(form, name=name, template=sheet if form.template is not None else None))
    earlier = forms.stored_form(workspace, name)
    if earlier is not None and _unchanged(target, text, form):
        return Kept(target)
    kept, kept_text = _keep_earlier(workspace, name) if earlier is not None and target.is_file() else ("", "")
    _write_form(target, form, name)
    if form.template is None:
        sheet.unlink(missing_ok=True)  # an older sheet would not belong to this form (its copy is kept)
    moved: list[int] = []
    with workspace.transaction():
        if earlier is not None and kept:
            forms.save_form(workspace, kept, earlier.created_by, _sha(kept_text), created_at=earlier.created_at)
            moved = forms.point_batches(workspace, name, kept, states=READ_STATES)
        forms.save_form(workspace, name, created_by, _sha(text))
    return Kept(target, kept, tuple(moved))


def add_named_form(workspace: Workspace, name: str, blank_sheet: Path, *, page: int = 1, created_by: str) -> Kept:
    """Detect the form of a blank sheet (detect_form) and store it under NAME with the sheet."""
    check_name(name)
    folder = workspace.root / FORMS
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".detect-") as scratch:
        detected = Path(scratch) / f"{name}.toml"
        detected.write_text(detect_form(blank_sheet, page=page, template=detected.with_suffix(".png")),
                            encoding="utf-8")
        return save_named_form(workspace, name, detected, created_by=created_by)


def delete_named_form(workspace: Workspace, name: str) -> Kept:
    """Delete a stored form. One that batches name is kept as NAME@N for them (off the upload page's list); an
    earlier version that batches name is what they were read with: FormInUse, nothing is deleted."""
    row = forms.stored_form(workspace, name)
    if row is None:
        raise _unknown(workspace, name)
    using = tuple(forms.batches_by_form(workspace).get(name, []))
    if using and version_of(name):
        raise FormInUse(f"{name} is kept because batches {_ids(using)} were read with it: it cannot be deleted")
    kept, kept_text = _keep_earlier(workspace, name) if using else ("", "")
    with workspace.transaction():
        if kept:
            forms.save_form(workspace, kept, row.created_by, _sha(kept_text), created_at=row.created_at)
            forms.point_batches(workspace, name, kept, states=ALL_STATES)
        forms.delete_form(workspace, name)
    path = form_path(workspace, name)
    path.unlink(missing_ok=True)
    path.with_suffix(".png").unlink(missing_ok=True)
    return Kept(path, kept, using)


def rename_named_form(workspace: Workspace, old: str, new: str) -> Kept:
    """Give a stored form a new name; the batches that name it follow (the same file, so their record stays
    true). Earlier versions keep their names: they are what batches were read with."""
    check_name(new)
    row = forms.stored_form(workspace, old)
    if row is None:
        raise _unknown(workspace, old)
    if version_of(old):
        raise FormInUse(f"{old} is an earlier version kept for the batches read with it: it keeps its name")
    if forms.stored_form(workspace, new) is not None:
        raise FormNameTaken(f"there is a stored form named {new!r} already: choose another name or delete it first")
    source, target = form_path(workspace, old), form_path(workspace, new)
    _write_form(target, load_form(source), new)
    text = target.read_text(encoding="utf-8")
    with workspace.transaction():
        forms.rename_form(workspace, old, new)
        forms.save_form(workspace, new, row.created_by, _sha(text), created_at=row.created_at)
    source.unlink(missing_ok=True)
    source.with_suffix(".png").unlink(missing_ok=True)
    return Kept(target, "", tuple(forms.batches_by_form(workspace).get(new, [])))


def load_named_form(workspace: Workspace, name: str) -> Form:
    """The stored form NAME (or an earlier version NAME@N), ready to read with; UnknownForm (with the known
    names) when there is none."""
    if name not in forms.form_names(workspace):
        raise _unknown(workspace, name)
    return load_form(form_path(workspace, name))


def _unknown(workspace: Workspace, name: str) -> UnknownForm:
    known = [n for n in forms.form_names(workspace) if not version_of(n)]
    listing = ", ".join(known) if known else "none yet (add one with 'petition form add NAME BLANK_SHEET')"
    return UnknownForm(f"no form file or stored form named {name!r}; the workspace's forms: {listing}")


def _ids(batch_ids: tuple[int, ...] | list[int]) -> str:
    return ", ".join(str(i) for i in batch_ids)


def named_forms(workspace: Workspace, *, earlier_versions: bool = False) -> list[NamedForm]:
    """Every stored form with its lines, roles and the batches that name it, read from its file; the earlier
    versions kept for batches too when asked (never offered for new uploads)."""
    using = forms.batches_by_form(workspace)
    out = []
    for row in forms.all_forms(workspace):
        base = version_of(row.name)
        if base and not earlier_versions:
            continue
        batch_ids = tuple(using.get(row.name, []))
        try:
            form = load_form(form_path(workspace, row.name))
        except FormError as exc:  # one broken form must not hide the others (nor break the upload page)
            out.append(NamedForm(row.name, 0, (), False, row.created_by, row.created_at, problem=str(exc),
                                 batches=batch_ids, version_of=base))
            continue
        out.append(NamedForm(row.name, len(form.line_bounds) - 1, tuple(f.role.value for f in form.fields),
                             form.template is not None, row.created_by, row.created_at, batches=batch_ids,
                             version_of=base))
    return out


def describe(form: NamedForm) -> str:
    """One line of `form list`: name, lines, roles, blank sheet (and for an earlier version, whose and which
    batches were read with it)."""
    if form.problem:
        return f"{form.name}\tcannot be used: {form.problem}"
    sheet = "blank sheet" if form.has_blank_sheet else "no blank sheet"
    line = f"{form.name}\t{form.lines} lines\t{', '.join(form.roles)}\t{sheet}"
    if form.is_earlier_version:
        read = f", read batches {_ids(form.batches)}" if form.batches else ""
        line += f"\tearlier version of {form.version_of}{read}"
    return line


def command_user() -> str:
    """Who stored a form from the command line: the account running it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database (some containers)
        return "cli"
