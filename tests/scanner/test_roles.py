"""Roles: header and label words name a column, tolerating OCR slips."""

from __future__ import annotations

import pytest

from scanner.roles import role_from_text
from scanner.types import Role


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("PRINTED NAME OF PETITIONER", Role.NAME),
        ("PRINTED NAME OF SIGNER", Role.NAME),
        ("Name", Role.NAME),
        ("SIGNATURE OF PETITIONER", Role.SIGNATURE),
        ("SIGNATURE", Role.SIGNATURE),
        ("SIGNATIJRE", Role.SIGNATURE),  # OCR slip
        ("SIGN ATURE", Role.SIGNATURE),  # OCR splits a word (seen on 200-dpi stacked sheets)
        ("EM AIL", Role.EMAIL),  # the same slip on the stacked sheet's EMAIL label
        ("RESIDENCE ADDRESS", Role.ADDRESS),
        ("STREET", Role.ADDRESS),
        ("ZIP", Role.ZIP),
        ("E-MAIL", Role.EMAIL),
        ("email", Role.EMAIL),
        ("DATE", Role.DATE),
        ("WARD", Role.WARD),
        ("LINE", Role.LINE_NUMBER),
        ("hello", None),
        ("", None),
        ("ZAP", None),  # short keywords must match exactly
    ],
)
def test_role_from_text(text, role):
    assert role_from_text(text) is role


def test_a_header_box_squeezed_to_nothing_is_blank_not_a_crash():
    """Regression: a phone photo's header box cut to zero height at the page edge crashed the page."""
    import numpy as np

    from scanner.grid import Masks
    from scanner.roles import _clean
    from scanner.types import Box

    gray = np.full((50, 80), 255, np.uint8)
    empty = np.zeros_like(gray)
    crop = _clean(gray, Masks(empty, empty, empty, empty), Box(10, 20, 60, 20))
    assert crop.size >= 1 and int(crop.min()) == 255
