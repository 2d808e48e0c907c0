"""Overlay images of lines, cells and verdicts, written only when --debug-dir is given (after vxsuite's debug.rs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from scanner.grid import RulesSeen
from scanner.types import LineReading, LineStatus, PageRef, SheetLayout

_COLOURS = {
    LineStatus.SIGNED: (0, 160, 0),
    LineStatus.NAME_ONLY: (0, 140, 255),
    LineStatus.SIGNATURE_ONLY: (255, 120, 0),
    LineStatus.BLANK: (160, 160, 160),
    LineStatus.STRUCK: (0, 0, 220),
    LineStatus.UNCERTAIN: (200, 0, 200),
}


@dataclass(frozen=True)
class DebugWriter:
    directory: Path | None
    stem: str

    @classmethod
    def for_page(cls, directory: str | None, ref: PageRef) -> DebugWriter:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(ref.file_name).stem)
        return cls(Path(directory) if directory else None, f"{safe}_p{ref.page:03d}")

    @classmethod
    def off(cls) -> DebugWriter:
        """A writer that writes nothing (no --debug-dir)."""
        return cls(None, "")

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def write(self, label: str, image: np.ndarray) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(self.directory / f"{self.stem}_{label}.png"), image)

    def layout(self, gray: np.ndarray, layout: SheetLayout) -> None:
        """Lines and cells, written as soon as the layout is known: a page that fails later still has them."""
        if self.directory is None:
            return
        self.write("lines", _draw_lines(gray, layout))
        self.write("cells", _draw_cells(gray, layout))

    def verdicts(self, gray: np.ndarray, layout: SheetLayout, readings: tuple[LineReading, ...]) -> None:
        if self.directory is None:
            return
        self.write("verdicts", _draw_verdicts(gray, layout, readings))

    def no_table(self, gray: np.ndarray, seen: RulesSeen) -> None:
        """The leveled page of a sheet where no table was found, with the ruling and the long rules seen on it."""
        if self.directory is None:
            return
        self.write("no_table", _draw_rules_seen(gray, seen))


def _draw_lines(gray: np.ndarray, layout: SheetLayout) -> np.ndarray:
    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    table = layout.table
    for line in layout.lines:
        cv2.line(canvas, (table.x0, line.y0), (table.x1, line.y0), (255, 0, 0), 2)
        cv2.putText(canvas, str(line.number), (max(0, table.x0 - 45), (line.y0 + line.y1) // 2),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 0, 0), 2)
    if layout.header:
        h = layout.header
        cv2.rectangle(canvas, (h.x0, h.y0), (h.x1, h.y1), (0, 200, 200), 2)
    return canvas


def _draw_cells(gray: np.ndarray, layout: SheetLayout) -> np.ndarray:
    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    for line in layout.lines:
        for spec in layout.fields:
            box = layout.cell(line, spec)
            cv2.rectangle(canvas, (box.x0 + 2, box.y0 + 2), (box.x1 - 2, box.y1 - 2), (0, 120, 255), 1)
    first = layout.lines[0] if layout.lines else None
    for spec in layout.fields if first else ():
        box = layout.cell(first, spec)
        cv2.putText(canvas, spec.role.value, (box.x0 + 4, box.y0 + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
    return canvas


def _draw_verdicts(gray: np.ndarray, layout: SheetLayout, readings: tuple[LineReading, ...]) -> np.ndarray:
    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    for line, reading in zip(layout.lines, readings):
        colour = _COLOURS[reading.status]
        cv2.rectangle(canvas, (layout.table.x0, line.y0), (layout.table.x1, line.y1), colour, 3)
        text = f"{reading.status.value} {reading.name.text} ({reading.name.confidence:.2f})"
        cv2.putText(canvas, text, (layout.table.x0 + 6, line.y1 - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2)
    return canvas


def _draw_rules_seen(gray: np.ndarray, seen: RulesSeen) -> np.ndarray:
    """Ruling-mask pixels tinted (horizontal orange, vertical cyan), each long horizontal rule drawn in red."""
    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    canvas[seen.masks.horizontal > 0] = (0, 140, 255)
    canvas[seen.masks.divider_runs > 0] = (255, 200, 0)
    for rule in seen.rules:
        cv2.line(canvas, (rule.start, rule.pos), (rule.end, rule.pos), (0, 0, 220), max(2, rule.thickness))
    cv2.putText(canvas, f"no table: {len(seen.rules)} long horizontal rules", (20, 40), cv2.FONT_HERSHEY_SIMPLEX,
                1.0, (0, 0, 220), 2)
    return canvas
