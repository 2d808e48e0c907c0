"""Fakes for fast unit tests of the chain: an OCR engine and a handwriting reader that answer without models,
and a PageContext built around synthetic masks and layouts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scanner.context import PageContext
from scanner.debug import DebugWriter
from scanner.grid import Masks
from scanner.ocr import OcrResult, TextKind
from scanner.read import ReadSettings
from scanner.scale import Scale
from scanner.types import SheetLayout, TextRead

_SETTINGS = ReadSettings()


@dataclass
class FakeOcrEngine:
    """The OcrEngine protocol without Tesseract: one scripted answer per kind (empty text by default), and
    a record of every call (kind and crop shape) so a test can see what the chain asked."""

    answers: dict[TextKind, str] = field(default_factory=dict)
    confidence: float = 95.0
    calls: list[tuple[TextKind, tuple[int, ...]]] = field(default_factory=list)

    def read_line(self, image: np.ndarray, *, kind: TextKind) -> OcrResult:
        self.calls.append((kind, image.shape))
        text = self.answers.get(kind, "")
        return OcrResult(text, tuple(self.confidence for _ in text.split()))


@dataclass
class FakeReader:
    """The FieldReader protocol without models: a scripted TextRead per kind, every crop kept."""

    answers: dict[TextKind, TextRead] = field(default_factory=dict)
    accept_name_at: float = 0.9
    crops: list[tuple[TextKind, np.ndarray]] = field(default_factory=list)

    def read(self, crop: np.ndarray, kind: TextKind) -> TextRead:
        self.crops.append((kind, crop))
        return self.answers.get(kind, TextRead("", 0.0))


def context_for(masks: Masks, layout: SheetLayout, *, gray: np.ndarray | None = None,
                settings: ReadSettings = _SETTINGS, reader: FakeReader | None = None) -> PageContext:
    """A PageContext around synthetic masks and a layout (the page is white unless given)."""
    gray = np.full(masks.ink.shape, 255, np.uint8) if gray is None else gray
    return PageContext(gray, masks, layout, Scale.of_layout(layout), settings, reader or FakeReader(),
                       DebugWriter.off())
