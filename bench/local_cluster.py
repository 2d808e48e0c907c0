"""A real Dask cluster on loopback, started the documented way (`dask scheduler`, `dask worker`) as separate
processes of this environment: what tests/pipeline/test_cluster.py and bench/bench_cluster.py read on.

Each worker is its own process (`--no-nanny`: nothing restarts it), so a test can SIGKILL one mid-page, and
each can be given its own environment (a different TESSDATA_PREFIX makes a worker that reads differently).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).parent / "dask"


@dataclass
class LocalCluster:
    """A scheduler and workers under `folder` (logs, scheduler file); stop() ends exactly the processes it
    started. Use as a context manager."""

    folder: Path
    scheduler: subprocess.Popen | None = None
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)  # by worker name
    address: str = ""

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, *, timeout_s: float = 120.0) -> str:
        """Start the scheduler on a free loopback port; its address."""
        self.folder.mkdir(parents=True, exist_ok=True)
        scheduler_file = self.folder / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        self.scheduler = _spawn([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(scheduler_file)], self.folder / "scheduler.log", {})
        deadline = time.monotonic() + timeout_s
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start: see {self.folder / 'scheduler.log'}")
            time.sleep(0.2)
        self.address = json.loads(scheduler_file.read_text())["address"]
        return self.address

    def add_worker(self, name: str, *, env: Mapping[str, str] | None = None, threads: int = 1,
                   nanny: bool = False) -> None:
        """Start one worker process (`dask worker ADDRESS --nthreads N --no-nanny`); with `nanny`, a nanny
        process that starts the worker again whenever it dies (as `dask worker` does by default)."""
        self.workers[name] = _spawn([str(DASK), "worker", self.address, "--name", name, "--nthreads", str(threads),
                                     "--nanny" if nanny else "--no-nanny", "--no-dashboard",
                                     "--local-directory", str(self.folder / name)],
                                    self.folder / f"{name}.log", env or {})

    def wait_for(self, count: int, *, timeout_s: float = 180.0) -> None:
        """Until `count` workers are connected to the scheduler."""
        from distributed import Client

        with Client(self.address, timeout=timeout_s, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout_s)

    def kill_worker(self, name: str) -> None:
        """SIGKILL one worker process: what the kernel's out-of-memory killer does."""
        process = self.workers.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)

    def stop(self) -> None:
        for process in [*self.workers.values(), *([self.scheduler] if self.scheduler else [])]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers.values(), *([self.scheduler] if self.scheduler else [])]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        self.workers.clear()
        self.scheduler = None


def _spawn(command: list[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen:
    """A process of this environment, running this checkout's code, held to one Tesseract thread."""
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    full_env = {**os.environ, "PYTHONPATH": python_path, "OMP_THREAD_LIMIT": "1", **env}
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)


__all__ = ["LocalCluster"]
