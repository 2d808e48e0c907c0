"""bench/bench_read.py: the goals' PASS/FAIL come from the measures, and every row is in the table."""

from __future__ import annotations

import pytest

from bench import bench_read
from bench.bench_read import CONFIGS, Measure, report

FAST = {"tool1": 6.0, "tool2": 3.5, "add1": 6.5, "add2": 3.8, "tess1": 5.0, "naive": 40.0, "peer": 30.0}


@pytest.fixture(autouse=True)
def _no_machine_probe(monkeypatch):
    monkeypatch.setattr(bench_read, "machine_facts", lambda: {"nproc": "2"})
    monkeypatch.setattr(bench_read, "cpu_count", lambda: 2)


def _measures(seconds: dict[str, float], *, rss: float = 250.0) -> list[Measure]:
    return [Measure(c, 12, seconds[c.key], rss, rss, ()) for c in CONFIGS]


def test_every_configuration_is_a_row_and_the_goals_pass_on_fast_figures():
    text = report(_measures(FAST), 12)
    for config in CONFIGS:
        assert f"| {config.label} |" in text
    goals = [line for line in text.splitlines() if line.startswith("- ≥") or line.startswith("- ≤")]
    assert len(goals) == 3 and all(line.endswith("**PASS**") for line in goals)
    assert "5.00×" in text  # this tool on 1 worker: 2 pages/s against the per-cell peer's 0.4


def test_goals_fail_when_the_tool_is_slow_or_heavy():
    slow = {**FAST, "tool1": 20.0, "tool2": 10.0}
    text = report(_measures(slow, rss=600.0), 12)
    goals = [line for line in text.splitlines() if line.startswith("- ≥") or line.startswith("- ≤")]
    assert len(goals) == 3 and all(line.endswith("**FAIL**") for line in goals)


def test_the_naive_rows_may_read_fewer_pages():
    measures = [Measure(c, 3 if c.baseline else 12, FAST[c.key], 250.0, 250.0, ()) for c in CONFIGS]
    assert "the two naive rows read the first 3 of them" in report(measures, 12)
