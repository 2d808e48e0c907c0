"""Reading through a Dask cluster next to the local process pool, on the same rendered sheets, in one run:
`petition add` (crops kept, a fresh workspace each) with --workers 2, then with --cluster on a loopback cluster
of two one-thread `dask worker` processes (bench/local_cluster.py), first cold (models loaded on the first
pages, as the pool does) and then warm. Also measured, for docs/scaling.md: the reading cost of a page, what
the client spends per page (cutting/reading the bytes to send, storing the result: the single SQLite writer),
the bytes sent per page and the workspace's size per page.

Usage: python bench/bench_cluster.py [--pages N] [--out BENCHMARKS.md] [--scaling docs/scaling.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # samples/ is not an installed package

from bench.sections import write_section  # noqa: E402

CAMPAIGN_PAGES = 70_000
WORKER_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128)
IDLE_SAMPLE_S = 5.0
GIGABIT_BYTES_PER_S = 125_000_000


@dataclass
class Run:
    """One `add` of the sheets into a fresh workspace, and what its client did per page."""

    label: str
    seconds: float = 0.0
    pages_ok: int = 0
    pages: int = 0
    read_seconds: list[float] = field(default_factory=list)  # PageResult.seconds: reading, in the worker
    store_seconds: list[float] = field(default_factory=list)  # WorkspaceSink.page: the SQLite writer + crops
    ship_seconds: list[float] = field(default_factory=list)  # making a page's payload (cluster only)
    ship_bytes: list[int] = field(default_factory=list)
    workspace_bytes: int = 0
    crops_bytes: int = 0
    lost: int = 0
    client_cpu_s: float = 0.0  # CPU time of this (client) process over the run, Dask's threads included
    scheduler_cpu_s: float = 0.0  # CPU time of the `dask scheduler` process over the run, its idle rate taken off

    @property
    def pages_per_min(self) -> float:
        return self.pages * 60.0 / self.seconds if self.seconds else 0.0


class _TimedSink:
    """WorkspaceSink with the time of each stored page recorded."""

    def __init__(self, sink, run: Run) -> None:
        self.sink, self.run = sink, run

    def plan(self, path, job):
        return self.sink.plan(path, job)

    def page(self, result) -> None:
        started = time.perf_counter()
        self.sink.page(result)
        self.run.store_seconds.append(time.perf_counter() - started)
        self.run.read_seconds.append(result.seconds)
        self.run.pages_ok += result.status.value == "ok"
        self.run.pages += 1

    def report(self, *, interrupted: bool):
        return self.sink.report(interrupted=interrupted)


def _add(measured: Run, paths: list[Path], executor, folder: Path) -> Run:
    from pipeline.add import WorkspaceSink
    from pipeline.batch import ReadJob, run
    from pipeline.store import Workspace

    job = ReadJob(workers=2).with_settings(keep_crops=True)
    job.check_setup()  # as the CLI does: loads the reader once here, before the clock
    workspace = Workspace.open(folder)
    started, cpu = time.perf_counter(), time.process_time()
    run(paths, job, _TimedSink(WorkspaceSink(workspace), measured), executor=executor)
    measured.seconds = time.perf_counter() - started
    measured.client_cpu_s = time.process_time() - cpu
    workspace.close()
    measured.crops_bytes = sum(p.stat().st_size for p in (folder / "crops").rglob("*") if p.is_file())
    measured.workspace_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return measured


def _timed_payloads(measured: Run) -> None:
    """Record how long the client takes to make each page's payload, and its size."""
    from pipeline import cluster_pages

    original = cluster_pages.ShippedPages.payload

    def payload(self, ref):
        started = time.perf_counter()
        made = original(self, ref)
        measured.ship_seconds.append(time.perf_counter() - started)
        measured.ship_bytes.append(len(made.data))
        return made

    cluster_pages.ShippedPages.payload = payload  # type: ignore[method-assign]


def _on_cluster(label: str, paths: list[Path], address: str, folder: Path, scheduler_pid: int) -> Run:
    import psutil

    from pipeline import cluster_pages
    from pipeline.cluster import DaskCluster

    original = cluster_pages.ShippedPages.payload
    measured = Run(label)
    _timed_payloads(measured)
    try:
        with DaskCluster(address) as executor:
            executor.wait_for_workers(300)
            scheduler = psutil.Process(scheduler_pid)
            idle_per_s = _cpu_per_second(scheduler, IDLE_SAMPLE_S)  # heartbeats: spent with or without pages
            before = sum(scheduler.cpu_times()[:2])
            _add(measured, paths, executor, folder)
            spent = sum(scheduler.cpu_times()[:2]) - before
            measured.scheduler_cpu_s = max(0.0, spent - idle_per_s * measured.seconds)
            measured.lost = executor.pages_lost
    finally:
        cluster_pages.ShippedPages.payload = original  # type: ignore[method-assign]
    return measured


def _cpu_per_second(process, seconds: float) -> float:
    before = sum(process.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(process.cpu_times()[:2]) - before) / seconds


def measure(pages: int) -> tuple[list[Run], dict[str, str]]:
    from bench.local_cluster import LocalCluster
    from pipeline.pool import LocalPool
    from samples.render import write_bench_set

    with tempfile.TemporaryDirectory(prefix="bench_cluster_") as tmp:
        base = Path(tmp)
        paths = write_bench_set(base / "sheets", pages, seed=1)
        print(f"process pool, 2 workers, {pages} pages…", file=sys.stderr, flush=True)
        runs = [_add(Run("process pool, --workers 2"), paths, LocalPool(), base / "ws-pool")]
        with LocalCluster(base / "dask") as cluster:
            cluster.start()
            cluster.add_worker("bench-1")
            cluster.add_worker("bench-2")
            cluster.wait_for(2)
            for label, folder in (("cluster, 2 workers, cold (models loaded on the first pages)", "ws-cold"),
                                  ("cluster, 2 workers, warm (models already loaded)", "ws-warm")):
                print(f"{label}…", file=sys.stderr, flush=True)
                runs.append(_on_cluster(label, paths, cluster.address, base / folder, cluster.scheduler.pid))
    facts = {"nproc": str(len(os.sched_getaffinity(0))), "load average (1 min, at end)": f"{os.getloadavg()[0]:.2f}",
             "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    return runs, facts


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def report(runs: list[Run], facts: dict[str, str], pages: int) -> str:
    pool, cold, warm = runs
    rows = ["| configuration | pages (ok) | seconds | pages/min | time vs process pool | client CPU ms/page "
            "| scheduler CPU ms/page | pages lost to a worker |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs:
        scheduler = f"{r.scheduler_cpu_s * 1000 / r.pages:.0f}" if r.scheduler_cpu_s else "–"
        rows.append(f"| {r.label} | {r.pages} ({r.pages_ok}) | {r.seconds:.1f} | {r.pages_per_min:.1f} "
                    f"| {r.seconds / pool.seconds:.2f}× | {r.client_cpu_s * 1000 / r.pages:.0f} | {scheduler} "
                    f"| {r.lost} |")
    overhead = cold.seconds / pool.seconds
    notes = [f"- {pages} sheets rendered by `samples.render.write_bench_set` (300-dpi letter PNG, seed layout, "
             "15 lines), added to a fresh workspace by each row (crops kept), as `petition add` does.",
             "- Cluster: `dask scheduler` and two `dask worker --nthreads 1 --no-nanny` processes on loopback "
             "(bench/local_cluster.py), on the same two cores as the client; the process pool row is "
             "`--workers 2`. Seconds: wall time from triage to the last page stored. The pool's row includes "
             "starting its processes and each loading the models, as every `petition add --workers 2` does; the "
             "cluster's workers are long-lived: already running and fingerprinted before the clock starts, "
             "they load the models on their first pages (cold row) and keep them (warm row: the next batch).",
             "- Client CPU: this process's CPU time over the run (reading none of the pages: triage, payloads, "
             "Dask's client threads, storing) per page; scheduler CPU: the `dask scheduler` process's.",
             f"- Overhead of the cluster over the pool: {overhead:.2f}× the time (cold), {warm.seconds / pool.seconds:.2f}× (warm). Client cost per page on "
             f"the cluster: {_mean(cold.ship_seconds) * 1000:.1f} ms to make the payload "
             f"({_mean([float(b) for b in cold.ship_bytes]) / 1024:.0f} KiB sent), "
             f"{_mean(cold.store_seconds) * 1000:.1f} ms to store the result.",
             *[f"- {k}: {v}" for k, v in facts.items()]]
    return "\n".join(["## Reading on a Dask cluster (bench/bench_cluster.py)", "", *rows, "", *notes, ""])


def scaling(runs: list[Run], facts: dict[str, str]) -> str:
    """The measured figures docs/scaling.md reasons from, and what they project to."""
    pool, _cold, warm = runs
    read_s = _mean(warm.read_seconds)  # one page on one worker core, models loaded
    per_core_hour = 3600.0 / read_s
    store_s = _mean(warm.store_seconds + pool.store_seconds)
    ship_s = _mean(warm.ship_seconds)
    # The client's thread makes payloads and stores results; Dask's client threads (sending, receiving) add
    # CPU of their own. The larger of the two bounds what one client can take.
    client_cpu = warm.client_cpu_s / warm.pages
    client_s = max(store_s + ship_s, client_cpu)
    scheduler_s = warm.scheduler_cpu_s / warm.pages
    sent = _mean([float(b) for b in warm.ship_bytes])
    # pages/s at most: the client, the scheduler (one thread too), a gigabit link out of the client
    limits = {"client": 1.0 / client_s, "scheduler": 1.0 / scheduler_s if scheduler_s else float("inf"),
              "1 Gbit/s link": GIGABIT_BYTES_PER_S / sent if sent else float("inf")}
    bound_by = min(limits, key=limits.__getitem__)
    client_ceiling = limits[bound_by]
    crops_per_page = _mean([r.crops_bytes / r.pages for r in runs])
    workspace_per_page = _mean([r.workspace_bytes / r.pages for r in runs])
    rows = ["| workers (one core each) | pages/hour, reading | pages/hour, within the first limit | 70k pages take |",
            "| ---: | ---: | ---: | ---: |"]
    for n in WORKER_COUNTS:
        reading = n * per_core_hour
        rate = min(reading, client_ceiling * 3600)
        rows.append(f"| {n} | {reading:,.0f} | {rate:,.0f}{f' ({bound_by}-bound)' if rate < reading else ''} "
                    f"| {CAMPAIGN_PAGES / rate:.1f} h |")
    lines = ["### Measured (bench/bench_cluster.py, warm cluster run)", "",
             f"- reading one page, one worker core (mean PageResult.seconds): **{read_s:.2f} s** → "
             f"**{per_core_hour:,.0f} pages/hour per worker core**",
             f"- the client, per page: {ship_s * 1000:.1f} ms to make the payload (mean "
             f"{_mean([float(b) for b in warm.ship_bytes]) / 1024:.0f} KiB: a 300-dpi PNG sheet), "
             f"{store_s * 1000:.1f} ms to store the result (WorkspaceSink.page: crops written, one SQLite "
             f"transaction); the client process's whole CPU time per page (Dask's threads included): "
             f"{client_cpu * 1000:.1f} ms → one client takes at most {limits['client']:,.1f} pages/s",
             f"- the scheduler: {scheduler_s * 1000:.1f} ms CPU per page above its idle rate (heartbeats) → at most "
             f"{limits['scheduler']:,.1f} pages/s; sending {sent / 1024:.0f} KiB per page over a 1 Gbit/s link: "
             f"at most {limits['1 Gbit/s link']:,.1f} pages/s",
             f"- so the first limit is the {bound_by}: **{client_ceiling:,.1f} pages/s** "
             f"({client_ceiling * 3600:,.0f} pages/hour), about **{client_ceiling * read_s:.0f} worker cores** kept "
             "busy",
             f"- workspace: {crops_per_page / 1024:.0f} KiB of crops and {workspace_per_page / 1024:.0f} KiB in all "
             f"per page → **{crops_per_page * 10_000 / 1024**3:.2f} GiB of crops, "
             f"{workspace_per_page * 10_000 / 1024**3:.2f} GiB in all per 10k pages**",
             *[f"- {k}: {v}" for k, v in facts.items()], "",
             "### Projected: 70k pages", "",
             f"Reading scales with the workers until the first limit above ({bound_by}) is reached; past it, "
             "more workers wait.", "", *rows, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=12, help="sheets to render and read (default 12)")
    parser.add_argument("--out", type=Path, help="write/replace the bench:cluster section of this Markdown file")
    parser.add_argument("--scaling", type=Path, help="write/replace the measured section of docs/scaling.md")
    args = parser.parse_args(argv)
    if args.pages < 2:
        parser.error("--pages must be at least 2")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    runs, facts = measure(args.pages)
    body, projected = report(runs, facts, args.pages), scaling(runs, facts)
    print(body)
    print(projected)
    if args.out:
        write_section(args.out, body, name="cluster")
    if args.scaling:
        write_section(args.scaling, projected, name="scaling")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
