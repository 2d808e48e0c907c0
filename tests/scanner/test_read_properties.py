"""Properties: a sheet reads the same whatever way it was scanned or photographed."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from samples.render import degrade
from scanner.fields import field_reader
from scanner.read import ReadSettings
from tests.support import read_gray, to_gray

pytestmark = pytest.mark.slow

LAYOUT, SEED = "seed", 1


def _assert_reads_like_upright(sheets, image) -> None:
    upright = sheets.reading(LAYOUT, SEED)
    truth = sheets.sheet(LAYOUT, SEED)[1]
    # The reference itself is right, or comparing with it proves nothing.
    assert [r.status.value for r in upright.lines] == [t.status for t in truth.lines]
    result = read_gray(to_gray(image))
    assert len(result.lines) == len(upright.lines)
    # Never a different verdict that goes unreviewed...
    wrong = [(b.line, b.status.value, a.status.value) for b, a in zip(upright.lines, result.lines)
             if a.status != b.status and not a.needs_review]
    assert wrong == []
    # ...and no extra review either: the same status on every line.
    assert [(r.line, r.status.value) for r in result.lines] == [(r.line, r.status.value) for r in upright.lines]
    # The calibrated bar, or 0.95 when it is higher (at 1.0, "never accept", the check would be empty).
    confident = min(field_reader(ReadSettings().recognizer).accept_name_at, 0.95)
    for before, after in zip(upright.lines, result.lines):
        # A name accepted on the clean sheet is never silently replaced by another on the degraded one: a
        # different reading must come with a confidence that sends it to review.
        if before.name.confidence >= confident and after.name.text != before.name.text:
            assert after.name.confidence < confident and after.needs_review, (before.line, after.name)


@settings(max_examples=5, deadline=None)
@given(skew=st.floats(min_value=-15.0, max_value=15.0), quarters=st.integers(min_value=0, max_value=3))
@example(skew=7.0, quarters=0)
@example(skew=-11.0, quarters=2)
@example(skew=1.5, quarters=0)  # found by hypothesis: line 14 (blank, under a signed line) read uncertain
def test_skewed_and_turned_sheet_reads_like_upright(sheets, skew, quarters):
    image, truth = sheets.sheet(LAYOUT, SEED)
    turned, _ = degrade(image, truth, seed=11, skew_deg=skew, rotate_quarters=quarters)
    _assert_reads_like_upright(sheets, turned)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
@example(seed=0)  # regression: line 14 (blank, under a signed line) once read uncertain (MARGINAL_SIGNATURE)
@example(seed=781)  # found by hypothesis: the same line 14 read signature_only
def test_photographed_sheet_reads_like_upright(sheets, seed):
    image, truth = sheets.sheet(LAYOUT, SEED)
    photo, _ = degrade(image, truth, seed=seed, photo=True)
    _assert_reads_like_upright(sheets, photo)
