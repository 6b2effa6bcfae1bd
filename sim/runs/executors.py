"""Where a study's tasks run: the local process pool, a local dask cluster, or a dask scheduler.

:func:`study_executor` yields the ``concurrent.futures`` executor the runner submits to
(:func:`sim.runs.study.run_study`): ``None`` (this process) or a pool of local worker processes
(:func:`sim.runs.pool.worker_pool`) by default; with ``dask_local`` a ``LocalCluster`` of that
many single-threaded worker processes; with ``scheduler`` a running ``dask.distributed`` scheduler
(its workers need this package and its data importable: see README, "Studies at scale").
Results never depend on the executor: the runner orders them by task, and each task's random
numbers come from its seed and replication only.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from sim.errors import InputError
from sim.runs.pool import worker_pool


def _import_distributed():  # type: ignore[no-untyped-def]
    try:
        import distributed
    except ImportError:
        raise InputError("--scheduler/--dask-local: dask.distributed is not installed "
                         "(pip install 'driversplit[dask]')") from None
    return distributed


@contextmanager
def study_executor(workers: int = 1, *, tasks: int | None = None, scheduler: str | None = None,
                   dask_local: int | None = None) -> Iterator[Executor | None]:
    """The executor of a study: ``scheduler`` (a dask address) or ``dask_local`` (workers of a
    local dask cluster) when given, else :func:`~sim.runs.pool.worker_pool` of ``workers``."""
    if scheduler is not None and dask_local is not None:
        raise InputError("--scheduler and --dask-local: give one of them, not both")
    if scheduler is None and dask_local is None:
        with worker_pool(workers, tasks) as pool:
            yield pool
        return
    distributed = _import_distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"--scheduler {scheduler}: cannot reach a dask scheduler there ({exc})") from None
        with client:
            yield client.get_executor()
        return
    assert dask_local is not None
    with distributed.LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client.get_executor()
