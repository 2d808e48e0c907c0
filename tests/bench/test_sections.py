"""bench/sections.py: each benchmark's Markdown section replaces only itself."""

from __future__ import annotations

from bench.sections import HEADER, write_section


def test_a_section_is_appended_once_then_replaced_and_the_rest_is_kept(tmp_path):
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\n<!-- bench:read:start -->\nreading\n<!-- bench:read:end -->\n")
    write_section(target, "first\n", name="review")
    write_section(target, "second\n", name="review")
    text = target.read_text()
    assert "reading" in text and "second" in text and "first" not in text
    assert text.count("<!-- bench:review:start -->") == 1 and text.count("<!-- bench:review:end -->") == 1
    assert text.index("bench:read:end") < text.index("bench:review:start")


def test_a_missing_file_gets_the_header(tmp_path):
    target = tmp_path / "BENCHMARKS.md"
    write_section(target, "figures\n", name="dedupe")
    assert target.read_text().startswith(HEADER) and "figures" in target.read_text()
