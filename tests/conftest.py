"""Session-wide fixtures: sheets are rendered (and read) once per test run."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
from hypothesis import settings

from samples import render
from tests.support import DPI, read_gray, to_gray

# CI replays the same examples every run (no flaky merges); locally each run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


class SheetCache:
    """Rendered sample sheets (200 dpi) and their upright readings, made on first use."""

    @functools.cache
    def sheet(self, layout: str, seed: int, name_font: str | None = None):
        image, truth = render.render_sheet(layout, seed=seed, name_font=name_font, dpi=DPI)
        return image, truth

    def gray(self, layout: str, seed: int, name_font: str | None = None) -> np.ndarray:
        return to_gray(self.sheet(layout, seed, name_font)[0])

    @functools.cache
    def reading(self, layout: str, seed: int, name_font: str | None = None):
        return read_gray(self.gray(layout, seed, name_font))

    def __hash__(self) -> int:  # functools.cache on methods needs a hashable self
        return id(self)


@pytest.fixture(scope="session")
def sheets() -> SheetCache:
    return SheetCache()
