"""docs/architecture.md is the map of the code: every module is named in its package's section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("scanner", "pipeline", "pipeline/store", "pipeline/review")


def _sections() -> dict[str, str]:
    """Each '## package/' or '### package/' section's text, keyed by the package path."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^#{2,3} ", text, flags=re.MULTILINE)
    sections = {}
    for part in parts:
        heading = part.split("\n", 1)[0]
        match = re.match(r"([a-z/]+)/(:|$)", heading.strip())
        if match:
            sections[match.group(1)] = part
    return sections


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_named_in_its_section(package):
    section = _sections().get(package)
    assert section is not None, f"docs/architecture.md has no section for {package}/"
    modules = sorted(p.name for p in (ROOT / package).glob("*.py") if p.name != "__init__.py")
    missing = [m for m in modules if f"`{m}`" not in section and f"`{m[:-3]}" not in section]
    assert not missing, f"docs/architecture.md does not name {missing} under {package}/"
