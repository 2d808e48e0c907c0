"""Voter files: import speed and memory, matching speed, and matching accuracy on sheets read by the machine.

Usage: python bench/bench_voters.py [--voters 1000000] [--lines 10000] [--sheets 60] [--eval-voters 50000]
                                    [--out BENCHMARKS.md]

- import: a synthetic voter file of --voters rows (samples/voter_file.py) imported into a fresh workspace by a
  child process, so its peak RSS is the import's alone (goal: 1M rows < 3 min, < 1 GB).
- matching speed: --lines typed-in signed lines (registered voters' names with one recognizer-like slip,
  and unregistered invented people) matched by their text against that file (goal: 10,000 lines < 1 min);
  the crops' re-scoring is timed per line on the accuracy run (it runs the recognizer once per line).
- accuracy: --sheets handwriting sheets in the held-out test fonts (samples/handwriting.py, 25% repeat
  signers), read by the machine alone (`add`), matched against a --eval-voters file with look-alike decoys and
  15% of the signers left unregistered; with the crops' re-scoring and by text alone; then the roster's
  pairwise F1 on repeat signers once matched (pipeline/roster_eval.py).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sections import write_section  # noqa: E402

GOAL_IMPORT_S, GOAL_IMPORT_MB, GOAL_MATCH_S = 180.0, 1024.0, 60.0
GOAL_PRECISION, GOAL_RECALL = 0.99, 0.80
LINES_PER_PAGE = 20
SLIPS = (("m", "n"), ("n", "m"), ("u", "v"), ("i", "l"), ("a", "o"), ("e", "c"), ("h", "n"))


def child_import(workspace: Path, voters: Path) -> dict:
    """Run in a fresh process: import the file; seconds and peak RSS."""
    from pipeline.store import Workspace
    from pipeline.voter_import import import_voter_file

    started = time.perf_counter()
    store = Workspace.open(workspace)
    report = import_voter_file(store, voters)
    store.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"rows": report.rows, "seconds": time.perf_counter() - started, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024}


def _slipped(name: str, rng: random.Random) -> str:
    """One recognizer-like slip in a name, half the time."""
    if rng.random() < 0.5:
        return name
    spots = [(k, b) for k, c in enumerate(name.lower()) for a, b in SLIPS if c == a]
    if not spots:
        return name
    k, b = rng.choice(spots)
    return name[:k] + b.upper() + name[k + 1:]


def typed_lines(voters: Path, rows_in_file: int, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(name, zip) per line: 85% voters of the file (slipped), 15% invented people; sampled, then shuffled."""
    from samples.handwriting import invent_name

    rows = []
    with voters.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if len(rows) < count and rng.random() < 1.2 * count / rows_in_file:
                rows.append((_slipped(f"{row['FIRST_NAME']} {row['LAST_NAME']}", rng), row["ZIP"]))
    lines = rows[:round(count * 0.85)]
    while len(lines) < count:
        given, family, _, _ = invent_name(rng)
        lines.append((f"{given} {family}", ""))
    rng.shuffle(lines)
    return lines


def store_typed_lines(workspace, lines: list[tuple[str, str]]) -> None:
    """The lines as pages of a pretend file, saved as the reader saves pages (no crops)."""
    from scanner.types import (InkMeasure, LineReading, LineStatus, PageRef, PageResult, PageStatus, Presence,
                               Role, TextRead)

    ink = InkMeasure(Presence.PRESENT, 0.1, 0.6)
    sha = "be" * 32
    pages = [lines[k:k + LINES_PER_PAGE] for k in range(0, len(lines), LINES_PER_PAGE)]
    workspace.add_file(sha256=sha, name="typed.pdf", size=1, kind="pdf", page_count=len(pages), status="ok")
    for number, page in enumerate(pages, start=1):
        readings = tuple(LineReading(line=k + 1, status=LineStatus.SIGNED, name=TextRead(name, 0.9),
                                     fields={Role.ZIP: TextRead(zip_code, 0.9)}, signature=ink, name_ink=ink,
                                     struck=False, needs_review=False, review_reasons=())
                         for k, (name, zip_code) in enumerate(page))
        workspace.save_page(sha, PageResult(ref=PageRef(path="typed.pdf", file_name="typed.pdf", page=number,
                                                        kind="pdf", dpi=0), status=PageStatus.OK, sha256=f"{number}",
                                            lines=readings, roles=(Role.ZIP,)))


def speed(work: Path, voters_count: int, lines_count: int) -> dict:
    from pipeline.match import match_workspace
    from pipeline.store import Workspace
    from samples.voter_file import write_voter_file

    voters = work / "voters.csv"
    started = time.perf_counter()
    write_voter_file(ROOT / "samples" / "scans" / "truth.json", voters, records=voters_count, seed=11)
    generated = time.perf_counter() - started
    workspace = work / "speed-ws"
    out = subprocess.run([sys.executable, __file__, "--child-import", str(workspace), str(voters)],
                         capture_output=True, text=True, check=True)
    imported = json.loads(out.stdout.strip().splitlines()[-1])
    store = Workspace.open(workspace)
    store_typed_lines(store, typed_lines(voters, imported["rows"], lines_count, random.Random(5)))
    started, cpu = time.perf_counter(), time.process_time()
    summary = match_workspace(store, pixels=False)
    matched, match_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    again = match_workspace(store, pixels=False)
    rerun = time.perf_counter() - started
    store.close()
    return {"voters": voters_count, "generate_s": generated, "size_mb": voters.stat().st_size / 2**20, **imported,
            "lines": summary.lines, "match_s": matched, "match_cpu_s": match_cpu, "rerun_s": rerun, "rerun_matched": again.matched_now,
            "by_status": summary.by_status}


def accuracy(work: Path, sheets: int, eval_voters: int, workers: int) -> dict:
    """Sheets rendered, read, matched with and without pixels; figures of each."""
    from dataclasses import replace

    from pipeline.add import add_paths
    from pipeline.export import effective_lines, rows_export
    from pipeline.job import ReadJob
    from pipeline.match import match_workspace
    from pipeline.match_eval import evaluate_matches
    from pipeline.roster_eval import evaluate_roster, person_frame, with_persons
    from pipeline.store import Workspace
    from pipeline.voter_import import import_voter_file
    from samples.handwriting import write_handwriting_eval_set
    from samples.voter_file import write_voter_file
    from scanner.read import ReadSettings

    folder, read = work / "sheets", work / "read-ws"
    if not (read / "workspace.sqlite").exists():  # kept with --work: the sheets are read once
        paths = write_handwriting_eval_set(folder, sheets, split="test", seed=41, repeat_share=0.25)
        store = Workspace.open(read)
        started = time.perf_counter()
        add_paths(store, paths, job=ReadJob(settings=replace(ReadSettings(), keep_crops=True)), workers=workers)
        (work / "read_s").write_text(f"{time.perf_counter() - started:.1f}")
        store.close()
    read_s = float((work / "read_s").read_text())
    voters = work / "eval-voters.csv"
    write_voter_file(folder / "truth.json", voters, records=eval_voters, seed=7)
    root = work / "eval-ws"
    for copy in (root, work / "text-ws"):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(read, copy)
        store = Workspace.open(copy)
        import_voter_file(store, voters)
        store.close()
    out = {"sheets": sheets, "voters": eval_voters, "read_s": read_s}
    for how, pixels, path in (("pixels", True, root), ("text", False, work / "text-ws")):
        store = Workspace.open(path)
        before = effective_lines(store)
        started = time.perf_counter()
        summary = match_workspace(store, pixels=pixels)
        seconds = time.perf_counter() - started
        result = evaluate_matches(store, voters.with_name(voters.name + ".truth.json"))
        out[how] = {"seconds": seconds, "lines": summary.lines, "auto": result.auto, "right": result.auto_right,
                    "registered": result.registered, "precision": result.precision, "recall": result.recall,
                    "unregistered_auto": result.unregistered_auto, "statuses": result.statuses,
                    "wrong": list(result.wrong[:10])}
        if pixels:
            out["review"] = _review_closed(before, effective_lines(store), _truth_frame(folder))
            rows = rows_export(effective_lines(store))
            truth = with_persons(_truth_frame(folder), person_frame(folder / "truth.json"))
            for key, frame in (("roster", rows), ("roster_unmatched", rows.drop(columns=["voter_id"]))):
                scores = evaluate_roster(frame, truth).scores
                out[key] = {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1}
        store.close()
    return out


def _review_closed(before, after, truth) -> dict:
    """Lines sent to volunteers before and after matching (the voter file answers a name's spelling), and how many
    of the lines it closed had their name read wrong (the signer is known; the sheet's reading stays as read)."""
    from pipeline.evaluate import same_name

    keys = ["file", "page", "line"]
    merged = before[[*keys, "needs_review"]].merge(after[[*keys, "needs_review", "name"]], on=keys,
                                                   suffixes=("_before", "_after"))
    closed = merged[merged["needs_review_before"] & ~merged["needs_review_after"]]
    names = truth.set_index(keys)["truth_name"]
    wrong = sum(not same_name(row.name, names.get((row.file, row.page, row.line), "")) for row in closed.itertuples())
    return {"lines": len(merged), "before": int(merged["needs_review_before"].sum()),
            "after": int(merged["needs_review_after"].sum()), "closed": len(closed), "closed_read_wrong": wrong}


def _truth_frame(folder: Path):
    from pipeline.evaluate import truth_frame

    return truth_frame(folder / "truth.json")


def report(speed_figures: dict | None, acc: dict | None) -> str:
    lines = ["## Voter files and matching (bench/bench_voters.py)", "",
             f"Run {datetime.date.today().isoformat()} on {platform.machine()} ({platform.processor() or 'cpu'}),"
             f" Python {platform.python_version()}, 2 cores shared with other work (wall time, and the process's"
             " own CPU time in brackets).", ""]
    if speed_figures:
        s = speed_figures
        lines += [f"- import of {s['rows']:,} voters ({s['size_mb']:.0f} MB CSV, samples/voter_file.py):"
                  f" {s['seconds']:.1f} s ({s['cpu_s']:.1f} s CPU), peak RSS {s['rss_mb']:.0f} MB (goal <"
                  f" {GOAL_IMPORT_S:.0f} s,"
                  f" < {GOAL_IMPORT_MB:.0f} MB); generating the file took {s['generate_s']:.1f} s",
                  f"- matching {s['lines']:,} typed-in signed lines by their text against it: {s['match_s']:.1f} s"
                  f" ({s['match_cpu_s']:.1f} s CPU)"
                  f" (goal < {GOAL_MATCH_S:.0f} s); statuses {s['by_status']}; a second run {s['rerun_s']:.1f} s,"
                  f" {s['rerun_matched']} lines matched again (idempotent)", ""]
    if acc:
        lines += [f"Accuracy: {acc['sheets']} handwriting sheets in the held-out test fonts (25% repeat signers),"
                  f" read by the machine alone in {acc['read_s']:.0f} s, against {acc['voters']:,} voters with"
                  " look-alike decoys (same surname, one letter off, namesakes) and 15% of signers unregistered.", "",
                  "| matching | lines | auto-matched | precision | registered matched automatically |"
                  " unregistered auto-matched | seconds | s / line |", "|---|---|---|---|---|---|---|---|"]
        for how in ("pixels", "text"):
            r = acc[how]
            lines.append(f"| {'names + crops (CTC)' if how == 'pixels' else 'names only'} | {r['lines']} |"
                         f" {r['auto']} | {r['precision']:.1%} | {r['recall']:.1%} ({r['right']}/{r['registered']})"
                         f" | {r['unregistered_auto']} | {r['seconds']:.1f} | {r['seconds'] / max(r['lines'], 1):.3f} |")
        lines += ["", f"Goals: precision ≥ {GOAL_PRECISION:.0%}, registered matched automatically ≥ {GOAL_RECALL:.0%},"
                  " unregistered never. Statuses (truth:status), names + crops: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(acc["pixels"]["statuses"].items())) + "."]
        if "roster" in acc:
            r = acc["roster"]
            lines.append(f"Roster once matched (repeat signers, pairwise): precision {r['precision']:.3f}, recall"
                         f" {r['recall']:.3f}, F1 {r['f1']:.3f} (goal F1 ≥ 0.95); the same roster without the"
                         f" voter ids: F1 {acc['roster_unmatched']['f1']:.3f}.")
        if "review" in acc:
            r = acc["review"]
            lines.append(f"Lines sent to volunteers: {r['before']} of {r['lines']} ({r['before'] / r['lines']:.1%})"
                         f" before matching, {r['after']} ({r['after'] / r['lines']:.1%}) after: the voter file"
                         f" answered {r['closed']} lines whose only doubt was the name's spelling ({r['closed_read_wrong']}"
                         " of them read with a wrong spelling, the signer matched all the same).")
        if acc["pixels"]["wrong"]:
            lines += ["", "Wrong automatic matches (names + crops):", *[f"- {w}" for w in acc["pixels"]["wrong"]]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--sheets", type=int, default=60)
    parser.add_argument("--eval-voters", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--work", type=Path, help="keep the work here (sheets read once, then reused)")
    parser.add_argument("--child-import", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_import:
        print(json.dumps(child_import(*args.child_import)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-voters-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        speed_figures = None if args.skip_speed else speed(work, args.voters, args.lines)
        acc = None if args.skip_accuracy else accuracy(work, args.sheets, args.eval_voters, args.workers)
    text = report(speed_figures, acc)
    print(text)
    if args.out:
        write_section(args.out, text, name="voters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
