"""Tesseract behind a small Protocol: in-process through tesserocr by default, one process per call as a baseline."""

from __future__ import annotations

import enum
import os
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from scanner.errors import SetupError


class TextKind(str, enum.Enum):
    """Which alphabet and segmentation a field is read with."""

    NAME = "name"
    ADDRESS = "address"
    ZIP = "zip"
    DATE = "date"
    EMAIL = "email"
    LABEL = "label"  # printed header or in-cell label text
    LABEL_WORD = "label_word"  # a short printed word alone (ZIP, DATE): Tesseract often drops it as a block
    LINE_NUMBER = "line_number"  # a printed line number in the table's number column


# Restricting the alphabet is the single biggest help Tesseract gets on hand-printed fields.
WHITELISTS: dict[TextKind, str] = {
    TextKind.NAME: string.ascii_letters + " -'.",
    TextKind.ADDRESS: string.ascii_letters + string.digits + " -'.,#/",
    TextKind.ZIP: string.digits + "-",
    TextKind.DATE: string.digits + "/-.",
    TextKind.EMAIL: string.ascii_lowercase + string.ascii_uppercase + string.digits + "@._-+",
    TextKind.LABEL: "",
    TextKind.LABEL_WORD: string.ascii_uppercase + "#-/.",
    TextKind.LINE_NUMBER: string.digits,
}
_PSM_OF_KIND = {TextKind.LABEL: 6, TextKind.LABEL_WORD: 8}  # others: 7, a single text line


@dataclass(frozen=True)
class OcrResult:
    text: str
    word_confidences: tuple[float, ...]  # 0..100 as Tesseract reports them
    char_confidences: tuple[float, ...] = ()  # 0..100 per recognised character, where the engine gives them

    @property
    def mean_confidence(self) -> float:
        return float(np.mean(self.word_confidences)) if self.word_confidences else 0.0

    @property
    def min_confidence(self) -> float:
        return float(min(self.word_confidences)) if self.word_confidences else 0.0


class OcrEngine(Protocol):
    """Reads one cleaned crop (8-bit, dark text on white) as a single line of text."""

    def read_line(self, image: np.ndarray, *, kind: TextKind) -> OcrResult: ...


class TessdataMissing(SetupError):
    """No eng.traineddata on this machine."""


def tessdata_dir() -> Path:
    """Where eng.traineddata lives: $TESSDATA_PREFIX, then the usual Debian and source-install folders."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    candidates += ["/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata"]
    candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata"]
    for candidate in filter(None, candidates):
        if (Path(candidate) / "eng.traineddata").is_file():
            return Path(candidate)
    raise TessdataMissing("eng.traineddata not found: install tesseract-ocr-eng (run 'make setup') or set TESSDATA_PREFIX")


class TesserocrEngine:
    """Tesseract's C API in this process: one API object per page-segmentation mode, reused for every crop."""

    def __init__(self, *, language: str = "eng") -> None:
        import tesserocr

        self._tesserocr = tesserocr
        self._path = str(tessdata_dir())
        self._language = language
        self._apis: dict[int, object] = {}

    def _api(self, psm: int):
        if psm not in self._apis:
            tesserocr = self._tesserocr
            api = tesserocr.PyTessBaseAPI(path=self._path, lang=self._language, psm=psm, oem=tesserocr.OEM.LSTM_ONLY)
            # Names are not dictionary words; the word lists only pull reads toward English.
            api.SetVariable("load_system_dawg", "0")
            api.SetVariable("load_freq_dawg", "0")
            self._apis[psm] = api
        return self._apis[psm]

    def read_line(self, image: np.ndarray, *, kind: TextKind) -> OcrResult:
        from PIL import Image

        api = self._api(_PSM_OF_KIND.get(kind, 7))
        api.SetVariable("tessedit_char_whitelist", WHITELISTS[kind])
        api.SetImage(Image.fromarray(image))
        api.SetSourceResolution(300)
        text = api.GetUTF8Text().strip()
        confidences = tuple(float(c) for c in api.AllWordConfidences())
        return OcrResult(" ".join(text.split()), confidences, self._char_confidences(api))

    def _char_confidences(self, api) -> tuple[float, ...]:
        """One confidence per character: a single doubtful letter hides inside a confident word."""
        level = self._tesserocr.RIL.SYMBOL
        iterator = api.GetIterator()
        found: list[float] = []
        if iterator is None:
            return ()
        for symbol in self._tesserocr.iterate_level(iterator, level):
            if symbol.Empty(level):
                continue
            found.append(float(symbol.Confidence(level)))
        return tuple(found)

    def close(self) -> None:
        for api in self._apis.values():
            api.End()
        self._apis.clear()


class PytesseractEngine:
    """One tesseract process per crop, as most tutorials do it: the naive baseline for `make bench`."""

    def read_line(self, image: np.ndarray, *, kind: TextKind) -> OcrResult:
        import pytesseract

        psm = _PSM_OF_KIND.get(kind, 7)
        whitelist = WHITELISTS[kind]
        config = f"--psm {psm} -c load_system_dawg=0 -c load_freq_dawg=0"
        if whitelist:
            config += " -c tessedit_char_whitelist=" + whitelist.replace(" ", "").replace("'", "")
        data = pytesseract.image_to_data(image, config=config, output_type=pytesseract.Output.DICT)
        words = [(w, float(c)) for w, c in zip(data["text"], data["conf"]) if str(w).strip() and float(c) >= 0]
        return OcrResult(" ".join(w for w, _ in words), tuple(c for _, c in words))


@cache
def default_engine() -> OcrEngine:
    """One engine per process; workers build their own after fork."""
    return TesserocrEngine()


@cache
def default_osd() -> Callable[[np.ndarray], int | None]:
    """Orientation detector: returns 0/90/180/270 (the turn that puts text upright) or None when unsure."""
    import tesserocr
    from PIL import Image

    path = str(tessdata_dir())
    if not (Path(path) / "osd.traineddata").is_file():
        return lambda _image: None
    api = tesserocr.PyTessBaseAPI(path=path, lang="osd", psm=tesserocr.PSM.OSD_ONLY)

    def detect(image: np.ndarray) -> int | None:
        api.SetImage(Image.fromarray(image))
        found = api.DetectOrientationScript()
        if not found or found.get("orient_conf", 0.0) < 1.5:
            return None
        return int(found["orient_deg"])

    return detect
