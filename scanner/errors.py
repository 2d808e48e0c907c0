"""Errors a page or file can end in. Each carries the page status it maps to and a message that says what to do."""

from __future__ import annotations

from scanner.types import PageStatus


class SheetError(Exception):
    """Base class: something about the input, not a bug in the tool."""

    status: PageStatus = PageStatus.FAILED
    advice: str = ""

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}: {self.advice}" if self.advice else base


class UnreadableInput(SheetError):
    status = PageStatus.UNREADABLE
    advice = "check that it opens on your computer, then export or scan it again as PDF, TIFF, JPEG or PNG"


class EncryptedPdf(SheetError):
    status = PageStatus.ENCRYPTED
    advice = "decrypt it first (qpdf --decrypt in.pdf out.pdf) and read the decrypted copy"


class InputTooLarge(SheetError):
    status = PageStatus.TOO_LARGE
    advice = "scan at 300 dpi or lower, or split the file"


class NoTableFound(SheetError):
    status = PageStatus.NO_TABLE
    advice = "check the page is a signature sheet; if the ruling is too faint, make a form with 'petition form detect' and pass --form"


class PageTimedOut(SheetError):
    status = PageStatus.TIMED_OUT
    advice = "the page took too long to read; rescan it at 300 dpi or lower, or read it alone with a longer --page-timeout"


class SetupError(Exception):
    """Something missing from this machine (a model, a language file), not from the input: says how to install it."""


class RecognizerMissing(SetupError):
    """The handwriting recognizer's package or model files are not installed."""
