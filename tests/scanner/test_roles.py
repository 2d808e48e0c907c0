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
