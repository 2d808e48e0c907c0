"""bench/bench_review.py: its Markdown section replaces only itself, and a short run works end to end."""

from __future__ import annotations

import pytest

from bench import bench_review


@pytest.fixture(scope="module")
def bench():
    return bench_review


def test_the_section_is_appended_once_then_replaced_and_the_rest_is_kept(bench, tmp_path):
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\n<!-- bench:read:start -->\nreading\n<!-- bench:read:end -->\n")
    bench.write_section(target, "first\n")
    bench.write_section(target, "second\n")
    text = target.read_text()
    assert "reading" in text and "second" in text and "first" not in text
    assert text.count(bench.START) == 1 and text.count(bench.END) == 1


@pytest.mark.slow
def test_a_short_run_reports_percentiles_and_a_verdict(bench, tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    bench.main(["--users", "2", "--seconds", "2", "--think", "0.05", "--lines", "60", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "next-item page (GET /review)" in printed and "submit (POST /api/decide)" in printed
    assert "PASS" in printed or "FAIL" in printed
    assert bench.START in out.read_text()
