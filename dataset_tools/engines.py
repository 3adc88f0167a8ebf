"""Where the build's tasks run: this process, a local process pool, or a dask.distributed cluster.

Every engine runs the same task functions over the same arguments and yields results in task
order, so the output does not depend on the engine. Dask is an optional extra
(`pip install 'dataset-tools[dask]'`); its futures API is used directly (not dask.dataframe,
whose shuffles do not handle Arrow list columns or UTC timestamps well).
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dataset_tools.errors import DatasetToolsError
from dataset_tools.runtime import collect_less, skip_pandas

ENGINES = ("local", "dask")


class EngineUnavailable(DatasetToolsError, ImportError):
    """The chosen execution engine cannot be used in this environment."""


class LocalEngine:
    """Tasks in this process (workers=1) or in a pool of worker processes."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
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

            # Objects of this process so far are left out of the collector's passes, here and in
            # the forked workers: a full collection in a worker writes to every object it visits,
            # and so copies every page of them that it shares with this process.
            gc.freeze()
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=collect_less)
        yield from _windowed(self._pool.submit, fn, tasks, window or 4 * self.workers)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            gc.unfreeze()


class DaskEngine:
    """Tasks on a dask.distributed cluster: the scheduler at `address`, or a LocalCluster.

    The workers must see the raw files and the build's work folder at the same paths (a shared
    file system, or fsspec URLs for the raw files).
    """

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise EngineUnavailable(
                "the dask engine needs dask.distributed, which is not installed",
                hint="pip install 'dataset-tools[dask]'",
            ) from None
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
            # The workers of a cluster this build started are this build's for their whole life,
            # and set up as a local pool's are: what they hold so far (distributed's own objects)
            # is left out of their collector's passes, which parsing sets off often; pyarrow
            # does not import pandas (0.45 s of a core each, see `skip_pandas`); and the
            # reader's modules are loaded now (while the raw folder is listed), not by the
            # first task.
            from dataset_tools.readers.common import warm_up

            self.client.run(gc.freeze)
            self.client.run(collect_less)
            self.client.run(skip_pandas)
            self.client.run(warm_up)

    def map_ordered(self, fn: Callable, tasks: Iterable[tuple], *, window: int | None = None) -> Iterator[Any]:
        def submit(func, *args):
            return self.client.submit(func, *args, pure=False)

        yield from _windowed(submit, fn, tasks, window or 4 * self.workers)

    def close(self) -> None:
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


def make_engine(name: str = "local", *, workers: int | None = None, scheduler: str | None = None):
    """An engine by name ('local' or 'dask')."""
    if name == "local":
        return LocalEngine(workers)
    if name == "dask":
        return DaskEngine(scheduler, workers)
    raise DatasetToolsError(f"unknown engine {name!r}", hint=f"Use one of: {', '.join(ENGINES)}.")
