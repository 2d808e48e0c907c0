"""Reading speed and memory: this tool (1 and 2 workers) against one-tesseract-process-per-cell, same sheets.

Usage: python bench/bench_read.py [--pages N] [--out BENCHMARKS.md]
Each configuration runs in a fresh subprocess (this script with --child) so peak RSS belongs to it alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # samples/ is not an installed package

from bench.sections import write_section  # noqa: E402

BASELINE_MAX_PAGES = 12  # the same sheets as the tool reads (the issue asks for "the same sheets")
LINES_PER_SHEET = 15
GOAL_SPEEDUP, GOAL_PER_CORE, GOAL_RSS_MB = 8.0, 1.5, 500.0


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    workers: int
    baseline: bool = False
    workspace: bool = False  # `petition add`: read, keep crops, store every page in a fresh SQLite workspace


CONFIGS = (
    Config("tool1", "this tool, --workers 1", 1),
    Config("tool2", "this tool, --workers 2", 2),
    Config("add1", "petition add (workspace, crops), --workers 1", 1, workspace=True),
    Config("add2", "petition add (workspace, crops), --workers 2", 2, workspace=True),
    Config("naive", "naive: pytesseract process per cell, 1 worker", 1, baseline=True),
)


@dataclass(frozen=True)
class Measure:
    config: Config
    pages: int
    seconds: float
    self_rss_mb: float
    children_rss_mb: float  # the pool workers' peak (tool2 only)
    problems: tuple[str, ...]

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def per_core(self) -> float:
        return self.pages_per_s / min(self.config.workers, cpu_count())

    @property
    def worker_rss_mb(self) -> float:
        """Peak of the process(es) that actually read pages."""
        return self.children_rss_mb if self.config.workers > 1 else self.self_rss_mb


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))  # what `nproc` says: honours CPU affinity / container limits


def _max_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


# ---- child side: runs inside the fresh subprocess, prints one JSON line ----

def child(key: str, paths: list[Path]) -> dict:
    from pipeline.batch import DEFAULT_PDF_DPI, read_paths, triage
    from scanner.ocr import PytesseractEngine
    from scanner.read import read_file_page

    config = next(c for c in CONFIGS if c.key == key)
    started = time.perf_counter()
    if config.baseline:
        refs, failed = triage(paths, pdf_dpi=DEFAULT_PDF_DPI)
        engine = PytesseractEngine()
        results = list(failed) + [read_file_page(ref, engine=engine) for ref in refs]
    elif config.workspace:
        results = _add_to_fresh_workspace(paths, config.workers)
    else:
        results = list(read_paths(paths, workers=config.workers).pages)
    seconds = time.perf_counter() - started
    problems = [f"{r.ref.file_name}: {r.status.value}: {r.message}" for r in results if r.status.value != "ok"]
    # The sheets have 15 lines each; a different count means the figures are for a misread page.
    problems += [f"{r.ref.file_name}: {len(r.lines)} lines read, not {LINES_PER_SHEET}" for r in results
                 if r.status.value == "ok" and len(r.lines) != LINES_PER_SHEET]
    return {"pages": len(results), "seconds": seconds, "self_rss_mb": _max_rss_mb(resource.RUSAGE_SELF),
            # max over reaped children: the pool was joined / every tesseract exited by now
            "children_rss_mb": _max_rss_mb(resource.RUSAGE_CHILDREN), "problems": problems}


def _add_to_fresh_workspace(paths: list[Path], workers: int) -> list:
    import tempfile
    from dataclasses import replace

    from pipeline.add import add_paths
    from pipeline.batch import ReadJob
    from pipeline.store import Workspace
    from scanner.read import ReadSettings

    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(Path(folder))
        job = ReadJob(settings=replace(ReadSettings(), keep_crops=True))
        report = add_paths(workspace, paths, job=job, workers=workers)
        workspace.close()
    return report.pages


# ---- parent side ----

def measure(config: Config, paths: list[Path]) -> Measure:
    # OMP_THREAD_LIMIT=1: Tesseract's OpenMP threads would otherwise blur "per core" and oversubscribe workers.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", config.key, *map(str, paths)]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{config.label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Measure(config, data["pages"], data["seconds"], data["self_rss_mb"], data["children_rss_mb"],
                   tuple(data["problems"]))


def machine_facts() -> dict[str, str]:
    import pytesseract
    import tesserocr

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"nproc": str(cpu_count()), "CPU": model, "python": platform.python_version(),
            "tesseract (tesserocr, in-process)": tesserocr.tesseract_version().splitlines()[0],
            "tesseract (CLI, baseline)": str(pytesseract.get_tesseract_version()),
            # Other work on the machine skews every figure; the 1-minute load at the end shows if there was any.
            "load average (1 min, at end)": f"{os.getloadavg()[0]:.2f}",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def rss_cell(m: Measure) -> str:
    if m.config.workers > 1:
        return f"{m.worker_rss_mb:.0f} per worker (parent {m.self_rss_mb:.0f})"
    return f"{m.self_rss_mb:.0f}"


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def report(measures: list[Measure], pages_asked: int) -> str:
    base = next(m for m in measures if m.config.baseline)
    tools = [m for m in measures if not m.config.baseline and not m.config.workspace]  # the reading goals
    one = next(m for m in tools if m.config.workers == 1)
    rows = ["| configuration | pages | seconds | pages/s | pages/s per core | peak RSS MB | speed-up vs naive |",
            "| --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for m in measures:
        speedup = m.pages_per_s / base.pages_per_s if base.pages_per_s else float("nan")
        rows.append(f"| {m.config.label} | {m.pages} | {m.seconds:.1f} | {m.pages_per_s:.2f} | {m.per_core:.2f} "
                    f"| {rss_cell(m)} | {speedup:.2f}× |")
    speedup = one.pages_per_s / base.pages_per_s if base.pages_per_s else 0.0
    per_core = min(m.per_core for m in tools)  # the goal must hold for every tool configuration
    worst_rss = max(m.worker_rss_mb for m in tools)
    goals = [f"- ≥ {GOAL_SPEEDUP:.0f}× the naive baseline's pages/s on one worker: {speedup:.2f}× → "
             f"{verdict(speedup >= GOAL_SPEEDUP)}",
             f"- ≥ {GOAL_PER_CORE} pages/s per core (300-dpi letter, 15 lines; lowest tool configuration): "
             f"{per_core:.2f} → {verdict(per_core >= GOAL_PER_CORE)}",
             f"- ≤ {GOAL_RSS_MB:.0f} MB peak RSS per worker: {worst_rss:.0f} MB → {verdict(worst_rss <= GOAL_RSS_MB)}"]
    facts = [f"- {k}: {v}" for k, v in machine_facts().items()]
    notes = [f"- Sheets: {pages_asked} rendered by `samples.render.write_bench_set` (300-dpi letter PNG, seed layout, "
             f"15 lines; rendering not timed). The naive baseline reads the first {base.pages} of them.",
             "- Seconds = wall time of reading only (pool start-up included, interpreter start-up not); "
             "OMP_THREAD_LIMIT=1 everywhere.",
             "- Peak RSS = ru_maxrss; a forked worker's figure includes pages shared with its parent. The naive "
             "row is the Python process only (a fork+exec'd tesseract's ru_maxrss counts its parent's pages too).",
             "- The naive baseline runs the same reading pipeline (same crops, same three reads per name) with "
             "every OCR call made by `pytesseract`, one `tesseract` process per call; the speed-up is the "
             "in-process engine, not less work."]
    problems = [f"- {m.config.label}: {p}" for m in measures for p in m.problems]
    if problems:
        notes.append("- Pages that did not read OK:\n  " + "\n  ".join(problems))
    return "\n".join(["## Reading speed (bench/bench_read.py)", "", *rows, "", "Goals:", *goals, "",
                      "Machine:", *facts, "", *notes, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=12, help="sheets to render and read (default 12)")
    parser.add_argument("--out", type=Path, help="write/replace the bench:read section of this Markdown file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.paths)))
        return 0
    if args.pages < 1:
        parser.error("--pages must be at least 1")

    from samples.render import write_bench_set

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_read_") as tmp:
        paths = write_bench_set(Path(tmp), args.pages, seed=1)
        measures = []
        for config in CONFIGS:
            subset = paths[:BASELINE_MAX_PAGES] if config.baseline else paths
            print(f"measuring {config.label} on {len(subset)} pages…", file=sys.stderr, flush=True)
            measures.append(measure(config, subset))
    body = report(measures, args.pages)
    print(body)
    print(f"(whole run incl. rendering: {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if args.out:
        write_section(args.out, body, name="read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
