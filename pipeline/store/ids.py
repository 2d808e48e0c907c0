"""LineId: the one name of a physical line, and its one text form."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TEXT = re.compile(r"line:([0-9a-fA-F]{64}):([0-9]+):([0-9]+)", re.ASCII)


@dataclass(frozen=True)
class LineId:
    """One physical line: its file's content (not the file's name, so a renamed copy is the same line), page, line.

    Its text form "line:<sha256>:<page>:<line>" names a line everywhere: a review item (the app's JSON and forms,
    review_leases, review_actions), an occurrence on the roster and in duplicate_decisions, and the `line_id`
    column of the effective_lines view (migrations.py builds it the same way).
    """

    file_sha256: str
    page_no: int
    line_no: int

    def __str__(self) -> str:
        return f"line:{self.file_sha256}:{self.page_no}:{self.line_no}"

    @property
    def item(self) -> str:
        """The review queue's item for this line: the text form itself."""
        return str(self)

    @classmethod
    def parse(cls, text: str) -> LineId:
        """The line a text form names; ValueError for anything else (a request may carry any string)."""
        match = _TEXT.fullmatch(text)
        if match is None:
            raise ValueError("not a line id")
        return cls(match[1], int(match[2]), int(match[3]))
