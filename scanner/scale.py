"""How big things are on one page: the sizes that kernels and pixel thresholds derive from.

After img2table's `char_length` and `median_line_sep`: sizes come from the page, not from the code. Two kinds:

- measured on the page where the reader measures anyway: the ruling's thickness (grid, or a form's fit) and
  the table's line height (the layout);
- from the resample size: every page is resampled so that its short side is `WORK_SHORT_SIDE` px
  (normalize.py), and the remaining pixel sizes were tuned at `REFERENCE_SHORT_SIDE` px. `unit` is the ratio,
  so each such size is written as its value at the reference (`scale.px(4)`: 4 px at 1700 px).

Today both sides are 1700 px: `unit` is exactly 1.0 and every derived size equals the constant it replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scanner.normalize import WORK_SHORT_SIDE
from scanner.types import SheetLayout

# The sheet's short side, in pixels, at which the pixel sizes in the code were tuned (letter at 200 dpi).
REFERENCE_SHORT_SIDE = 1700
# Working pixels per reference pixel: 1.0 while pages are resampled to the reference size.
WORK_UNIT = WORK_SHORT_SIDE / REFERENCE_SHORT_SIDE


def px(at_reference: float, unit: float = WORK_UNIT) -> int:
    """A length given in reference pixels, in working pixels (at least 1)."""
    return max(1, round(at_reference * unit))


def area_px(at_reference: float, unit: float = WORK_UNIT) -> int:
    """An area given in reference pixels, in working pixels: areas grow with the square of the unit."""
    return max(1, round(at_reference * unit * unit))


def odd_px(at_reference: float, unit: float = WORK_UNIT) -> int:
    """A kernel size in working pixels, odd so that the kernel has a centre."""
    return px(at_reference, unit) | 1


@dataclass(frozen=True)
class Scale:
    """One page's sizes, measured once when its layout is known (see the module docstring)."""

    unit: float  # working pixels per reference pixel (from the resample size)
    rule_px: int  # typical ruling thickness, measured from the table's rules
    line_px: float  # median height of the table's lines, measured from the layout (0 if it has none)

    @classmethod
    def of_layout(cls, layout: SheetLayout, *, unit: float = WORK_UNIT) -> Scale:
        heights = [line.y1 - line.y0 for line in layout.lines]
        return cls(unit, layout.ruling_px, float(np.median(heights)) if heights else 0.0)

    @property
    def row_px(self) -> int:
        """The line height in whole pixels (at least 1), for sizes that need an integer."""
        return int(self.line_px) if self.line_px else 1

    def px(self, at_reference: float) -> int:
        return px(at_reference, self.unit)

    def area_px(self, at_reference: float) -> int:
        return area_px(at_reference, self.unit)

    def odd_px(self, at_reference: float) -> int:
        return odd_px(at_reference, self.unit)
