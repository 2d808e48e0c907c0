"""Which recognizer reads handwritten fields: the PP-OCR handwriting cascade (default) or Tesseract's three
reads and vote (the first version, kept to compare on the same sheets). Printed text is always Tesseract's."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from scanner.ocr import OcrEngine, TextKind, default_engine
from scanner.types import TextRead

TESSERACT_ACCEPT_AT = 0.85  # the first version's threshold (98.9% precise above it on its own fonts)


class Recognizer(str, enum.Enum):
    PP_OCR = "pp-ocr"
    TESSERACT = "tesseract"


class FieldReader(Protocol):
    """Reads one cleaned handwritten crop; knows above which confidence a name may skip review."""

    accept_name_at: float

    def read(self, crop: np.ndarray, kind: TextKind) -> TextRead: ...


@dataclass
class TesseractFieldReader:
    engine: OcrEngine
    accept_name_at: float = TESSERACT_ACCEPT_AT

    def read(self, crop: np.ndarray, kind: TextKind) -> TextRead:
        from scanner.textread import read_field

        return read_field(crop, kind, self.engine)


class HandwritingFieldReader:
    """PP-OCR models in this process, confidence from the shipped calibration."""

    def __init__(self) -> None:
        from scanner import calibration
        from scanner.pp_ocr import model_files, shared_recognizer
        from scanner.pp_ocr import Model as PpModel

        for model in PpModel:  # fail now, with install advice, rather than on the first name of a batch
            model_files(model)
        self._recognizer = shared_recognizer()
        self._calibration = calibration.load()
        self.accept_name_at = self._calibration.name.accept_at

    def read(self, crop: np.ndarray, kind: TextKind) -> TextRead:
        from scanner.handwriting import read_name, read_other

        if kind is TextKind.NAME:
            reading = read_name(crop, self._recognizer)
            return TextRead(reading.text, self._calibration.name.probability(reading.evidence), reading.evidence)
        reading = read_other(crop, kind, self._recognizer)
        return TextRead(reading.text, self._calibration.field.probability(reading.evidence), reading.evidence)


@cache
def field_reader(recognizer: Recognizer = Recognizer.PP_OCR) -> FieldReader:
    """One reader per process and recognizer (workers build their own after fork)."""
    if recognizer is Recognizer.TESSERACT:
        return TesseractFieldReader(default_engine())
    return HandwritingFieldReader()
