"""What the stages after the layout share for one page, in one frozen object (after OCRmyPDF's PageContext)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scanner.debug import DebugWriter
from scanner.fields import FieldReader
from scanner.grid import Masks
from scanner.scale import Scale
from scanner.settings import ReadSettings
from scanner.types import SheetLayout


@dataclass(frozen=True)
class PageContext:
    """One upright page whose layout is known: the ink stage and the line reading take this, not loose values."""

    gray: np.ndarray  # the upright, leveled page at the working resolution
    masks: Masks  # ink, ruling and faint masks of that page (the ones its table was found in)
    layout: SheetLayout
    scale: Scale  # measured once, when the layout was found
    settings: ReadSettings
    reader: FieldReader  # reads handwriting (printed labels were read by the layout stage)
    debug: DebugWriter

    @property
    def accept_name_at(self) -> float:
        """The confidence at which a name skips review: the settings' choice, else the reader's calibrated one."""
        chosen = self.settings.accept_name_confidence
        return chosen if chosen is not None else self.reader.accept_name_at
