"""The types that flow between stages: Page → UprightPage → SheetLayout → LineReading."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Role(str, enum.Enum):
    """What a column (or sub-cell) of the table holds."""

    LINE_NUMBER = "line_number"
    NAME = "name"
    SIGNATURE = "signature"
    ADDRESS = "address"
    EMAIL = "email"
    ZIP = "zip"
    DATE = "date"
    WARD = "ward"
    OTHER = "other"


TEXT_ROLES: tuple[Role, ...] = (Role.ADDRESS, Role.ZIP, Role.DATE, Role.EMAIL, Role.WARD)


class LineStatus(str, enum.Enum):
    SIGNED = "signed"
    NAME_ONLY = "name_only"
    SIGNATURE_ONLY = "signature_only"
    BLANK = "blank"
    STRUCK = "struck"
    UNCERTAIN = "uncertain"


class Presence(str, enum.Enum):
    """Three-state ink verdict with a definite and a marginal threshold (after vxsuite's MarkStatus)."""

    PRESENT = "present"
    ABSENT = "absent"
    MARGINAL = "marginal"


class ReviewReason(str, enum.Enum):
    LOW_NAME_CONFIDENCE = "LOW_NAME_CONFIDENCE"
    MARGINAL_SIGNATURE = "MARGINAL_SIGNATURE"
    MARGINAL_NAME = "MARGINAL_NAME"
    NAME_WITHOUT_SIGNATURE = "NAME_WITHOUT_SIGNATURE"
    SIGNATURE_WITHOUT_NAME = "SIGNATURE_WITHOUT_NAME"
    STRUCK = "STRUCK"
    LAYOUT_GUESSED = "LAYOUT_GUESSED"
    NOT_REGISTERED = "NOT_REGISTERED"  # the page did not line up with its form's blank sheet


class PageStatus(str, enum.Enum):
    OK = "ok"
    NO_TABLE = "no_table"
    UNREADABLE = "unreadable"
    ENCRYPTED = "encrypted"
    TOO_LARGE = "too_large"
    TIMED_OUT = "timed_out"
    FAILED = "failed"


@dataclass(frozen=True)
class PageRef:
    """Where a page comes from: enough to load it again in another process."""

    path: str
    file_name: str
    page: int  # 1-based within the file
    kind: str  # "pdf" | "image"
    dpi: int  # render dpi for PDFs; 0 = take from the file


@dataclass(frozen=True)
class Page:
    """A decoded page: 8-bit gray pixels and the resolution they were scanned at (0 if unknown)."""

    ref: PageRef
    gray: np.ndarray
    dpi: float
    sha256: str


@dataclass(frozen=True)
class UprightPage:
    """A page turned right way up, perspective-corrected and deskewed, scaled to the working resolution."""

    page: Page
    gray: np.ndarray
    quarter_turns: int  # counter-clockwise quarter turns applied
    skew_deg: float
    perspective_corrected: bool
    scale: float  # working pixels per source pixel


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass(frozen=True)
class FieldSpec:
    """A column or sub-cell of every line: x range in pixels, y range as a fraction of the line's height."""

    role: Role
    x0: int
    x1: int
    top: float = 0.0
    bottom: float = 1.0
    label: str = ""


@dataclass(frozen=True)
class LineBox:
    number: int  # 1-based physical line
    y0: int
    y1: int


@dataclass(frozen=True, order=True)
class CellRef:
    """One cell of the table: a line and a field, as indexes into SheetLayout.lines and SheetLayout.fields."""

    line: int
    field: int


@dataclass(frozen=True)
class SheetLayout:
    """The table of one upright page: its lines, its fields and where it came from."""

    table: Box
    lines: tuple[LineBox, ...]
    fields: tuple[FieldSpec, ...]
    header: Box | None
    ruling_px: int  # typical ruling thickness, used to size kernels
    source: str  # "detected" | "form"
    guessed_roles: tuple[Role, ...] = ()  # name/signature placed by position, not by printed words

    def cell(self, line: LineBox, spec: FieldSpec) -> Box:
        height = line.y1 - line.y0
        return Box(spec.x0, line.y0 + round(spec.top * height), spec.x1, line.y0 + round(spec.bottom * height))

    def field(self, role: Role) -> FieldSpec | None:
        return next((f for f in self.fields if f.role is role), None)

    def cell_refs(self) -> tuple[CellRef, ...]:
        """Every cell, line by line and field by field within a line."""
        return tuple(CellRef(line, field) for line in range(len(self.lines)) for field in range(len(self.fields)))

    def cell_ref(self, line: int, role: Role) -> CellRef | None:
        """The cell of the first field with this role on a line (by index); None when no field has the role."""
        field = next((i for i, f in enumerate(self.fields) if f.role is role), None)
        return None if field is None else CellRef(line, field)

    def box(self, ref: CellRef) -> Box:
        return self.cell(self.lines[ref.line], self.fields[ref.field])


@dataclass(frozen=True)
class InkMeasure:
    """How much handwriting a cell holds, after ruling and pre-printed content are removed."""

    presence: Presence
    ink_fraction: float  # inked pixels / cell pixels
    extent: float  # horizontal span of kept ink / cell width


@dataclass(frozen=True)
class TextRead:
    text: str
    confidence: float  # 0..1, calibrated so that high means "exactly right"
    evidence: object = field(default=None, compare=False, repr=False)  # what the confidence came from (calibration)


@dataclass(frozen=True)
class LineReading:
    line: int
    status: LineStatus
    name: TextRead
    fields: dict[Role, TextRead]
    signature: InkMeasure
    name_ink: InkMeasure
    struck: bool
    needs_review: bool
    review_reasons: tuple[ReviewReason, ...]


@dataclass(frozen=True)
class LineCrops:
    """Images (JPEG) a reviewer sees: the whole line with some context above and below, and its two key cells."""

    line: bytes
    name: bytes
    signature: bytes


@dataclass(frozen=True)
class PageResult:
    """Everything read from one page, or why nothing could be."""

    ref: PageRef
    status: PageStatus
    message: str = ""
    sha256: str = ""
    lines: tuple[LineReading, ...] = ()
    roles: tuple[Role, ...] = ()
    seconds: float = 0.0
    orientation: int = 0
    skew_deg: float = 0.0
    crops: tuple[LineCrops, ...] = ()  # one per line, only when asked for (ReadSettings.keep_crops)
    # With a form that has a blank sheet: the share of its print found on this page (0 when it did not line up)
    registration: float | None = None
