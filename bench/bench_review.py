"""Load benchmark of the review app on loopback: N simulated volunteers log in, then loop "open the next line"
(GET /review, which claims a lease) and "submit a verdict" (POST /api/decide, append-only and fsync'd).

The server runs in its own process (uvicorn, as `petition review` runs it); the clients are asyncio + httpx
in this process. The workspace is temporary: one real sheet read with crops kept, plus synthetic lines (SQL)
whose crop ids point at those real crops, so the queue is large and every page is a real one.

    .venv/bin/python bench/bench_review.py [--users 20] [--seconds 20] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sections import write_section  # noqa: E402

from pipeline.add import WorkspaceSink  # noqa: E402
from pipeline.batch import ReadJob, run  # noqa: E402
from pipeline.review.queue import STATUSES  # noqa: E402
from pipeline.store import Workspace  # noqa: E402
from pipeline.users import add_user  # noqa: E402

PASSWORD = "benchmark password"
GOAL_P95_MS = 100.0
LINES_PER_PAGE = 15


@dataclass
class Samples:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    conflicts: int = 0


@dataclass(frozen=True)
class Summary:
    name: str
    requests: int
    errors: int
    conflicts: int
    p50: float
    p95: float
    p99: float


def seed_workspace(root: Path, *, lines: int, users: int) -> None:
    """One real sheet (real crops), then `lines` synthetic lines to review that reuse those crops."""
    store = Workspace.open(root)
    try:
        run([ROOT / "samples" / "scans" / "seed_clean.png"], ReadJob().with_settings(keep_crops=True),
            WorkspaceSink(store))
        crops = store.db.execute("SELECT line_crop, name_crop, signature_crop FROM lines WHERE line_crop != ''").fetchall()
        rng = random.Random(7)
        sha = "f" * 64
        pages = (lines + LINES_PER_PAGE - 1) // LINES_PER_PAGE
        with store.transaction() as db:
            db.execute("INSERT INTO files (sha256, name, size, kind, page_count, status, added_at)"
                       " VALUES (?, 'synthetic.pdf', 0, 'pdf', ?, 'ok', '2026-01-01')", (sha, pages))
            for page in range(1, pages + 1):
                page_id = db.execute("INSERT INTO pages (file_sha256, page_no, status, pipeline_version, read_at)"
                                     " VALUES (?, ?, 'ok', 'synthetic', '2026-01-01') RETURNING id", (sha, page)).fetchone()[0]
                db.executemany(
                    "INSERT INTO lines (page_id, line_no, status, name, name_confidence, needs_review, review_reasons,"
                    " fields, line_crop, name_crop, signature_crop) VALUES (?, ?, 'signed', ?, ?, 1,"
                    " 'LOW_NAME_CONFIDENCE', '{}', ?, ?, ?)",
                    [(page_id, n, f"Synthetic Name {page}-{n}", round(rng.random() * 0.85, 3), *crops[n % len(crops)])
                     for n in range(1, LINES_PER_PAGE + 1) if (page - 1) * LINES_PER_PAGE + n <= lines])
        for i in range(users):
            add_user(store, f"reviewer{i:02d}", PASSWORD, role="reviewer")
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()


def run_server(root: str, port: int) -> None:
    import uvicorn

    from pipeline.review.app import create_app
    from pipeline.review.web import ReviewSettings

    uvicorn.run(create_app(ReviewSettings(workspace=Path(root)), run_batches=False), host="127.0.0.1", port=port,
                access_log=False, log_level="warning")


async def reviewer(base: str, name: str, deadline: float, think_s: float, pages: Samples, submits: Samples) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        login = await client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
        response = await client.post("/login", data={"name": name, "password": PASSWORD, "csrf": token})
        assert response.status_code == 303, f"login failed for {name}: {response.status_code}"
        rng = random.Random(name)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            page = await client.get("/review")
            pages.latencies_ms.append((time.perf_counter() - started) * 1000)
            if page.status_code != 200:
                pages.errors += 1
                continue
            item = json.loads(re.search(r'id="first-item">(.*?)</script>', page.text, re.S).group(1))
            if item is None:
                break
            csrf = re.search(r'data-csrf="([^"]+)"', page.text).group(1)
            await asyncio.sleep(think_s)  # a volunteer looks at the crops; real ones take seconds
            name_value = item["name"] if rng.random() < 0.8 else "Corrected Name"
            started = time.perf_counter()
            submit = await client.post("/api/decide", headers={"X-CSRF-Token": csrf},
                                       json={"item": item["item"], "status": rng.choice(STATUSES), "name": name_value})
            submits.latencies_ms.append((time.perf_counter() - started) * 1000)
            if submit.status_code == 409:
                submits.conflicts += 1
            elif submit.status_code != 200:
                submits.errors += 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarise(name: str, samples: Samples) -> Summary:
    values = samples.latencies_ms
    return Summary(name, len(values), samples.errors, samples.conflicts, percentile(values, 50), percentile(values, 95),
                   percentile(values, 99))


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the review server did not start")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def report(summaries: list[Summary], args: argparse.Namespace, decided: int) -> tuple[str, bool]:
    passed = all(s.p95 < GOAL_P95_MS and s.errors == 0 for s in summaries)
    rows = "\n".join(f"| {s.name} | {s.requests} | {s.errors} | {s.conflicts} | {s.p50:.1f} | {s.p95:.1f} | {s.p99:.1f} |"
                     for s in summaries)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    body = f"""## Review app under load (bench/bench_review.py)

{args.users} simulated volunteers on loopback for {args.seconds:.0f} s, each logged in, then looping: open the next
line (GET /review: claims a lease, renders the page) → {args.think * 1000:.0f} ms "looking" → submit (POST
/api/decide: lease check, append-only decision with synchronous=FULL). {decided} verdicts stored; queue of
{args.lines} synthetic lines (real crops). One uvicorn process; the clients share the machine.

| request | count | errors | 409 | p50 ms | p95 ms | p99 ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}

Goal: p95 < {GOAL_P95_MS:.0f} ms for both, no errors → **{"PASS" if passed else "FAIL"}**

Machine: nproc {os.cpu_count()}, python {platform.python_version()}, load average (1 min, at end) {load:.2f},
date {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
"""
    return body, passed


async def _load(base: str, args: argparse.Namespace) -> tuple[Samples, Samples]:
    pages, submits = Samples(), Samples()
    deadline = time.monotonic() + args.seconds
    await asyncio.gather(*(reviewer(base, f"reviewer{i:02d}", deadline, args.think, pages, submits)
                           for i in range(args.users)))
    return pages, submits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=0.25, help="seconds between opening a line and submitting it")
    parser.add_argument("--lines", type=int, default=6000, help="synthetic lines in the queue")
    parser.add_argument("--out", type=Path, help="Markdown file whose review section is replaced")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        root = Path(tmp) / "workspace"
        seed_workspace(root, lines=args.lines, users=args.users)
        port = _free_port()
        server = multiprocessing.get_context("spawn").Process(target=run_server, args=(str(root), port), daemon=True)
        server.start()
        try:
            _wait_for(port)
            pages, submits = asyncio.run(_load(f"http://127.0.0.1:{port}", args))
        finally:
            server.terminate()
            server.join(10)
        store = Workspace.open(root, create=False)
        decided = store.db.execute("SELECT count(DISTINCT file_sha256 || page_no || ':' || line_no) FROM decisions").fetchone()[0]
        store.close()
    summaries = [summarise("next-item page (GET /review)", pages), summarise("submit (POST /api/decide)", submits)]
    body, passed = report(summaries, args, decided)
    print(body)
    print("PASS" if passed else "FAIL")
    if args.out:
        write_section(args.out, body, name="review")
        print(f"wrote {args.out}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
