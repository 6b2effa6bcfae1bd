"""Studies: design points x replications through one runner, resumable from a task cache.

A *task* is one replication of one design point (a resolved scenario) under one root seed; a
*measure* turns its records into what the caller keeps. :func:`run_study` runs tasks through any
``concurrent.futures`` executor in a bounded window (:data:`sim.runs.pool.WINDOW` tasks submitted
ahead of the one awaited) and yields their results in task order, so every output is the same
whatever the executor, the number of workers, or the order in which they finish.

With a :class:`TaskCache`, each finished task is stored (Parquet, one file per table, written
atomically) under a content hash of what decides its result (:func:`task_key`): the resolved
scenario as canonical JSON, the seed, the replication, the measure and the model version
(:func:`model_version`: the package version and a hash of every ``sim/`` source file). A task
whose key is stored is read back instead of run, so a killed study resumes where it stopped, a
repeated one costs nothing, and a changed model (or scenario, seed, measure) never meets a stale
result. Reading back gives the same frames as computing (Parquet keeps every dtype), so outputs
are byte-identical with or without the cache.

Cache layout (a Parquet dataset per table, partitioned by design point)::

    DIR/<measure>/<table>/point=<scenario hash>/<task key>.parquet
    DIR/<measure>/_tasks/<task key>.json   # written last: the task is complete
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd

from sim.errors import InputError, OutputError
from sim.model.records import Records
from sim.runs.pool import WINDOW, pool_or

RESULT_POLL_SECONDS = 0.5  # the longest a pending signal waits while a replication's result is awaited
from sim.scenario import Scenario
from sim.simulate import simulate

T = TypeVar("T")
Measure = Callable[[Records], T]  # a module-level function (or a partial of one): it travels to the workers
Tables = dict[str, pd.DataFrame]  # a task's result as named frames (what the cache stores)

SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the sim/ package
DONE_DIR = "_tasks"  # pyarrow's dataset discovery skips names starting with _ or .
KEY_LENGTH = 24  # hex digits of sha256 kept in a key (96 bits)


@dataclass(frozen=True)
class Task:
    """One replication of one scenario (a design point) under a root seed."""

    scenario: Scenario
    replication: int
    seed: int


@dataclass(frozen=True)
class StudyMeasure(Generic[T]):
    """A measure the cache can store: ``fn`` runs in the workers; ``encode``/``decode`` turn its
    result into named frames and back (``decode(encode(x))`` must equal ``x``). ``name`` is part
    of every task key: two measures of one task never share a cache entry."""

    name: str
    fn: Measure[T]
    encode: Callable[[T], Tables]
    decode: Callable[[Tables], T]


def run_task(job: tuple[Measure[T], Task]) -> T:
    """The measure of one task's records (runs in a worker)."""
    measure, task = job
    return measure(simulate(task.scenario, task.replication, task.seed))


def run_task_versioned(job: tuple[Measure[T], Task]) -> tuple[str, T]:
    """:func:`run_task` and the model version of the worker that ran it (a cluster's workers may
    have another installation than the parent: their results must not be taken for this model's)."""
    return model_version(), run_task(job)


# ------------------------------------------------------------------------------ keys


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """``value`` as JSON with sorted keys and no whitespace: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


@functools.cache
def model_version() -> str:
    """The package version and a hash of every ``sim/**/*.py`` source (path and bytes), e.g.
    ``0.1.0+3f2a...``: any edit of the model's code gives a new version, hence new task keys."""
    try:
        version = metadata.version("driversplit")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        version = "0"
    digest = hashlib.sha256()
    for path in sorted(SOURCE_ROOT.rglob("*.py")):
        digest.update(path.relative_to(SOURCE_ROOT).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"{version}+{digest.hexdigest()[:16]}"


def point_key(scenario: Scenario) -> str:
    """The design point: a hash of the resolved scenario as canonical JSON."""
    return _sha(canonical_json(scenario.to_toml_dict()))[:KEY_LENGTH]


def task_key(task: Task, measure: str, version: str | None = None) -> str:
    """The content hash of a task: resolved scenario, seed, replication, measure, model version."""
    return _sha(canonical_json({
        "point": point_key(task.scenario), "seed": task.seed, "replication": task.replication,
        "measure": measure, "model": version or model_version(),
    }))[:KEY_LENGTH]


# ------------------------------------------------------------------------------ the cache


@dataclass
class TaskCache:
    """Finished tasks' results under ``root`` (see the module's layout); counts what it served.

    ``hits``: tasks read back; ``stored``: tasks computed and written.
    """

    root: Path
    hits: int = 0
    stored: int = 0
    _checked: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def check(self) -> None:
        """Create the cache directory, or refuse (``OutputError``, one line) a path that cannot be one."""
        if self._checked:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"--cache {self.root}: cannot be created as a directory ({exc.strerror})") from None
        if not os.access(self.root, os.W_OK):
            raise OutputError(f"--cache {self.root}: not writable")
        self._checked = True

    def _done(self, measure: str, key: str) -> Path:
        return self.root / measure / DONE_DIR / f"{key}.json"

    def _table(self, measure: str, table: str, point: str, key: str) -> Path:
        return self.root / measure / table / f"point={point}" / f"{key}.parquet"

    def has(self, measure: str, key: str) -> bool:
        return self._done(measure, key).is_file()

    def load(self, measure: str, key: str) -> Tables:
        """The stored tables of a complete task."""
        entry = json.loads(self._done(measure, key).read_text(encoding="utf-8"))
        self.hits += 1
        return {name: pd.read_parquet(self._table(measure, name, entry["point"], key)) for name in entry["tables"]}

    def store(self, measure: str, key: str, task: Task, tables: Mapping[str, pd.DataFrame]) -> None:
        """Write each table (temporary file, then rename; its index kept), then the task's entry that marks
        it complete."""
        self.check()
        point = point_key(task.scenario)
        for name, frame in tables.items():
            _atomic_write(self._table(measure, name, point, key), functools.partial(_to_parquet, frame))
        entry = {"point": point, "scenario": task.scenario.scenario.name, "replication": task.replication,
                 "seed": task.seed, "model": model_version(), "tables": list(tables)}
        _atomic_write(self._done(measure, key), lambda tmp: tmp.write_text(canonical_json(entry) + "\n", encoding="utf-8"))
        self.stored += 1

    def count(self, measure: str) -> int:
        """Complete tasks stored for ``measure``."""
        done = self.root / measure / DONE_DIR
        return sum(1 for _ in done.glob("*.json")) if done.is_dir() else 0


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path)  # pandas' default index handling: a RangeIndex as metadata, any other as a column


def _atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ running


@dataclass
class _Pending(Generic[T]):
    """A task awaiting its turn: a cache hit (``future`` None), or a future of its result (with
    the worker's model version when it ran elsewhere)."""

    task: Task
    key: str | None
    future: Future[T] | Future[tuple[str, T]] | None
    versioned: bool = False


def run_study(
    measure: Measure[T] | StudyMeasure[T],
    tasks: Iterable[Task],
    *,
    workers: int = 1,
    executor: Executor | None = None,
    count: int | None = None,
    progress: Callable[[int], Any] | None = None,
    cache: TaskCache | None = None,
    window: int = WINDOW,
) -> Iterator[T]:
    """``measure`` of each task's records, in task order.

    ``executor`` runs them (any ``concurrent.futures`` executor: a dask ``Client.get_executor()``
    too), else a pool of ``workers`` processes (capped at ``count`` tasks when given). At most
    ``window`` tasks are submitted ahead of the one awaited, so memory does not grow with the
    number of tasks. With ``cache`` (and a :class:`StudyMeasure`), stored tasks are read back, not
    run, and each computed one is stored as it finishes. ``progress(1)`` follows each result.
    A worker that runs another model version than this process is refused
    (:class:`ModelVersionMismatch`).
    """
    plain = measure.fn if isinstance(measure, StudyMeasure) else measure
    cached = measure if isinstance(measure, StudyMeasure) and cache is not None else None
    if cached is not None and cache is not None:
        cache.check()
    version = model_version() if cached is not None else ""

    def keyed() -> Iterator[tuple[Task, str | None, bool]]:
        for task in tasks:
            if cached is None or cache is None:
                yield task, None, False
                continue
            key = task_key(task, cached.name, version)
            yield task, key, cache.has(cached.name, key)

    with pool_or(executor, workers, count) as pool:
        pending: deque[_Pending[T]] = deque()
        try:
            for task, key, hit in keyed():
                if hit:
                    pending.append(_Pending(task, key, None))  # read back when its turn comes: memory stays bounded
                elif pool is None:
                    pending.append(_Pending(task, key, _done_future(run_task, (plain, task))))
                else:
                    pending.append(_Pending(task, key, pool.submit(run_task_versioned, (plain, task)), True))
                while pending and (pool is None or len(pending) >= window or pending[0].future is None):
                    yield _finish(pending.popleft(), cached, cache, progress)
            while pending:
                yield _finish(pending.popleft(), cached, cache, progress)
        finally:
            for item in pending:
                if item.future is not None:
                    item.future.cancel()


def _result(future: Future[Any]) -> Any:
    """``future.result()``, waking every half second: a signal the kernel delivered to another
    thread (pyarrow's, the executor's) is then handled at once by the main thread, instead of when
    the awaited replication ends (Ctrl-C, SIGTERM and SIGHUP stop a run at once)."""
    while True:
        try:
            return future.result(timeout=RESULT_POLL_SECONDS)
        except FuturesTimeout:
            continue


class ModelVersionMismatch(InputError):
    """A worker (of a dask cluster) runs another version of the model than this process."""


def _done_future(fn: Callable[..., T], arg: Any) -> Future[T]:
    future: Future[T] = Future()
    future.set_result(fn(arg))
    return future


def _finish(item: _Pending[T], cached: StudyMeasure[T] | None, cache: TaskCache | None,
            progress: Callable[[int], Any] | None) -> T:
    if item.future is None:  # a cache hit
        assert cached is not None and cache is not None and item.key is not None
        result = cached.decode(cache.load(cached.name, item.key))
    else:
        outcome = _result(item.future)
        if item.versioned:
            worker_version, result = outcome  # type: ignore[misc]
            if worker_version != model_version():
                raise ModelVersionMismatch(
                    f"a worker runs model version {worker_version}, this process {model_version()}: install the "
                    "same sim/ sources on every worker (README, 'Studies at scale')")
        else:
            result = outcome  # type: ignore[assignment]
        if cached is not None and cache is not None and item.key is not None:
            cache.store(cached.name, item.key, item.task, cached.encode(result))
    if progress is not None:
        progress(1)
    return result
