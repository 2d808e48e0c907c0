"""How well lines were matched to the voter file, against the truth of a synthetic set (samples/voter_file.py's
sidecar: who each sheet line is, and each person's voter id or null when not registered).

Counted over the lines the machine matched (signed lines with a name): precision among automatic matches,
the share of registered signers' lines matched automatically (to the right voter), and unregistered signers'
lines matched automatically (which should never happen).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.store import Workspace
from pipeline.store import lines as stored_lines
from pipeline.store import matches as stored_matches
from pipeline.store import voters as stored_voters


@dataclass(frozen=True)
class MatchEval:
    lines: int  # matched lines whose person the truth knows
    registered: int  # of them, lines of registered signers
    auto: int  # lines matched automatically
    auto_right: int
    unregistered_auto: int  # unregistered signers' lines matched automatically
    misnumbered: int  # auto-matched to the voter of another line of the same page (the reader's line numbering)
    statuses: dict[str, int]  # "registered:matched", "unregistered:not_found", ...
    wrong: tuple[str, ...]  # what went wrong, a line each (for the report)

    @property
    def precision(self) -> float:
        """Right voters among automatic matches; a line matched to the signer of another line of its page (the
        reader numbered the page's lines differently) is a reading slip, not a wrong match: counted right."""
        return (self.auto_right + self.misnumbered) / self.auto if self.auto else 1.0

    @property
    def recall(self) -> float:
        return self.auto_right / self.registered if self.registered else 0.0

    def report(self) -> str:
        by = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        return (f"{self.lines} signed lines ({self.registered} of registered signers): {self.auto} matched"
                f" automatically, {self.auto_right} to the right voter: precision {self.precision:.1%}, registered"
                f" signers matched automatically {self.recall:.1%}; unregistered matched automatically:"
                f" {self.unregistered_auto}; matched to the signer of another line of the page (lines numbered"
                f" differently by the reader): {self.misnumbered}. By truth and status: {by}")


def evaluate_matches(workspace: Workspace, sidecar: Path) -> MatchEval:
    truth = json.loads(sidecar.read_text(encoding="utf-8"))
    current = stored_voters.current_version(workspace)
    if current is None:
        raise ValueError("the workspace has no voter file")
    matches = stored_matches.stored_matches(workspace, current.version)
    counts: Counter[str] = Counter()
    wrong: list[str] = []
    lines = registered = auto = right = unregistered_auto = misnumbered = 0
    on_page: dict[str, set[str]] = {}
    for key, person in truth["lines"].items():
        on_page.setdefault(key.rsplit("|", 1)[0], set()).add(truth["people"].get(person) or "")
    for line in stored_lines.all_lines(workspace):
        match = matches.get(line.id)
        person = truth["lines"].get(f"{line.file}|{line.id.page_no}|{line.id.line_no}")
        if match is None or person is None:
            continue
        expected = truth["people"].get(person)
        lines += 1
        registered += expected is not None
        counts[f"{'registered' if expected else 'unregistered'}:{match.status}"] += 1
        if match.status != "matched":
            continue
        auto += 1
        right += match.voter_id == expected
        if match.voter_id != expected and match.voter_id in on_page.get(f"{line.file}|{line.id.page_no}", ()):
            misnumbered += 1
            continue
        unregistered_auto += expected is None
        if match.voter_id != expected:
            wrong.append(f"{line.file}:{line.id.page_no}:{line.id.line_no} read {line.name!r}: matched"
                         f" {match.voter_id}, truth {expected}")
    return MatchEval(lines, registered, auto, right, unregistered_auto, misnumbered, dict(counts), tuple(wrong))
