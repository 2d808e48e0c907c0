"""The worker pool's one loop: a worker that dies is replaced and its task retried once, a task that kills its
worker twice is given up alone (never one that merely ran beside it), and nothing ever loops or crashes."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from pipeline.pool import TRIES, TaskRaised, WorkerDied, run_tasks

TIMEOUT_S = 60


def _task(item: tuple[str, object]) -> object:
    """What a page does to its worker, by kind: returns, sleeps, raises, or makes the worker exit."""
    kind, value = item
    if kind == "poison":
        os._exit(1)  # as a crash in C code or the out-of-memory killer would: no exception, no cleanup
    if kind == "once":  # dies the first time only (the marker file says it ran before)
        marker = Path(str(value))
        if not marker.exists():
            marker.touch()
            os._exit(1)
        return "survived"
    if kind == "raise":
        raise ValueError("a bug in one task")
    if kind == "pid":  # tells which process reads it, then reads for a while
        Path(str(value)).write_text(str(os.getpid()))
        time.sleep(3)
        return "read after all"
    if kind == "slow":
        time.sleep(float(value))  # type: ignore[arg-type]
    return value


def _results(items: list, *, workers: int) -> dict[int, object]:
    return dict(run_tasks(_task, items, workers=workers))


@pytest.mark.parametrize("workers", [1, 2])
def test_every_item_gets_its_result(workers):
    items = [("value", n) for n in range(5)]
    assert _results(items, workers=workers) == {n: n for n in range(5)}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_task_that_kills_its_worker_twice_is_given_up_and_the_others_finish(workers):
    items = [("value", "a"), ("poison", None), ("value", "b"), ("value", "c")]
    results = _results(items, workers=workers)
    assert results == {0: "a", 1: WorkerDied(TRIES), 2: "b", 3: "c"}


def test_a_task_that_kills_its_worker_once_is_retried(tmp_path):
    items = [("value", "a"), ("once", tmp_path / "ran-before"), ("value", "b")]
    assert _results(items, workers=1) == {0: "a", 1: "survived", 2: "b"}


def test_a_task_running_beside_one_that_kills_its_worker_is_not_blamed():
    """Both were running when the pool broke; the suspect runs alone next, so only it is given up."""
    items = [("slow", 0.5), ("poison", None), ("slow", 0.2)]
    results = _results(items, workers=2)
    assert results == {0: 0.5, 1: WorkerDied(TRIES), 2: 0.2}


def test_a_worker_killed_from_outside_mid_task_is_replaced_and_its_task_read_again(tmp_path):
    pid_file = tmp_path / "worker.pid"
    killed: list[int] = []

    def kill_the_first_worker() -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        killed.append(int(pid_file.read_text()))
        pid_file.unlink()
        os.kill(killed[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_the_first_worker, daemon=True)
    killer.start()
    results = _results([("value", "a"), ("pid", pid_file)], workers=1)
    killer.join(TIMEOUT_S)
    assert killed and results == {0: "a", 1: "read after all"}
    assert int(pid_file.read_text()) != killed[0]  # read again by a new worker


def test_a_task_that_raises_fails_alone():
    results = _results([("value", "a"), ("raise", None), ("value", "b")], workers=1)
    assert results == {0: "a", 1: TaskRaised(), 2: "b"}


def test_no_items_start_no_pool():
    def no_pool(_workers: int) -> Executor:
        raise AssertionError("a pool was made for nothing")

    assert list(run_tasks(_task, [], workers=2, make_pool=no_pool)) == []


class _NeverStarts(Executor):
    """A pool whose workers cannot start (out of memory at fork): broken before it runs anything."""

    def submit(self, fn, /, *args, **kwargs):
        raise BrokenProcessPool("no worker could start")


def test_a_pool_that_cannot_start_workers_ends_the_batch_instead_of_looping():
    items = [("value", "a"), ("value", "b")]
    results = dict(run_tasks(_task, items, workers=2, make_pool=lambda _n: _NeverStarts()))
    assert results == {0: WorkerDied(TRIES), 1: WorkerDied(TRIES)}
