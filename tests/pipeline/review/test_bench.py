"""bench/bench_review.py: a short run works end to end."""

from __future__ import annotations

import pytest

from bench import bench_review


@pytest.fixture(scope="module")
def bench():
    return bench_review


@pytest.mark.slow
def test_a_short_run_reports_percentiles_and_a_verdict(bench, tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    bench.main(["--users", "2", "--seconds", "2", "--think", "0.05", "--lines", "60", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "next-item page (GET /review)" in printed and "submit (POST /api/decide)" in printed
    assert "PASS" in printed or "FAIL" in printed
    assert "<!-- bench:review:start -->" in out.read_text()
