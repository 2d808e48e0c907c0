"""Reading on a Dask distributed cluster (`petition add|read --cluster tcp://HOST:PORT`): the TaskExecutor
(pipeline/pool.py) that runs page tasks on other machines' workers instead of this machine's processes.

The rules are the local pool's, so that a batch read on a cluster is the batch read here:
- only workers that read as this machine does are used (pipeline/cluster_check.py): each worker's fingerprint
  is taken when it joins; a matching one is given a Dask resource named after the fingerprint, which every
  page task asks for; one that differs is never given pages, and the caller is told which worker and what
  differs;
- no more tasks are handed out than the admitted workers have threads (each one handed out is being run);
- a worker lost mid-page: Dask reports the pages it held as KilledWorker (the scheduler is told to leave
  retries to us: allowed-failures 0), and pool.Schedule blames them as the local pool does: the page runs
  again, alone, on another worker, and one that kills a worker twice is given up (WorkerDied);
- results come back to this process as they finish; the caller (batch.run) stores each at once, so a batch
  cut short resumes with the same command, as it does locally.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pipeline.cluster_check import Fingerprint, local_fingerprint, worker_fingerprint
from pipeline.pool import TRIES, Schedule, TaskRaised, WorkerDied
from scanner.errors import SetupError

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
CLUSTER_ENV = "PETITION_CLUSTER"
START_ADVICE = ("start one with 'dask scheduler' and 'dask worker tcp://HOST:8786 --nthreads 1' on each machine "
                "(README: Reading on several machines)")


class ClusterError(SetupError):
    """The cluster cannot be reached, or has no worker that reads as this machine does (exit code 2)."""


@dataclass(frozen=True)
class WorkerCheck:
    """What was decided about one worker when it joined."""

    address: str
    threads: int
    differences: tuple[str, ...] = ()  # empty: admitted

    @property
    def admitted(self) -> bool:
        return not self.differences

    def line(self) -> str:
        if self.admitted:
            return f"cluster: worker {self.address} joined ({self.threads} thread{'s' * (self.threads != 1)})"
        return (f"cluster: worker {self.address} refused, it does not read as this machine does: "
                + "; ".join(self.differences))


@dataclass(frozen=True)
class ClusterTimeouts:
    connect_s: float = 30.0
    first_worker_s: float = 120.0  # how long a batch waits for a first usable worker
    no_worker_s: float = 600.0  # how long a batch waits when every usable worker has gone
    poll_s: float = 2.0  # how often membership is looked at while pages are running


class DaskCluster:
    """Page tasks on a Dask cluster's workers. Use as a context manager (it closes its client)."""

    shares_files: ClassVar[bool] = False  # workers are sent page bytes (pipeline/cluster_pages.py)

    def __init__(self, address: str, *, say: Callable[[str], None] = log.info,
                 timeouts: ClusterTimeouts = ClusterTimeouts()) -> None:
        self.address = address
        self.say = say
        self.timeouts = timeouts
        self.fingerprint: Fingerprint = local_fingerprint()
        self.resource = f"petition-{self.fingerprint.digest()}"
        self.checks: dict[str, WorkerCheck] = {}  # every worker seen, by address (admitted or refused)
        self.live: set[str] = set()
        self.pages_done = 0
        self.pages_lost = 0  # page runs whose worker was lost under them (each ran again, or was given up)
        self._started: float | None = None  # when the first page was handed out
        self.client = _connect(address, timeouts.connect_s)
        try:
            self.client.run_on_scheduler(_leave_retries_to_petition)
        except Exception as exc:  # noqa: BLE001 - a scheduler that refuses (pickling off) cannot be used
            self.client.close()
            raise ClusterError(f"the Dask scheduler at {address} refused petition's setup ({exc}); start it "
                               "from petition's environment with 'dask scheduler'") from exc

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # -- workers ------------------------------------------------------------------------------------------

    @property
    def threads(self) -> int:
        """Pages that can run at once: the threads of the admitted workers still connected."""
        return sum(self.checks[a].threads for a in self.live if self.checks[a].admitted)

    @property
    def workers(self) -> int:
        return sum(self.checks[a].admitted for a in self.live)

    def pages_per_minute(self) -> float:
        """Pages finished per minute since the first was handed out (throughput of the whole cluster)."""
        if self._started is None:
            return 0.0
        return self.pages_done * 60.0 / max(time.monotonic() - self._started, 1e-6)

    def refresh_workers(self) -> list[WorkerCheck]:
        """Check the workers that joined since the last look (admitting or refusing each); forget those gone.
        The checks made now, for the caller to report."""
        members = {address: int(info.get("nthreads", 1))
                   for address, info in self.client.scheduler_info(n_workers=-1)["workers"].items()}
        for gone in self.live - set(members):
            if self.checks[gone].admitted:
                self.say(f"cluster: worker {gone} left")
        new = [self._check(address, threads) for address, threads in members.items() if address not in self.checks]
        for check in new:
            self.checks[check.address] = check
            self.say(check.line())
        self.live = set(members) & set(self.checks)
        if any(check.admitted for check in new):
            try:
                self.client.run_on_scheduler(_schedule_waiting_tasks)
            except Exception:  # noqa: BLE001 - only pages left without a worker wait longer (until the next join)
                log.debug("could not ask the scheduler to place waiting pages", exc_info=True)
        return new

    def wait_for_workers(self, seconds: float) -> None:
        """Until at least one admitted worker is connected; ClusterError after `seconds` without one."""
        deadline = time.monotonic() + seconds
        while True:
            self.refresh_workers()
            if self.threads:
                return
            if time.monotonic() >= deadline:
                raise ClusterError(self._no_worker_message(seconds))
            time.sleep(min(self.timeouts.poll_s, 1.0))

    def _no_worker_message(self, seconds: float) -> str:
        refused = [c for c in self.checks.values() if not c.admitted and c.address in self.live]
        if refused:
            return (f"no worker of the cluster at {self.address} reads as this machine does (waited {seconds:.0f} s): "
                    + " | ".join(f"{c.address}: {'; '.join(c.differences)}" for c in refused)
                    + "; install the same petition version and models on the workers (make setup)")
        return f"the cluster at {self.address} has no worker (waited {seconds:.0f} s): {START_ADVICE}"

    def _check(self, address: str, threads: int) -> WorkerCheck:
        """Admit a worker whose fingerprint equals ours (it is given the resource page tasks ask for)."""
        try:
            return self._fingerprint_and_grant(address, threads)
        except Exception as exc:  # noqa: BLE001 - a worker that vanished or broke mid-check is not used
            log.debug("checking worker %s failed", address, exc_info=True)
            return WorkerCheck(address, threads, (f"it could not be checked ({type(exc).__name__}: {exc})",))

    def _fingerprint_and_grant(self, address: str, threads: int) -> WorkerCheck:
        answer = self.client.run(worker_fingerprint, workers=[address], on_error="return").get(address)
        if isinstance(answer, Fingerprint):
            differences = tuple(self.fingerprint.differences(answer))
        elif answer is None:
            return WorkerCheck(address, threads, ("it left before it could be checked",))
        else:
            differences = (f"it could not be checked ({type(answer).__name__}: {answer}); is petition installed "
                           "in the worker's environment?",)
        if differences:
            return WorkerCheck(address, threads, differences)
        self.client.run(_grant, self.resource, threads, workers=[address])
        return WorkerCheck(address, threads)

    # -- tasks --------------------------------------------------------------------------------------------

    def run(self, task: Callable[[T], R], items: Sequence[T], *, workers: int = 0) -> Iterator[
            tuple[int, R | WorkerDied | TaskRaised]]:
        """(index, result) as pages finish anywhere on the cluster; `workers` is ignored (the cluster's
        admitted threads say how many run at once)."""
        del workers
        if not items:  # nothing to read (every file already in the workspace): no need for a worker
            return
        self.wait_for_workers(self.timeouts.first_worker_s)
        self._started = self._started or time.monotonic()
        schedule = Schedule(len(items))
        running: dict[Future, int] = {}
        no_worker_since: float | None = None
        try:
            while schedule.waiting or running:
                self.refresh_workers()
                no_worker_since = self._still_usable(no_worker_since)
                for index in schedule.take(list(running.values()), self.threads - len(running)):
                    running[self._submit(task, items[index])] = index
                finished = self._wait_for_some(running)
                died = [index for index, outcome in finished if outcome is _LOST]
                self.pages_lost += len(died)
                for index, outcome in finished:
                    if outcome is not _LOST:
                        self.pages_done += 1
                        yield index, outcome  # type: ignore[misc]
                for index in schedule.blame(died):
                    self.pages_done += 1
                    yield index, WorkerDied(TRIES)
        finally:  # Ctrl-C, an error, or the consumer stopped: pages nobody will use are not left running
            if running:
                with contextlib.suppress(Exception):  # a lost scheduler has nothing left to cancel
                    self.client.cancel(list(running))

    def _still_usable(self, since: float | None) -> float | None:
        """When the cluster last had no admitted worker; ClusterError once that lasts too long."""
        if self.threads:
            return None
        since = since or time.monotonic()
        if time.monotonic() - since > self.timeouts.no_worker_s:
            raise ClusterError(self._no_worker_message(self.timeouts.no_worker_s)
                               + "; every page read so far is saved: run the same command again to continue")
        return since

    def _submit(self, task: Callable[[T], R], item: T) -> Future:
        return self.client.submit(task, item, pure=False, resources={self.resource: 1}, retries=0)

    def _wait_for_some(self, running: dict[Future, int]) -> list[tuple[int, object]]:
        from distributed import wait

        if not running:
            time.sleep(self.timeouts.poll_s)
            return []
        try:
            with self.client.as_current():  # distributed.wait finds its client there (ours is not the default)
                done, _ = wait(list(running), timeout=self.timeouts.poll_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        return [(running.pop(future), self._outcome(future)) for future in done]

    def _outcome(self, future: Future) -> object:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker:
            return _LOST
        except CancelledError as exc:  # the client lost the scheduler: nothing more can be read now
            raise ClusterError(f"lost the connection to the Dask scheduler at {self.address}; every page read so "
                               "far is saved: run the same command again to continue") from exc
        except Exception:  # noqa: BLE001 - one task's failure; the details are for a developer's log
            log.debug("a task raised on the cluster", exc_info=True)
            return TaskRaised()

    def summary(self) -> str:
        return (f"read on the cluster at {self.address}: {self.workers} workers ({self.threads} threads), "
                f"{self.pages_per_minute():.1f} pages/min")


class _Lost:
    """The outcome of a page whose worker was lost while it held it."""


_LOST = _Lost()


def _connect(address: str, timeout_s: float) -> Client:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError("--cluster needs the Python package distributed: run 'make setup'") from exc
    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach a Dask scheduler at {address} ({exc}); {START_ADVICE}") from exc


async def _grant(resource: str, threads: int, dask_worker: Any = None) -> None:
    """On an admitted worker: hold the resource page tasks ask for, one unit per thread."""
    await dask_worker.set_resources(**{resource: float(threads)})


def _leave_retries_to_petition(dask_scheduler: Any = None) -> None:
    """On the scheduler: a page whose worker died fails at once (KilledWorker), so that pool.Schedule decides
    whether it runs again, alone, as the local pool does, instead of Dask rerunning it up to 3 more times."""
    dask_scheduler.allowed_failures = 0


def _schedule_waiting_tasks(dask_scheduler: Any = None) -> None:
    """On the scheduler, after a worker was given the resource: page tasks left without a worker (theirs died
    before they started) are sent to it; Dask itself looks at them only when a worker connects."""
    for worker in list(dask_scheduler.running):
        dask_scheduler.transitions(dask_scheduler.bulk_schedule_unrunnable_after_adding_worker(worker),
                                   stimulus_id=f"petition-admit-{time.time()}")


__all__ = ["CLUSTER_ENV", "ClusterError", "ClusterTimeouts", "DaskCluster", "WorkerCheck"]
