"""Worker processes: the one place pools are made (their workers die with the process that made them), and the
one loop that runs tasks on them, replacing a pool whose worker died and retrying that worker's task once.

A worker killed mid-task (out of memory, SIGKILL, a crash in C code) breaks a ProcessPoolExecutor as a whole and
fails every task it held, without saying which task killed it. So no more tasks are handed out than there are
workers (each one handed out is being run), a task that was running when a worker died runs again alone on a
fresh pool, and only a task that kills its worker a second time is given up, as WorkerDied: a blamed task is
never one that merely ran beside it.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import ClassVar, Protocol, TypeVar

from pipeline.job import limit_omp_threads

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
TRIES = 2  # runs of a task whose worker died: the first try and one retry

T = TypeVar("T")
R = TypeVar("R")
PoolFactory = Callable[[int], Executor]


@dataclass(frozen=True)
class PoolOwner:
    """Who made a worker pool, passed to each worker so that it can tie its life to the owner's."""

    pid: int
    # Linux's parent-death signal fires when the *thread* that forked the worker ends, not its process: it is
    # only safe when that thread lives as long as the process (the main thread), or is a forkserver's.
    main_thread: bool


@dataclass(frozen=True)
class WorkerDied:
    """A task whose worker process died under it every time it ran."""

    tries: int


@dataclass(frozen=True)
class TaskRaised:
    """A task that raised instead of returning, or whose result could not come back (it did not pickle)."""


def worker_pool(workers: int, context: BaseContext | None = None) -> ProcessPoolExecutor:
    """Processes that read pages. Each dies with the process that made the pool: a `petition add` killed with
    kill -9 would otherwise leave its workers (~190 MB each, models loaded) running forever, waiting for work."""
    owner = PoolOwner(os.getpid(), threading.current_thread() is threading.main_thread())
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker, initargs=(owner,))


def init_worker(owner: PoolOwner | None = None) -> None:
    # Ctrl-C reaches the whole foreground process group. The parent decides what an interrupt means (keep what
    # is saved, stop the pool); a worker that took it too would die mid-page and print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_omp_threads(force=True)
    if owner is not None:
        _die_with_parent(owner)


def _die_with_parent(owner: PoolOwner) -> None:
    """Two ties, because either alone has a gap. The kernel's parent-death signal (Linux) kills the worker
    even when it is busy in C code holding the GIL, but it follows the direct parent: for a forkserver's
    worker that is the forkserver (which exits when the app does, so the signal still comes). The watchdog
    waits on multiprocessing's parent sentinel, a pipe end the owner holds (through a forkserver too), which
    reads end-of-file the moment the owner dies, on any platform, including before this function ran."""
    parent = multiprocessing.parent_process()
    forked_by_owner = os.getppid() == owner.pid
    if owner.main_thread or not forked_by_owner:
        _set_parent_death_signal()
    if parent is None:
        return
    if not parent.is_alive():  # the owner died before the death signal was set: it will never come
        os._exit(1)
    threading.Thread(target=_exit_when_gone, args=(parent.sentinel,), name="petition-parent-watch",
                     daemon=True).start()


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl in this libc: the watchdog still ties the worker
        pass


def _exit_when_gone(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


class TaskExecutor(Protocol):
    """Where page tasks run: this machine's processes (LocalPool) or a Dask cluster (pipeline/cluster.py).
    Either way `run` yields (index of the item, its result) as tasks finish, WorkerDied for a task that killed
    its worker TRIES times, TaskRaised for one that raised; the items are only read as tasks are handed out."""

    # True: the workers open the input files themselves (this machine). False: they are sent each page's
    # bytes (another machine); batch.read_pages then hands them pipeline/cluster_pages.py's payloads.
    shares_files: ClassVar[bool]

    def run(self, task: Callable[[T], R], items: Sequence[T], *, workers: int) -> Iterator[
            tuple[int, R | WorkerDied | TaskRaised]]:
        """Run `task` on every item; `workers` is what the caller asked for (a cluster has its own count)."""


@dataclass(frozen=True)
class LocalPool:
    """This machine's worker processes (run_tasks): what `petition read/add` use without --cluster."""

    make_pool: PoolFactory = worker_pool
    shares_files: ClassVar[bool] = True

    def run(self, task: Callable[[T], R], items: Sequence[T], *, workers: int) -> Iterator[
            tuple[int, R | WorkerDied | TaskRaised]]:
        return run_tasks(task, items, workers=workers, make_pool=self.make_pool)


def run_tasks(task: Callable[[T], R], items: Sequence[T], *, workers: int,
              make_pool: PoolFactory = worker_pool) -> Iterator[tuple[int, R | WorkerDied | TaskRaised]]:
    """(index of the item, its result) as tasks finish; WorkerDied for a task that killed its worker twice,
    TaskRaised for one that raised: either way that task's failure, never the others'.
    `task` and the items must pickle (a module-level function, or a functools.partial of one)."""
    schedule = Schedule(len(items))
    while schedule.waiting:
        size = max(1, min(workers, len(schedule.waiting)))  # no idle ~360 MB workers for a short batch
        yield from _one_pool(task, items, schedule, make_pool(size), size)


class Schedule:
    """Which task runs next. A suspect (running when a worker died) runs alone and first. Shared with the
    cluster (pipeline/cluster.py), so that a page is blamed by the same rule wherever it runs."""

    def __init__(self, count: int) -> None:
        self.waiting: deque[int] = deque(range(count))
        self.deaths = [0] * count

    def take(self, running: Sequence[int], free: int) -> list[int]:
        taken: list[int] = []
        while self.waiting and len(taken) < free and not any(self.deaths[i] for i in (*running, *taken)):
            if self.deaths[self.waiting[0]] and (running or taken):
                break
            taken.append(self.waiting.popleft())
        return taken

    def put_back(self, indices: Sequence[int]) -> None:
        self.waiting.extendleft(reversed(indices))

    def blame(self, died: Sequence[int]) -> list[int]:
        """Count a death against each task that was running; the ones given up (dead TRIES times)."""
        given_up = []
        for index in died:
            self.deaths[index] += 1
            if self.deaths[index] >= TRIES:
                given_up.append(index)
        self.put_back([i for i in died if i not in given_up])
        return given_up


class _Broken:
    """The outcome of a task that was running when its pool broke."""


BROKEN = _Broken()


def _one_pool(task: Callable[[T], R], items: Sequence[T], schedule: Schedule, pool: Executor,
              workers: int) -> Iterator[tuple[int, R | WorkerDied | TaskRaised]]:
    """Run waiting tasks on one pool until none is left or a worker dies (which breaks the whole pool)."""
    running: dict[Future, int] = {}
    stopped = False
    try:
        while True:
            given_up = _hand_out(task, items, schedule, pool, running, workers)
            yield from ((index, WorkerDied(TRIES)) for index in given_up)
            if not running:
                return  # every task is done, or the pool broke before taking any: the caller makes another
            finished = _wait_for_some(running)
            yield from ((index, outcome) for index, outcome in finished if outcome is not BROKEN)
            died = [index for index, outcome in finished if outcome is BROKEN]
            if died:
                yield from ((index, WorkerDied(TRIES)) for index in schedule.blame(died))
                return
    except BaseException:  # Ctrl-C, or the consumer stopped iterating: do not wait for pages nobody will use
        stopped = True
        raise
    finally:
        pool.shutdown(wait=not stopped, cancel_futures=True)


def _hand_out(task: Callable[[T], R], items: Sequence[T], schedule: Schedule, pool: Executor,
              running: dict[Future, int], workers: int) -> list[int]:
    """Give free workers waiting tasks; the tasks given up (see below), almost always none."""
    taken = schedule.take(list(running.values()), workers - len(running))
    for position, index in enumerate(taken):
        try:
            running[pool.submit(task, items[index])] = index
        except BrokenProcessPool:
            if running:  # a worker died since the last wait: the running tasks take the blame, these never ran
                schedule.put_back(taken[position:])
                return []
            # A pool that breaks before running anything (a worker that cannot start): blame the task handed
            # to it, so that a machine that cannot start workers ends the batch instead of looping forever.
            schedule.put_back(taken[position + 1:])
            return schedule.blame([index])
    return []


def _wait_for_some(running: dict[Future, int]) -> list[tuple[int, object]]:
    """The tasks that finished next. Once one shows the pool broken, all the others still running come with it:
    a broken pool fails them at once, unless they finished just before."""
    done, _ = wait(running, return_when=FIRST_COMPLETED)
    finished = [(running.pop(future), _outcome(future)) for future in done]
    if any(outcome is BROKEN for _, outcome in finished):
        rest, _ = wait(running)
        finished += [(running.pop(future), _outcome(future)) for future in rest]
    return finished


def _outcome(future: Future) -> object:
    try:
        return future.result()
    except BrokenProcessPool:
        return BROKEN
    except Exception:  # noqa: BLE001 - one task's failure; the details are for a developer's log
        log.debug("a task raised", exc_info=True)
        return TaskRaised()


__all__ = ["TRIES", "LocalPool", "PoolFactory", "PoolOwner", "Schedule", "TaskExecutor", "TaskRaised", "WorkerDied",
           "init_worker", "run_tasks", "worker_pool"]
