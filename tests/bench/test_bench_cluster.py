"""bench/bench_cluster.py: the projections follow from the measures, and name the limit that binds."""

from __future__ import annotations

from bench.bench_cluster import CAMPAIGN_PAGES, Run, report, scaling

FACTS = {"nproc": "2"}


def _run(label: str, seconds: float, *, read_s: float = 2.0, store_s: float = 0.02, cpu_s: float = 0.02,
         scheduler_s: float = 0.005, sent: int = 1_000_000) -> Run:
    pages = 10
    return Run(label, seconds=seconds, pages_ok=pages, pages=pages, read_seconds=[read_s] * pages,
               store_seconds=[store_s] * pages, ship_seconds=[0.001] * pages, ship_bytes=[sent] * pages,
               workspace_bytes=pages * 500_000, crops_bytes=pages * 400_000, client_cpu_s=cpu_s * pages,
               scheduler_cpu_s=scheduler_s * pages)


def test_the_overhead_is_the_time_ratio_to_the_pool():
    text = report([_run("pool", 20.0), _run("cold", 25.0), _run("warm", 10.0)], FACTS, 10)
    assert "| cold | 10 (10) | 25.0 | 24.0 | 1.25× |" in text
    assert "1.25× the time (cold), 0.50× (warm)" in text


def test_reading_scales_with_workers_until_the_client_binds():
    # 2 s a page: 1,800 pages/hour per core; the client 21 ms a page: 47.6 pages/s = 171,429 pages/hour.
    text = scaling([_run("pool", 20.0), _run("cold", 25.0), _run("warm", 10.0)], FACTS)
    assert "**1,800 pages/hour per worker core**" in text
    assert "the first limit is the client" in text
    assert f"| 1 | 1,800 | 1,800 | {CAMPAIGN_PAGES / 1800:.1f} h |" in text
    assert "| 128 | 230,400 | 171,429 (client-bound) |" in text
    assert "**3.73 GiB of crops, 4.66 GiB in all per 10k pages**" in text


def test_a_slow_scheduler_is_named_as_the_limit():
    slow = _run("warm", 10.0, scheduler_s=0.05)
    text = scaling([_run("pool", 20.0), _run("cold", 25.0), slow], FACTS)
    assert "the first limit is the scheduler" in text
    assert "| 64 | 115,200 | 72,000 (scheduler-bound) |" in text
