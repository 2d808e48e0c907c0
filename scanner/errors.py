"""Errors a page, a file or a run can end in. Each carries the page status it maps to, the code a command exits
with when the error stops it, and a message that says what to do (after OCRmyPDF's exceptions.py)."""

from __future__ import annotations

import enum

from scanner.types import PageStatus


class ExitCode(enum.IntEnum):
    """What `petition` exits with (README "Exit codes"). Only the CLI exits; everything else raises or reports."""

    OK = 0  # every page was read
    USAGE = 2  # a usage error, or something missing from this machine (the message says what to install)
    PARTIAL = 3  # some files or pages could not be read; the rest are in the output
    NOTHING_READ = 4  # nothing could be read
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class SheetError(Exception):
    """Base class: something about the input, not a bug in the tool."""

    status: PageStatus = PageStatus.FAILED
    advice: str = ""
    # In a batch a bad input becomes that page's status; an error stops a command only when its one input
    # (the blank sheet of `form detect`) cannot be read, and then nothing was read.
    exit_code: ExitCode = ExitCode.NOTHING_READ

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

    exit_code: ExitCode = ExitCode.USAGE


class RecognizerMissing(SetupError):
    """The handwriting recognizer's package or model files are not installed."""


def exit_code(error: BaseException) -> ExitCode:
    """The code a command exits with when `error` stops it: its class's own. An error that carries none (the
    workspace's WorkspaceError, for now) was about what the command was given: a usage error."""
    return ExitCode(getattr(error, "exit_code", ExitCode.USAGE))
