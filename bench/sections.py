"""BENCHMARKS.md is shared by several benchmarks: each rewrites only its own marked section."""

from __future__ import annotations

from pathlib import Path

HEADER = "# Benchmarks\n\nFigures written by `make bench` (bench/bench_*.py); never typed by hand.\n"


def write_section(path: Path, body: str, *, name: str) -> None:
    """Replace the section between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` (appended if missing)."""
    start_marker, end_marker = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    text = path.read_text() if path.exists() else HEADER
    section = f"{start_marker}\n{body}{end_marker}\n"
    start, end = text.find(start_marker), text.find(end_marker)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(end_marker):].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
