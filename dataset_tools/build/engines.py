"""Where the build's tasks run: this process, a local process pool, or a dask.distributed cluster.

Every engine runs the same task functions over the same arguments and yields results in task
order, so the output does not depend on the engine. An engine knows nothing of the stages.
`worker_setup`, if given, runs once in every worker process the engine starts itself (the
`dataset-tools` command passes its process settings there; a library caller's workers are
left as Python makes them). Whoever calls, a local pool's workers die with the process that
started them (`lifetime`), and take SIGTERM's default action (not a handler of that process's). Dask is an optional extra
(the `dask` extra: `pip install -e '.[dask]'` in a checkout); its futures API is used directly (not dask.dataframe,
whose shuffles do not handle Arrow list columns or UTC timestamps well).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from dataset_tools.errors import EngineUnavailable, UnknownEngine
from dataset_tools.lifetime import die_with_parent

ENGINES = ("local", "dask")


class LocalEngine:
    """Tasks in this process (workers=1) or in a pool of worker processes."""

    def __init__(self, workers: int | None = None, worker_setup: Callable[[], None] | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._setup = worker_setup
        self._pool = None

    def map_ordered(self, fn: Callable, tasks: Iterable[tuple], *, window: int | None = None) -> Iterator[Any]:
        """Run fn(*task) for every task; yield results in task order, with a bounded number in flight.

        A single task (a list of one) runs in this process: starting the pool would cost more."""
        if self.workers == 1 or (isinstance(tasks, list) and len(tasks) <= 1):
            for task in tasks:
                yield fn(*task)
            return
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_start_worker, initargs=(os.getpid(), self._setup))
        yield from _windowed(self._pool.submit, fn, tasks, window or 4 * self.workers)

    def close(self, abort: bool = False) -> None:
        """Stop the workers: once their tasks are done, or (`abort`: the build failed or was
        stopped) at once, killed, and waited for. Safe to call twice."""
        if self._pool is not None:
            if abort:
                # No public way before Python 3.14 (`kill_workers`): the pool's process table.
                for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                    process.kill()
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _start_worker(parent: int, setup: Callable[[], None] | None) -> None:
    """First thing in a pool worker: die with the build's process, take SIGTERM's default
    action (a fork copies the handler the build may have set for itself), then the caller's setup."""
    die_with_parent(parent)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if setup is not None:
        setup()


class DaskEngine:
    """Tasks on a dask.distributed cluster: the scheduler at `address`, or a LocalCluster.

    The workers must see the raw files and the build's work folder at the same paths (a shared
    file system, or fsspec URLs for the raw files).
    """

    def __init__(self, address: str | None = None, workers: int | None = None, worker_setup: Callable[[], None] | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise EngineUnavailable("dask", "dask.distributed is not installed", extra="dask") from None
        self._cluster = None
        if address:
            self.client = Client(address)
        else:
            import dask

            n = max(1, workers or os.cpu_count() or 1)
            # Without the workers' statistical profiler (a stack sample of the running task every
            # 10 ms, taking the GIL from it): this cluster exists for this build only, and nobody
            # reads its dashboard. A cluster at `address` keeps its own settings.
            dask.config.set({"distributed.worker.profile.enabled": False})
            self._cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
            )
            self.client = Client(self._cluster)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or (workers or 1))
        if self._cluster is not None:
            # The workers of a cluster this build started are this build's for their whole life:
            # they get the caller's `worker_setup`, and load the reader's modules now (while the
            # raw folder is listed), not in the first task.
            from dataset_tools.readers.common import warm_up

            if worker_setup is not None:
                self.client.run(worker_setup)
            self.client.run(warm_up)

    def map_ordered(self, fn: Callable, tasks: Iterable[tuple], *, window: int | None = None) -> Iterator[Any]:
        def submit(func, *args):
            return self.client.submit(func, *args, pure=False)

        yield from _windowed(submit, fn, tasks, window or 4 * self.workers)

    def close(self, abort: bool = False) -> None:
        """Disconnect (and stop the LocalCluster, if this engine started one); safe to call twice."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _windowed(submit: Callable, fn: Callable, tasks: Iterable[tuple], window: int) -> Iterator[Any]:
    pending: deque = deque()
    for task in tasks:
        pending.append(submit(fn, *task))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def make_engine(name: str = "local", *, workers: int | None = None, scheduler: str | None = None, worker_setup: Callable[[], None] | None = None):
    """An engine by name ('local' or 'dask').

    Raises:
        UnknownEngine: `name` is neither.
        EngineUnavailable: dask is asked for and not installed.
    """
    if name == "local":
        return LocalEngine(workers, worker_setup)
    if name == "dask":
        return DaskEngine(scheduler, workers, worker_setup)
    raise UnknownEngine(name, ENGINES)


def release_memory() -> None:
    """Give back to the system the memory the allocators keep for reuse, between the stages of
    a task or a build: a worker's next task, or the next stage, starts from what it holds, not
    from the peak of the last one. Arrow's pool first, then glibc's heap (`malloc_trim`): numpy
    arrays and Python objects freed by a stage otherwise stay in the heap of every process
    (measured at 200,000 articles: workers idle after the map held 123 and 102 MB, 65 and 58
    after a trim; the build's peak fell from 505 to 423 MB)."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc():
    """glibc, for `malloc_trim` (None elsewhere: musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()
