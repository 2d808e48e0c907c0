"""Form files: a sheet's layout in page-relative units, proposed from one blank sheet and editable by hand.

```toml
[form]
name = "seed"
lines = 15
table = [0.06, 0.55, 0.94, 0.97]        # x0, y0, x1, y1 as fractions of the upright page
line_bounds = [0.58, 0.605, ...]         # y of the rules between lines (lines + 1 values)

[[fields]]
role = "name"                            # line_number|name|signature|address|email|zip|date|ward|other
x = [0.10, 0.50]                         # fractions of the page width
rows = [0.0, 1.0]                        # the part of the line's height (sub-cells)
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from scanner.errors import SheetError
from scanner.grid import Masks, horizontal_rules
from scanner.scale import WORK_UNIT
from scanner.settings import LayoutSettings
from scanner.types import Box, FieldSpec, LineBox, Role, SheetLayout

_DEFAULT = LayoutSettings()


class FormError(SheetError):
    advice = "fix the form file (see 'petition form detect --help' for its format)"


@dataclass(frozen=True)
class FormField:
    role: Role
    x0: float
    x1: float
    top: float = 0.0
    bottom: float = 1.0


@dataclass(frozen=True)
class Form:
    name: str
    table: tuple[float, float, float, float]
    line_bounds: tuple[float, ...]
    fields: tuple[FormField, ...]
    # The blank sheet this form was made from (upright, at the working scale): pages are registered to it and
    # its print is dropped out of their ink. None for a form written by hand or made before templates.
    template: Path | None = None

    def fit(self, shape: tuple[int, ...], masks: Masks, *, settings: LayoutSettings = _DEFAULT,
            unit: float = WORK_UNIT) -> SheetLayout:
        """Place the form on an upright page, snapping its rules to the rules found there."""
        height, width = shape[:2]
        ys = np.array(self.line_bounds) * height
        rules = horizontal_rules(masks.horizontal, min_length=int(settings.form_rule_length * width),
                                 settings=settings, unit=unit)
        found = [r.pos for r in rules]
        tolerance = settings.form_snap_tolerance * float(np.median(np.diff(ys)))
        ys = _snap(ys, np.array(found, dtype=float), tolerance=tolerance)
        # Kernels downstream scale with the ruling's thickness: measure it as auto-detection does.
        ruling_px = int(np.median([r.thickness for r in rules])) if rules else max(1, width // 700)
        bounds = [int(round(y)) for y in ys]
        lines = tuple(LineBox(i + 1, a, b) for i, (a, b) in enumerate(zip(bounds, bounds[1:])))
        fields = tuple(FieldSpec(f.role, int(f.x0 * width), int(f.x1 * width), f.top, f.bottom) for f in self.fields)
        table = Box(int(self.table[0] * width), bounds[0], int(self.table[2] * width), bounds[-1])
        return SheetLayout(table, lines, fields, None, max(1, ruling_px), "form")


def _snap(expected: np.ndarray, found: np.ndarray, *, tolerance: float) -> np.ndarray:
    """Fit found = a * expected + b over the rules that match, so small shifts and scale errors vanish."""
    if found.size == 0:
        return expected
    nearest = found[np.abs(found[None, :] - expected[:, None]).argmin(axis=1)]
    matched = np.abs(nearest - expected) <= tolerance
    if matched.sum() < max(2, len(expected) // 2):
        return expected
    slope, offset = np.polyfit(expected[matched], nearest[matched], 1)
    return slope * expected + offset


def form_on_page(form: Form, homography: np.ndarray, template_shape: tuple[int, ...], page_shape: tuple[int, ...]
                 ) -> Form:
    """The form's fractions carried from its blank sheet's frame onto a registered page's frame.

    `homography` maps page pixels to the sheet's. After leveling, what is left of it is a shift, a scale and a
    little perspective, so x positions are carried along the table's middle row and y positions along its
    middle column; the fit then snaps lines to the page's own rules as for any form."""
    to_page = np.linalg.inv(homography)
    sheet_h, sheet_w = template_shape[:2]
    page_h, page_w = page_shape[:2]
    mid_x = (form.table[0] + form.table[2]) / 2 * sheet_w
    mid_y = (form.table[1] + form.table[3]) / 2 * sheet_h

    def x(fraction: float) -> float:
        return _apply(to_page, fraction * sheet_w, mid_y)[0] / page_w

    def y(fraction: float) -> float:
        return _apply(to_page, mid_x, fraction * sheet_h)[1] / page_h

    fields = tuple(replace(f, x0=x(f.x0), x1=x(f.x1)) for f in form.fields)
    table = (x(form.table[0]), y(form.table[1]), x(form.table[2]), y(form.table[3]))
    return replace(form, table=table, line_bounds=tuple(y(b) for b in form.line_bounds), fields=fields)


def table_rows(form: Form, shape: tuple[int, ...]) -> tuple[int, int]:
    """The page rows (top, bottom) a form placed on that page (`form_on_page`) puts its table in."""
    height = shape[0]
    return int(form.table[1] * height), int(round(form.table[3] * height))


def _apply(homography: np.ndarray, x: float, y: float) -> tuple[float, float]:
    px, py, w = homography @ np.array([x, y, 1.0])
    return float(px / w), float(py / w)


def form_from_layout(layout: SheetLayout, shape: tuple[int, ...], name: str, template: Path | None = None) -> Form:
    """Express a detected layout in page-relative units."""
    height, width = shape[:2]
    bounds = [layout.lines[0].y0 / height] + [ln.y1 / height for ln in layout.lines]
    fields = tuple(FormField(f.role, f.x0 / width, f.x1 / width, f.top, f.bottom) for f in layout.fields)
    t = layout.table
    return Form(name, (t.x0 / width, t.y0 / height, t.x1 / width, t.y1 / height), tuple(bounds), fields, template)


def to_toml(form: Form) -> str:
    """A readable TOML text (written by hand: tomllib only reads)."""
    out = ["# Petition sheet layout. Units are fractions of the upright page (0..1).",
           "# Edit roles or boxes by hand; 'rows' splits a line into sub-cells (0 = top of the line, 1 = bottom).",
           "[form]", f'name = "{form.name}"', f"lines = {len(form.line_bounds) - 1}",
           *([f'template = "{form.template.name}"  # the blank sheet, beside this file'] if form.template else []),
           f"table = [{', '.join(f'{v:.4f}' for v in form.table)}]",
           f"line_bounds = [{', '.join(f'{v:.4f}' for v in form.line_bounds)}]", ""]
    for f in form.fields:
        out += ["[[fields]]", f'role = "{f.role.value}"', f"x = [{f.x0:.4f}, {f.x1:.4f}]",
                f"rows = [{f.top:.3f}, {f.bottom:.3f}]", ""]
    return "\n".join(out)


def load_form(path: Path) -> Form:
    """Parse and check a form file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        meta = data["form"]
        bounds = tuple(float(v) for v in meta["line_bounds"])
        fields = tuple(
            FormField(Role(f["role"]), float(f["x"][0]), float(f["x"][1]), float(f.get("rows", [0, 1])[0]),
                      float(f.get("rows", [0, 1])[1]))
            for f in data.get("fields", [])
        )
        form = Form(str(meta.get("name", path.stem)), tuple(float(v) for v in meta["table"]), bounds, fields,
                    _template_path(path, meta.get("template")))
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise FormError(f"form file {path} {_what_is_wrong(exc)}") from exc
    _check(form, path)
    return form


def _template_path(form_path: Path, named: object) -> Path | None:
    """The blank sheet's image a form names, beside the form file (a relative name) or anywhere (absolute)."""
    if named is None:
        return None
    if not isinstance(named, str) or not named:
        raise ValueError("template must be a file name")
    return (form_path.parent / named).resolve()


def _what_is_wrong(exc: Exception) -> str:
    """What load_form's failure means for the person editing the file, in plain words: the people who write form
    files by hand are not Python programmers, so no exception class names or reprs."""
    if isinstance(exc, OSError):
        # strerror is the system's own words ("No such file or directory"); str(exc) would add "[Errno 2]".
        return f"cannot be read ({exc.strerror})" if exc.strerror else "cannot be read"
    if isinstance(exc, UnicodeDecodeError):  # a ValueError too: test it first
        return "is not UTF-8 text (save it as UTF-8)"
    if isinstance(exc, tomllib.TOMLDecodeError):
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        if line is None:  # Python before 3.14: no position attributes, the text ends in "(at line N, column M)"
            return f"is not valid TOML: {exc}"
        return f"is not valid TOML: {getattr(exc, 'msg', 'syntax error')} at line {line}, column {column}"
    if isinstance(exc, KeyError) and exc.args:
        return f"has no '{exc.args[0]}'"
    roles = ", ".join(role.value for role in Role)
    return f"has a value it cannot use (table, line_bounds, x and rows take numbers; role is one of {roles})"


def _check(form: Form, path: Path) -> None:
    if len(form.line_bounds) < 2 or list(form.line_bounds) != sorted(form.line_bounds):
        raise FormError(f"{path}: line_bounds must hold at least two increasing values")
    if not any(f.role is Role.NAME for f in form.fields) or not any(f.role is Role.SIGNATURE for f in form.fields):
        raise FormError(f"{path}: a form needs a 'name' and a 'signature' field")
    for f in form.fields:
        if not (0 <= f.x0 < f.x1 <= 1 and 0 <= f.top < f.bottom <= 1):
            raise FormError(f"{path}: field '{f.role.value}' has a box outside 0..1 or empty")
    if form.template is not None and not form.template.is_file():
        raise FormError(f"{path}: its blank sheet {form.template.name} is missing (keep it beside the form file, or "
                        "remove the 'template' line to read without it)")
