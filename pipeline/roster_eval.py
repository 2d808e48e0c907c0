"""How well the roster finds repeat signers on sheets read by the machine alone: pairwise precision and recall.

The roster is built as the product builds it (pipeline/export.py `people` -> pipeline/dedupe.py `dedupe`, default
settings, no human decisions) from the lines the machine called signed with a name, using the zip, e-mail and
address it read. Truth comes from truth.json's per-line "person" ids (samples/handwriting.py with
repeat_share > 0), so identity never depends on how a name was spelt.

- truth pairs: two lines that are truly signed and carry the same person id;
- merged pairs: two occurrences the dedupe put in one cluster; right when they are a truth pair;
- a truth pair is missed when either line was not read as signed (or read with no name) or the two were not merged;
  "offered for review" counts the missed truth pairs the dedupe returned as possible duplicates.

    python -m pipeline.roster_eval SAMPLES ROWS.csv    # the figures, then every missed pair and wrong merge
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import pandas as pd

from rapidfuzz.distance import Levenshtein

from pipeline.dedupe import MAX_EDITS, DedupeResult, dedupe
from pipeline.evaluate import char_error_rate
from pipeline.names import are_nicknames, fold, parse_name

Key = tuple[str, int, int]  # (file, page, line)


@dataclass(frozen=True)
class RosterScores:
    truth_pairs: int
    found: int  # truth pairs merged
    merged_pairs: int
    right: int  # merged pairs that are truth pairs (= found)
    offered: int  # truth pairs not merged but offered for review
    offered_all: int  # every pair offered for review

    @property
    def recall(self) -> float:
        return self.found / max(self.truth_pairs, 1)

    @property
    def precision(self) -> float:
        return self.right / max(self.merged_pairs, 1)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class RosterEval:
    scores: RosterScores
    truth_pairs: frozenset[tuple[Key, Key]]
    merged_pairs: frozenset[tuple[Key, Key]]
    offered_pairs: frozenset[tuple[Key, Key]]
    result: DedupeResult


def person_frame(truth_path: Path) -> pd.DataFrame | None:
    """file, page, line, person, repeat per line of truth.json; None when the truth has no person ids."""
    data = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    records = [{"file": name, "page": int(page["page"]), "line": int(line["line"]),
                "person": line["person"], "repeat": line.get("repeat", "")}
               for name, entry in data["files"].items() for page in entry["pages"] for line in page["lines"]
               if "person" in line]
    return pd.DataFrame.from_records(records, columns=["file", "page", "line", "person", "repeat"]) if records else None


def with_persons(truth: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """The truth frame (pipeline.evaluate.truth_frame) with person and repeat columns ("" where none)."""
    out = truth.merge(persons, on=["file", "page", "line"], how="left")
    return out.fillna({"person": "", "repeat": ""})


def _key(file: object, page: object, line: object) -> Key:
    return str(file), int(page), int(line)


def _occurrence(key: Key) -> str:
    return f"{key[0]}:{key[1]}:{key[2]}"


def _pairs(groups: list[list[Key]]) -> frozenset[tuple[Key, Key]]:
    return frozenset(tuple(sorted(p)) for group in groups for p in combinations(sorted(group), 2))  # type: ignore[misc]


def truth_pairs(truth: pd.DataFrame) -> frozenset[tuple[Key, Key]]:
    """Pairs of truly signed lines of one person."""
    signed = truth[(truth["truth_status"] == "signed") & (truth["person"] != "")]
    groups = [[_key(*k) for k in part[["file", "page", "line"]].itertuples(index=False)]
              for _, part in signed.groupby("person")]
    return _pairs(groups)


def machine_roster(rows: pd.DataFrame) -> tuple[DedupeResult, dict[str, Key]]:
    """Dedupe the machine's signed, named lines as the product does; the result and occurrence id -> line."""
    from pipeline.export import people  # the product's own Person construction

    lines = rows.copy()
    for column in ("zip", "email", "address"):
        if column not in lines:
            lines[column] = ""
    lines = lines.fillna({"name": "", "zip": "", "email": "", "address": "", "status": ""})
    keys = [_key(f, p, n) for f, p, n in zip(lines["file"], lines["page"], lines["line"])]
    lines["occurrence"] = [_occurrence(k) for k in keys]
    return dedupe(people(lines)), dict(zip(lines["occurrence"], keys))


def evaluate_roster(rows: pd.DataFrame, truth: pd.DataFrame) -> RosterEval:
    """Score the machine's roster against truth (a truth frame with a person column, see with_persons)."""
    expected = truth_pairs(truth)
    result, where = machine_roster(rows)
    merged = _pairs([[where[o] for o in cluster] for cluster in result.clusters if len(cluster) > 1])
    offered = frozenset(tuple(sorted((where[p.a], where[p.b]))) for p in result.possible)  # type: ignore[misc]
    right = merged & expected
    scores = RosterScores(truth_pairs=len(expected), found=len(right), merged_pairs=len(merged), right=len(right),
                          offered=len((offered & expected) - merged), offered_all=len(offered))
    return RosterEval(scores, expected, merged, offered, result)  # type: ignore[arg-type]


def truth_rows(truth: pd.DataFrame) -> pd.DataFrame:
    """A rows frame that reads every line exactly as written: what the dedupe alone achieves (no OCR errors)."""
    fields = [{k: str(v) for k, v in (f or {}).items()} for f in truth["truth_fields"]]
    return pd.DataFrame({"file": truth["file"], "page": truth["page"].astype(str), "line": truth["line"].astype(str),
                         "status": truth["truth_status"], "name": truth["truth_name"],
                         **{c: [f.get(c, "") for f in fields] for c in ("zip", "email", "address")}})


def roster_report(scores: RosterScores) -> str:
    s = scores
    return (f"roster: {s.truth_pairs} repeat pairs in truth; found {s.found} (recall {s.recall:.3f}), "
            f"{s.merged_pairs} merged pairs, {s.right} right (precision {s.precision:.3f}), F1 {s.f1:.3f}; "
            f"{s.offered} more offered for review (of {s.offered_all} offered)")


def roster_section(rows: pd.DataFrame, truth: pd.DataFrame, truth_path: Path) -> str:
    """The `petition eval` block, or "" when the truth has no person ids or no repeat pair."""
    persons = person_frame(truth_path)
    if persons is None:
        return ""
    full = with_persons(truth, persons)
    if not truth_pairs(full):
        return ""
    return roster_report(evaluate_roster(rows, full).scores)


def misses(rows: pd.DataFrame, truth: pd.DataFrame, evaluation: RosterEval) -> pd.DataFrame:
    """One row per truth pair not merged and per wrong merge: both lines as written and as read, and why."""
    info = truth.set_index(["file", "page", "line"])
    read = rows.astype({"page": int, "line": int}).fillna("").set_index(["file", "page", "line"])

    names_on_page = {k: list(part["truth_name"]) for k, part in truth.groupby(["file", "page"])}

    def side(key: Key) -> dict[str, str]:
        t = info.loc[key] if key in info.index else {}
        r = read.loc[key] if key in read.index else {}
        name, written = str(r.get("name", "")), str(t.get("truth_name", ""))
        # The name of another line of the page, read here: lines were lost or split, so the numbering shifted.
        elsewhere = bool(name.strip()) and char_error_rate(name, written) > 0.3 and any(
            other != written and char_error_rate(name, other) <= 0.3 for other in names_on_page.get(key[:2], []))
        return {"truth": written, "truth_status": str(t.get("truth_status", "")),
                "person": str(t.get("person", "")), "repeat": str(t.get("repeat", "")),
                "read": name, "status": str(r.get("status", "(no line)")), "shifted": "yes" if elsewhere else "",
                "zip": str(r.get("zip", "")), "email": str(r.get("email", ""))}

    def why(a: dict[str, str], b: dict[str, str], wrong: bool) -> str:
        kinds = "/".join(x["repeat"] for x in (a, b) if x["repeat"])
        written = f"; written as {kinds} repeat" if kinds else ""
        if any(x["shifted"] for x in (a, b)):
            return "line numbering shifted (a name read on another line's row)" + written
        if wrong:
            if a["person"] and a["person"] == b["person"]:
                return "same person, but a line that is not truly signed"
            return "different people merged"
        if any(x["status"] == "(no line)" for x in (a, b)):
            return "line not read (its page failed, or the reader lost the line)"
        unsigned = [x for x in (a, b) if x["status"] != "signed" or not x["read"].strip()]
        if unsigned:
            return "not read as signed" if any(x["status"] != "signed" for x in unsigned) else "no name read"
        misread = [x for x in (a, b) if fold(x["read"]) != fold(x["truth"])]  # accents and case aside
        if misread:
            return f"misread name ({len(misread)} of 2)" + written
        return "read right, not matched (" + ", ".join(_apart(a, b)) + ")" + written

    records = []
    for pairs, wrong in ((evaluation.truth_pairs - evaluation.merged_pairs, False),
                         (evaluation.merged_pairs - evaluation.truth_pairs, True)):
        for ka, kb in sorted(pairs):
            a, b = side(ka), side(kb)
            records.append({"kind": "wrong merge" if wrong else "missed", "why": why(a, b, wrong),
                            "offered": (ka, kb) in evaluation.offered_pairs,
                            "a": f"{ka[0]}:{ka[2]}", "b": f"{kb[0]}:{kb[2]}",
                            **{f"{k}_a": v for k, v in a.items()}, **{f"{k}_b": v for k, v in b.items()}})
    return pd.DataFrame.from_records(records)


def _apart(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """What differs between two lines read right that the dedupe kept apart."""
    x, y = parse_name(a["read"]), parse_name(b["read"])
    out = []
    if x.key_first != y.key_first:
        if not are_nicknames(fold(x.first).replace(" ", ""), fold(y.first).replace(" ", "")):
            out.append(f"first names {x.first!r}/{y.first!r} not linked by the nickname table")
        elif Levenshtein.distance(f"{x.key_first} {x.key_last}", f"{y.key_first} {y.key_last}") > MAX_EDITS:
            out.append(f"nicknames {x.first!r}/{y.first!r} never compared: over the blocking prefilter's "
                       f"{MAX_EDITS} edits, and no shared zip or e-mail")
    if x.middle and y.middle and fold(x.middle)[:1] != fold(y.middle)[:1]:
        out.append("middle initials differ")
    za, zb = ("".join(c for c in v if c.isdigit()) for v in (a["zip"], b["zip"]))
    if za and zb and za != zb:
        out.append(f"zips read differently ({za}/{zb})")
    ea, eb = a["email"].strip().lower(), b["email"].strip().lower()
    if ea and eb and ea != eb:
        out.append(f"e-mails read differently ({ea}/{eb})")
    return out or ["no difference found"]


def main(argv: list[str] | None = None) -> int:
    """python -m pipeline.roster_eval SAMPLES ROWS.csv: the roster figures, then every miss and wrong merge."""
    from pipeline.evaluate import truth_frame

    samples, rows_path = (Path(a) for a in (argv if argv is not None else sys.argv[1:]))
    persons = person_frame(samples / "truth.json")
    if persons is None:
        print("truth.json has no person ids (render with --repeat-share)")
        return 2
    truth = with_persons(truth_frame(samples / "truth.json"), persons)
    rows = pd.read_csv(rows_path, keep_default_na=False, dtype=str)
    evaluation = evaluate_roster(rows, truth)
    print(roster_report(evaluation.scores))
    exact = evaluate_roster(truth_rows(truth), truth).scores
    print("as written (every line read exactly right): " + roster_report(exact))
    for r in misses(rows, truth, evaluation).itertuples():
        print(f"\n{r.kind}: {r.why}{' (offered for review)' if r.offered else ''}")
        for s in "ab":
            g = lambda k: getattr(r, f"{k}_{s}")  # noqa: E731
            print(f"  {getattr(r, s):38s} {g('person'):6s} {g('truth_status'):9s} truth {g('truth')!r:32s} "
                  f"read {g('status'):9s} {g('read')!r} zip {g('zip')!r} email {g('email')!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
