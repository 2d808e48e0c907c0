"""The roster at scale: the stored clustering (pipeline/roster.py) against clustering every signer on every call.

Usage: python bench/bench_roster.py [--entries 1000000] [--out BENCHMARKS.md] [--cache /tmp/petition-roster-bench]

A workspace of N signed lines (bench_dedupe's synthetic signers, 20 to a page) is built once and cached; each run
copies it and measures, each step in a fresh subprocess so that peak RSS is that step's alone:
  baseline   what `status` and `export roster` did on every call before: read every line, dedupe() them all
  rebuild    `petition roster rebuild`: the stored roster from scratch (time, peak RSS, database size after)
  update     one new page of 20 lines (repeat signers and new ones), two name corrections, a "same" and a
             "different" verdict, folded in by `roster update`; then `status` and `export roster` (CSV), which
             must find nothing to fold and only read the stored roster
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sections import write_section  # noqa: E402

GOAL_SECONDS = 5.0  # status and export roster after an incremental update
PER_PAGE = 20
FILES = 100  # the signers spread over this many files
SEED = 20261202


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _page(number: int, records, *, file_name: str):
    from scanner.types import (InkMeasure, LineReading, LineStatus, PageRef, PageResult, PageStatus, Presence, Role,
                               TextRead)

    ink = InkMeasure(Presence.PRESENT, 0.1, 0.6)
    readings = tuple(LineReading(line=k + 1, status=LineStatus.SIGNED, name=TextRead(name, 0.9),
                                 fields={Role.ZIP: TextRead(zip_code, 0.9), Role.EMAIL: TextRead(email, 0.9)},
                                 signature=ink, name_ink=ink, struck=False, needs_review=False, review_reasons=())
                     for k, (name, zip_code, email) in enumerate(records))
    return PageResult(ref=PageRef(path=file_name, file_name=file_name, page=number, kind="pdf", dpi=0),
                      status=PageStatus.OK, sha256=f"{file_name}:{number}", lines=readings,
                      roles=(Role.ZIP, Role.EMAIL))


def prepare(folder: Path, entries: int) -> dict:
    """The workspace: N synthetic signed lines, bulk-inserted through the store's own save_page."""
    from bench.bench_dedupe import roster as synthetic
    from pipeline.store import Workspace, files
    from scanner import PIPELINE_VERSION

    started = time.perf_counter()
    records = [(name, zip_code, email) for name, zip_code, email, _ in synthetic(entries, seed=SEED)[0]]
    workspace = Workspace.open(folder)
    pages = [records[k:k + PER_PAGE] for k in range(0, len(records), PER_PAGE)]
    per_file = -(-len(pages) // FILES)
    for f in range(FILES):
        chunk = pages[f * per_file:(f + 1) * per_file]
        if not chunk:
            break
        sha = f"{f:064x}"
        workspace.add_file(sha256=sha, name=f"sheets-{f:03d}.pdf", size=1, kind="pdf", page_count=len(chunk),
                           status="ok")
        with workspace.transaction():
            for number, page in enumerate(chunk, start=1):
                files.save_page(workspace, sha, _page(number, page, file_name=f"sheets-{f:03d}.pdf"),
                                [("", "", "")] * len(page), version=PIPELINE_VERSION)
    workspace.close()
    return {"prepare_s": time.perf_counter() - started}


def baseline(folder: Path) -> dict:
    """Before: every status or export roster call read every line and clustered them all."""
    from pipeline.dedupe import dedupe
    from pipeline.export import effective_lines, people
    from pipeline.store import Workspace

    workspace = Workspace.open(folder)
    started, cpu = time.perf_counter(), time.process_time()
    lines = effective_lines(workspace)
    read = time.perf_counter()
    signers = people(lines)
    parsed = time.perf_counter()
    result = dedupe(signers, decisions=workspace.duplicate_decisions())
    done = time.perf_counter()
    return {"read_s": read - started, "parse_s": parsed - read, "dedupe_s": done - parsed, "total_s": done - started,
            "cpu_s": time.process_time() - cpu,
            "clusters": len(result.clusters), "rss_mb": _rss_mb()}


def rebuild(folder: Path) -> dict:
    from pipeline import roster
    from pipeline.store import Workspace

    workspace = Workspace.open(folder)
    cpu = time.process_time()
    done = roster.rebuild(workspace)
    workspace.close()
    return {"rebuild_s": done.seconds, "rebuild_cpu_s": time.process_time() - cpu, "signers": done.lines,
            "rss_mb": _rss_mb()}


def incremental(folder: Path, out: Path) -> dict:
    """One page arrives with a few decisions; fold it in; then status and export roster read the stored roster."""
    from pipeline import roster
    from pipeline.export import write_roster
    from pipeline.status import workspace_status
    from pipeline.store import LineId, Workspace
    from pipeline.store import roster as stored

    rng = random.Random(SEED)
    workspace = Workspace.open(folder)
    existing = [LineId.parse(x) for x in rng.sample(sorted(stored.cluster_of_occurrences(workspace)), 4)]
    names = [workspace.effective_value(x.file_sha256, x.page_no, x.line_no, "name") for x in existing]
    page = [(names[k % 2].upper() if k < 2 else f"Newcomer{k} Okafor", "", "") for k in range(PER_PAGE)]
    sha = "f" * 64
    workspace.add_file(sha256=sha, name="late.pdf", size=1, kind="pdf", page_count=1, status="ok")
    workspace.save_page(sha, _page(1, page, file_name="late.pdf"))
    for line, name in zip(existing[:2], ("Ada Lovelace", "Grace Hopper")):
        workspace.record_decision(file_sha256=line.file_sha256, page_no=line.page_no, line_no=line.line_no,
                                  field="name", value=name, decided_by="bench")
    workspace.record_duplicate_decision(str(existing[2]), str(existing[3]), same=True, decided_by="bench")
    workspace.record_duplicate_decision(str(existing[0]), str(LineId(sha, 1, 1)), same=False, decided_by="bench")
    lag = roster.lag(workspace)
    state = stored.roster_state(workspace)
    done = roster.update(workspace)
    started, cpu = time.perf_counter(), time.process_time()
    status = workspace_status(workspace)
    status_s, status_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    written = write_roster(workspace, out)
    export_s, export_cpu = time.perf_counter() - started, time.process_time() - cpu
    after = stored.roster_state(workspace)
    workspace.close()
    return {"lag": lag.describe(), "update_s": done.seconds, "update_rebuilt": done.rebuilt, "lines": done.lines,
            "rescored": done.rescored, "reclustered": done.reclustered, "status_s": status_s, "export_s": export_s,
            "status_cpu_s": status_cpu, "export_cpu_s": export_cpu,
            "exported": written, "signers": status.signers, "possible": status.possible_duplicates,
            "folded_by_status_or_export": (after.updates + after.rebuilds) - (state.updates + state.rebuilds) - 1,
            "rss_mb": _rss_mb()}


def _child(step: str, *args: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{step} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _db_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("workspace.sqlite*")) / 2**20


def run(entries: int, cache: Path, work: Path) -> dict:
    load_start = os.getloadavg()[0]
    cached = cache / f"{entries}"
    if not (cached / "workspace.sqlite").exists():
        shutil.rmtree(cached, ignore_errors=True)
        print(f"building a {entries:,}-line workspace in {cached}…", file=sys.stderr, flush=True)
        prepared = _child("prepare", str(cached), str(entries))
    else:
        prepared = {"prepare_s": None}
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(cached, work)
    before_mb = _db_mb(work)
    print("baseline…", file=sys.stderr, flush=True)
    base = _child("baseline", str(work))
    print("rebuild…", file=sys.stderr, flush=True)
    built = _child("rebuild", str(work))
    after_mb = _db_mb(work)
    print("incremental update, status, export…", file=sys.stderr, flush=True)
    inc = _child("incremental", str(work), str(work / "roster.csv"))
    shutil.rmtree(work, ignore_errors=True)
    return {"entries": entries, "load_start": load_start, **prepared, "baseline": base, "rebuild": built, "incremental": inc,
            "db_before_mb": before_mb, "db_after_mb": after_mb}


def report(r: dict) -> str:
    b, rb, inc = r["baseline"], r["rebuild"], r["incremental"]
    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    worst = max(inc["status_s"], inc["export_s"])
    lines = [
        "## The roster at scale: stored clustering (bench/bench_roster.py)", "",
        f"{r['entries']:,} signed lines ({b['clusters']:,} signers after deduplication), synthetic "
        "(bench_dedupe's generator), 20 to a page.", "",
        "| step | seconds | CPU seconds | peak RSS MB |", "| --- | ---: | ---: | ---: |",
        f"| before: every `status` / `export roster` call (read {b['read_s']:.1f} s + parse {b['parse_s']:.1f} s"
        f" + dedupe {b['dedupe_s']:.1f} s) | {b['total_s']:.1f} | {b['cpu_s']:.1f} | {b['rss_mb']:.0f} |",
        f"| `roster rebuild` (from scratch, stored) | {rb['rebuild_s']:.1f} | {rb['rebuild_cpu_s']:.1f}"
        f" | {rb['rss_mb']:.0f} |",
        f"| `roster update`: one page of {PER_PAGE} lines + 2 name corrections + 2 duplicate verdicts"
        f" ({inc['rescored']} signers re-scored, {inc['reclustered']} re-clustered) | {inc['update_s']:.2f} | | |",
        f"| `status` after the update | {inc['status_s']:.2f} | {inc['status_cpu_s']:.2f} | |",
        f"| `export roster` (CSV, {inc['exported']:,} rows) after the update | {inc['export_s']:.2f}"
        f" | {inc['export_cpu_s']:.2f} | {inc['rss_mb']:.0f} |", "",
        f"Database: {r['db_before_mb']:.0f} MB before the roster was stored, {r['db_after_mb']:.0f} MB after.",
        f"Lag before the update: {inc['lag']}. Folds done by status/export themselves: "
        f"{inc['folded_by_status_or_export']} (they read the stored roster only).", "",
        f"Goal: `status` and `export roster` under {GOAL_SECONDS:.0f} s at this size after an incremental update: "
        f"{worst:.2f} s → {verdict(worst < GOAL_SECONDS)}", "",
        f"Machine: nproc {len(os.sched_getaffinity(0))}, python {platform.python_version()}, load average (1 min) at"
        f" start {r['load_start']:.2f}, at end {os.getloadavg()[0]:.2f} (shared with other work: wall seconds grow"
        f" with it, CPU seconds much less), date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}", "",
        "- Peak RSS = ru_maxrss of the step's own process; the update, status and export share one process.",
        "- The workspace is built once and cached (`--cache`); every run copies it and starts from no stored roster.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="signed lines in the workspace")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/petition-roster-bench"),
                        help="where the built workspace is kept between runs")
    parser.add_argument("--out", type=Path, help="write/replace the bench:roster section of this Markdown file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        step, *rest = args.child
        if step == "prepare":
            print(json.dumps(prepare(Path(rest[0]), int(rest[1]))))
        elif step == "baseline":
            print(json.dumps(baseline(Path(rest[0]))))
        elif step == "rebuild":
            print(json.dumps(rebuild(Path(rest[0]))))
        else:
            print(json.dumps(incremental(Path(rest[0]), Path(rest[1]))))
        return 0
    if args.entries < 100:
        parser.error("--entries needs at least 100 lines")
    result = run(args.entries, args.cache, args.cache / f"run-{os.getpid()}")
    print(json.dumps(result), file=sys.stderr)
    body = report(result)
    print(body)
    if args.out:
        write_section(args.out, body, name="roster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
