"""Worker processes that die with their parent.

Every command that runs replications in parallel goes through :func:`worker_pool` (unless given
another executor: :mod:`sim.runs.executors`) and the study runner (:func:`sim.runs.study.run_study`):

- The pool has at most as many workers as there are tasks and CPU cores available to the process
  (``DRIVERSPLIT_OVERSUBSCRIBE=1`` lifts the cores cap; pass your own ``executor`` to go further).
- Workers end with their parent: on Linux the kernel kills them when the parent dies, even by
  SIGKILL (``PR_SET_PDEATHSIG``), and each worker also watches its parent's PID, so no worker
  outlives it for more than a fraction of a second. Workers ignore Ctrl-C: the parent handles it,
  cancels what is queued and terminates what runs, so an interrupt is honoured at once.
- The study runner keeps at most :data:`WINDOW` tasks submitted at a time and yields results in
  task order (the order, not the finishing time, decides every output, whatever the number of
  workers), so memory and the latency of an interrupt do not grow with the number of tasks.

Any ``concurrent.futures.Executor`` works in place of the local pool (``dask.distributed``'s
``Client.get_executor()`` for a cluster).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext

log = logging.getLogger(__name__)

WINDOW = 64  # tasks submitted ahead of the one whose result is awaited
PARENT_POLL_SECONDS = 0.2  # how often a worker checks that its parent still runs
OVERSUBSCRIBE_ENV = "DRIVERSPLIT_OVERSUBSCRIBE"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def usable_workers(requested: int, tasks: int | None = None) -> int:
    """``requested`` capped at the number of tasks and (unless oversubscribing) the available cores."""
    n = max(1, requested)
    cores = available_cores()
    if n > cores and os.environ.get(OVERSUBSCRIBE_ENV) != "1":
        log.info("%d workers requested, %d CPU cores available: using %d (%s=1 to use more)",
                 n, cores, cores, OVERSUBSCRIBE_ENV)
        n = cores
    if tasks is not None:
        n = min(n, max(1, tasks))
    return n


@contextmanager
def worker_pool(workers: int, tasks: int | None = None) -> Iterator[Executor | None]:
    """A process pool of :func:`usable_workers` workers, or None (run in this process) for one.

    Leaving the block normally waits for the workers to finish; leaving it by an exception
    (including Ctrl-C and the CLI's SIGTERM/SIGHUP) cancels queued tasks and terminates the workers.
    """
    n = usable_workers(workers, tasks)
    if n <= 1:
        yield None
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn")
    in_main_thread = threading.current_thread() is threading.main_thread()
    pool = ProcessPoolExecutor(n, mp_context=context, initializer=_init_worker, initargs=(os.getpid(), in_main_thread))
    try:
        # Start the workers now, from this thread: with fork they all start at the first submit, and
        # the kernel's parent-death signal follows the thread that forked them. They start with
        # Ctrl-C blocked, until their initializer ignores it: a Ctrl-C to the group while a worker
        # starts (on a busy machine, a while) would otherwise interrupt it with a traceback.
        with sigint_blocked():
            started = pool.submit(os.getpid)
        started.result()
        yield pool
    except BaseException:
        terminate(pool)
        raise
    pool.shutdown(wait=True)


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT held back from this process while the block runs (delivered after it, if one came);
    threads and processes started inside inherit the block. A no-op off the main thread or without
    ``pthread_sigmask``."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def pool_or(executor: Executor | None, workers: int, tasks: int | None = None):
    """``executor`` as is when given, else a :func:`worker_pool` for ``workers`` and ``tasks``."""
    return nullcontext(executor) if executor is not None else worker_pool(workers, tasks)


def terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel queued tasks and end the workers now, busy or not."""
    if hasattr(pool, "terminate_workers"):  # Python >= 3.14
        pool.terminate_workers()
        return
    # Before 3.14 the executor offers no way to stop busy workers: reach its process table.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + 2.0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()


# ------------------------------------------------------------------------------ inside a worker


def _init_worker(parent: int, parent_thread_is_main: bool) -> None:
    """Make this worker end with its parent and leave interrupts to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent handles it
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # forked with it blocked (worker_pool)
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, signal.SIG_DFL)  # a forked worker inherits the CLI's handlers
    if parent_thread_is_main:
        _kill_me_with_parent()
    if os.getppid() != parent:  # the parent died while this worker started
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


def _kill_me_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this process when the thread that forked it ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the watcher thread still runs
        pass


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)
