"""Where sweep tasks run: in this process, on an embedded local Dask cluster, or on a
Dask cluster given by address. Dask is imported here, inside functions only.

A task is a chunk of points run by :func:`qsim.sweep.points.run_chunk`. Tasks are pure
(the same points give the same records anywhere), so when a worker dies Dask reruns its
tasks on the others and nothing is lost or changed.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from qsim.sweep.grid import SweepError
from qsim.sweep.points import Override, run_chunk

__all__ = ["Executor", "chunk_size", "connect"]

Task = Sequence[tuple[str, Sequence[Override], int]]
OnRecord = Callable[[dict[str, Any]], None]

#: Most points in one task: enough to amortise Dask's per-task cost (about a millisecond)
#: over points that take tens of milliseconds or more, few enough to balance and resume.
MAX_CHUNK = 50
_TASKS_PER_WORKER = 8


def chunk_size(points: int, workers: int) -> int:
    """Points per task: about eight tasks per worker, at most :data:`MAX_CHUNK` each."""
    return max(1, min(MAX_CHUNK, math.ceil(points / (_TASKS_PER_WORKER * max(workers, 1)))))


class Executor(Protocol):
    """Runs tasks and hands over each finished point as soon as its task is done."""

    where: str
    workers: int

    def map(self, base: Any, engine: str | None, tasks: Sequence[Task], done: OnRecord) -> None: ...


class _InProcess:
    where = "this process"
    workers = 1

    def map(self, base: Any, engine: str | None, tasks: Sequence[Task], done: OnRecord) -> None:
        for task in tasks:
            for item in task:  # one point at a time, so each is stored as it finishes
                for record in run_chunk(base, engine, [item]):
                    done(record)


class _Dask:
    def __init__(self, client: Any, where: str) -> None:
        self.client = client
        self.where = where
        info = client.scheduler_info()
        self.workers = max(len(info.get("workers", {})), 1)

    def map(self, base: Any, engine: str | None, tasks: Sequence[Task], done: OnRecord) -> None:
        from distributed import as_completed

        token = uuid.uuid4().hex[:12]  # a task name, never a seed
        futures = [
            self.client.submit(run_chunk, base, engine, list(task), key=f"qsim-sweep-{token}-{i}")
            for i, task in enumerate(tasks)
        ]
        try:
            for future in as_completed(futures, loop=self.client.loop):
                for record in future.result():
                    done(record)
                future.release()
        finally:
            self.client.cancel([f for f in futures if not f.done()])


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "qsim sweeps run on Dask, which is not installed: pip install 'dask[distributed]' "
            "(or run in this process with workers=0)"
        ) from None
    return distributed


@contextmanager
def connect(*, workers: int | None, scheduler: str | None, timeout: float) -> Iterator[Executor]:
    """The executor for ``workers`` / ``scheduler``, closed on exit.

    ``workers=0``: this process, no Dask. ``scheduler``: an existing Dask cluster at that
    address (``tcp://host:8786``). Otherwise an embedded local cluster of ``workers``
    processes (default: one per CPU), on loopback, without dashboard.

    Raises
    ------
    SweepError
        If the scheduler cannot be reached within ``timeout`` seconds.
    """
    if workers == 0:
        yield _InProcess()
        return
    distributed = _import_distributed()
    if scheduler is not None:
        from distributed.comm import get_address_host

        try:
            get_address_host(scheduler)  # a bad scheme fails here, before a Client exists
        except ValueError as exc:
            raise SweepError(f"bad Dask scheduler address {scheduler!r}: {exc}") from None
        try:
            client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reason = "" if "timed out" in text.lower() else f": {text}"
            raise SweepError(
                f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s{reason}"
            ) from None
        try:
            yield _Dask(client, f"the Dask cluster at {scheduler}")
        finally:
            client.close()
        return
    n = workers if workers is not None else _cpus()
    cluster = distributed.LocalCluster(
        n_workers=n,
        threads_per_worker=1,  # simulation is pure Python: one process per core
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # NOTE: the scheduler serves health routes over HTTP even without a dashboard, by
        # default on port 8787 of every interface; keep it on loopback, on a free port.
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield _Dask(client, f"a local Dask cluster of {n} worker{'s' if n != 1 else ''}")
        finally:
            client.close()
    finally:
        cluster.close()
