"""Will it qualify: line verdicts, the board's projection (checked on CCR §20540's worked example), the report."""

from __future__ import annotations

import csv
import re

import pytest

from pipeline.match import match_workspace
from pipeline.qualify import draw_sample, estimate, qualification, sample_size
from pipeline.report_html import write_report
from scanner.types import LineStatus
from tests.pipeline.voters.support import FILE_SHA, make_workspace


def test_the_projection_reproduces_californias_worked_example():
    # Cal. Code Regs. tit. 2 §20540: raw 24,034, sample 722, 516 valid, 2 duplicates -> 15,028 projected valid.
    p = estimate(24_034, 722, 516, 2)
    assert (p.uncorrected, p.duplicate_penalty, p.projected) == (17_178, 2_150, 15_028)
    assert p.low < p.projected < p.high


def test_the_sample_is_500_or_3_percent_and_the_same_every_time():
    assert sample_size(400) == 400 and sample_size(10_000) == 500 and sample_size(100_000) == 3_000
    lines = [f"line:{'ab' * 32}:1:{k}" for k in range(2_000)]
    assert draw_sample(lines) == draw_sample(list(reversed(lines)))
    assert len(set(draw_sample(lines))) == 500


@pytest.fixture
def workspace(tmp_path):
    store = make_workspace(tmp_path / "ws")
    match_workspace(store, pixels=False)
    yield store
    store.close()


def test_lines_are_valid_or_invalid_with_their_reason(workspace):
    q = qualification(workspace, required=2)
    reasons = {v.line: v.reason for v in q.verdicts}
    assert reasons[1] == "" and reasons[2] == "" and reasons[7] == ""
    assert reasons[3] == "match to review" and reasons[6] == "not registered" and reasons[8] == "name only"
    assert q.valid == 3 and q.margin == 1 and q.outlook() == "qualifies"
    assert q.invalid["name only"] == 1
    assert ("3", 1, 1) in q.wards  # Koa Mensah's voter is in ward 3


def test_a_repeat_signer_counts_once_and_a_wrong_ward_does_not_count(workspace):
    workspace.record_decision(file_sha256=FILE_SHA, page_no=1, line_no=6, field="name", value="Koa Mensah",
                              decided_by="vol")
    workspace.record_decision(file_sha256=FILE_SHA, page_no=1, line_no=6, field="zip", value="02134",
                              decided_by="vol")
    match_workspace(workspace, pixels=False)
    q = qualification(workspace)
    reasons = {v.line: v.reason for v in q.verdicts}
    assert reasons[1] == "" and reasons[6] == "duplicate"
    in_ward_2 = qualification(workspace, ward="Ward 2")
    assert {v.line: v.reason for v in in_ward_2.verdicts}[2] == "" and in_ward_2.invalid["wrong ward"] >= 1


def test_the_report_is_self_contained_escaped_and_its_figures_are_csv(workspace, tmp_path):
    workspace.record_decision(file_sha256=FILE_SHA, page_no=1, line_no=8, field="status",
                              value=LineStatus.SIGNED.value, decided_by="vol")
    workspace.record_decision(file_sha256=FILE_SHA, page_no=1, line_no=8, field="name",
                              value="<script>alert(1)</script>", decided_by="vol")
    match_workspace(workspace, pixels=False)
    q = qualification(workspace, required=10)
    html_path, figures, sample = write_report(q, tmp_path / "out" / "report.html")
    text = html_path.read_text(encoding="utf-8")
    assert "<script" not in text and not re.search(r"(src|href)=", text)
    assert "<svg" in text and f"{q.valid:,} valid signatures" in text
    with figures.open(newline="", encoding="utf-8") as handle:
        rows = {(r["section"], r["name"]): r["value"] for r in csv.DictReader(handle)}
    assert rows[("summary", "valid")] == str(q.valid) and rows[("summary", "margin")] == str(q.margin)
    assert rows[("summary", "outlook")] == "falls short"
    with sample.open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == q.raw  # fewer than 500 signatures: the sample is all
