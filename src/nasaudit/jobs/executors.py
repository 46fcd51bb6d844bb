"""Run one job list sequentially, on local worker processes, or on a Ray cluster.

``run_jobs`` is the driver: it skips jobs the store already holds as done (so a killed build resumes
where it stopped), keeps a few attempts in flight on an executor, writes every outcome to the store as
soon as it arrives, retries failures a bounded number of times and reports the rest, with a progress
bar (done / failed / remaining, ETA). Search-phase paper Sec. 3.2 and 4.2: ground truth comes from
training every architecture of a reduced space with several seeds, which needs this to scale out.

Hardening (issue R2 2/7, items 3 and 11): each job is claimed in the store with a renewed lease before it
runs, so two drivers of the same build never train one job twice; local worker processes die with their
driver (a parent-death signal on Linux, a watchdog on the parent's pid everywhere); an unreachable Ray
address fails within ``RAY_CONNECT_TIMEOUT_S``.

Grouping (issue #14): jobs that one call can compute together (e.g. the seeds of one network, trained fused)
run as a ``JobGroup`` through a group function; each member is claimed, recorded and resumed as its own job,
so the store's rows do not depend on the grouping. A group that fails is split: its members are retried one
by one with the plain job function, where the usual bounded retries apply.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, ClassVar, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from nasaudit._console import stderr_console
from nasaudit.errors import ConfigError, DataError
from nasaudit.jobs import EXECUTOR_KINDS
from nasaudit.jobs.job import Job, JobResult, Outcome
from nasaudit.jobs.provenance import worker_name
from nasaudit.jobs.store import ResultStore
from nasaudit.plugins import ENV as PLUGINS_ENV
from nasaudit.registry import unknown_name_message

JobFunction = Callable[[Any], JobResult]
#: computes several jobs at once: one ``JobResult`` per member, in the members' order
GroupFunction = Callable[[Sequence[Any]], Sequence[JobResult]]
#: which jobs may share a group call (equal keys)
GroupKey = Callable[[Any], Hashable]
ExecutorKind = Literal["sequential", "processes", "ray"]
_ERROR_CHARS = 8000
#: how long a driver's claim on a job lasts without renewal (renewed every quarter of it while running)
LEASE_S = 120.0
#: how long to wait for a Ray cluster address to accept a connection
RAY_CONNECT_TIMEOUT_S = 15.0
_PR_SET_PDEATHSIG = 1


def execute(fn: JobFunction, job: Job, attempt: int) -> Outcome:
    """Run one attempt of ``job`` where this is called; an exception becomes a failed ``Outcome``."""
    started = time.time()
    try:
        result = fn(job)
        if not isinstance(result, JobResult):
            raise TypeError(f"job function {fn!r} returned {type(result).__name__}, expected JobResult")
    except Exception:
        return Outcome(job, "failed", attempt, started, time.time(), worker_name(),
                       error=traceback.format_exc()[-_ERROR_CHARS:])
    return Outcome(job, "done", attempt, started, time.time(), worker_name(), result=result)


@dataclass(frozen=True)
class JobGroup:
    """Several jobs computed by one call of a group function. Executors run it like a job; ``run_jobs``
    never stores it: each member's outcome becomes the member's own row."""

    #: not a store table: a group is never recorded, its members are
    table: ClassVar[str] = "job_groups"

    members: tuple[Job, ...]

    @property
    def job_id(self) -> str:
        return "+".join(member.job_id for member in self.members)

    def columns(self) -> dict[str, Any]:
        return {"members": len(self.members)}


@dataclass(frozen=True)
class GroupResult(JobResult):
    """What a group call hands back through ``execute``: one ``JobResult`` per member, in order."""

    members: tuple[JobResult, ...] = ()


@dataclass(frozen=True)
class GroupCall:
    """A group function as the job function of ``JobGroup``s (picklable when ``fn`` is)."""

    fn: GroupFunction

    def __call__(self, group: JobGroup) -> GroupResult:
        results = tuple(self.fn(group.members))
        if len(results) != len(group.members) or not all(isinstance(r, JobResult) for r in results):
            raise TypeError(f"group function {self.fn!r} returned {len(results)} item(s) for {len(group.members)} "
                            "job(s); expected one JobResult per job")
        return GroupResult(metrics={}, members=results)


def group_units(jobs: Sequence[Job], key: GroupKey | None, size: int) -> list[tuple[Job, ...]]:
    """``jobs`` cut into units of at most ``size`` jobs of one ``key``, in order of first appearance; a key's
    jobs are split into as few units as possible, of balanced sizes (10 jobs at size 8: 5 and 5)."""
    if key is None or size <= 1:
        return [(job,) for job in jobs]
    by_key: dict[Hashable, list[Job]] = {}
    for job in jobs:
        by_key.setdefault(key(job), []).append(job)
    units: list[tuple[Job, ...]] = []
    for members in by_key.values():
        count = -(-len(members) // size)
        bounds = [len(members) * i // count for i in range(count + 1)]
        units += [tuple(members[a:b]) for a, b in itertools.pairwise(bounds)]
    return units


def fan_out(outcome: Outcome, attempts: dict[str, int]) -> list[Outcome]:
    """The per-member outcomes of a ``JobGroup`` attempt (a plain job's outcome as it is). The group's time
    is split evenly and consecutively among its members, so that their durations add up to its cost. A
    failed group's members are not charged the attempt: the cause may be any one of them."""
    group = outcome.job
    if not isinstance(group, JobGroup):
        return [outcome]
    count = len(group.members)
    results: tuple[JobResult | None, ...] = (
        outcome.result.members if isinstance(outcome.result, GroupResult) else (None,) * count)
    share = (outcome.finished_at - outcome.started_at) / count
    return [replace(outcome, job=member, result=result, attempts=attempts.get(member.job_id, outcome.attempts),
                    started_at=outcome.started_at + i * share, finished_at=outcome.started_at + (i + 1) * share,
                    charged=outcome.ok)
            for i, (member, result) in enumerate(zip(group.members, results, strict=True))]


class Executor(ABC):
    """Runs job attempts somewhere and hands back their outcomes as they finish.

    Use as a context manager: entering starts the workers, leaving stops them.
    """

    #: how many attempts the driver keeps in flight
    capacity: int = 1

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @abstractmethod
    def start(self) -> None:
        """Acquire the workers."""

    @abstractmethod
    def stop(self) -> None:
        """Release the workers; attempts still in flight are abandoned."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Attempts submitted whose outcome has not been handed back yet."""

    @abstractmethod
    def submit(self, fn: JobFunction, job: Job, attempt: int) -> None:
        """Queue one attempt of ``job``."""

    @abstractmethod
    def next_outcome(self) -> Outcome:
        """Block until an attempt in flight finishes; return its outcome."""


class SequentialExecutor(Executor):
    """Runs each attempt in this process, one after another (debugging, tiny builds)."""

    def __init__(self) -> None:
        self._queue: deque[tuple[JobFunction, Job, int]] = deque()

    def start(self) -> None:
        self._queue.clear()

    def stop(self) -> None:
        self._queue.clear()

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def submit(self, fn: JobFunction, job: Job, attempt: int) -> None:
        self._queue.append((fn, job, attempt))

    def next_outcome(self) -> Outcome:
        return execute(*self._queue.popleft())


def limit_threads(threads: int) -> None:
    """Cap the math libraries' thread pools of this process (worker initialiser): ``workers`` processes
    each running a multi-threaded torch/BLAS pool on the same cores would oversubscribe them."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    torch = sys.modules.get("torch")  # read at import otherwise, from the variables above
    if torch is not None:
        torch.set_num_threads(threads)


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Make this process end when ``parent_pid`` does (worker initialiser): Linux's ``PR_SET_PDEATHSIG``
    delivers SIGKILL at once; a daemon thread watching ``os.getppid()`` is the portable fallback."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no prctl in this libc: the watchdog still applies
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="nasaudit-parent-watchdog", daemon=True).start()


def _init_worker(threads: int, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    limit_threads(threads)


class ProcessExecutor(Executor):
    """Local worker processes (``spawn`` context, so each worker starts clean, torch included), each with
    ``threads_per_worker`` math-library threads: 1 by default, as Ray does, so that N workers use N cores
    (several multi-threaded pools on the same cores slow every one of them down badly under load).

    A worker that dies (segfault, out of memory, ``os._exit``) breaks the pool: every attempt then in
    flight is reported failed and a fresh pool takes over. Which job killed it is known only when it
    ran alone, so with company the attempts are not charged and the executor runs one attempt at a
    time from then on: the culprit is then found and bounded retries still apply.
    """

    def __init__(self, workers: int = 2, threads_per_worker: int = 1) -> None:
        if workers < 1 or threads_per_worker < 1:
            raise ConfigError(f"need at least 1 worker process with at least 1 thread, got {workers} "
                              f"worker(s) with {threads_per_worker} thread(s)")
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        self.capacity = 2 * workers
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future, tuple[Job, int, float, int]] = {}
        self._generation = 0
        #: per broken generation: how many attempts were in flight when it broke
        self._broken_with: dict[int, int] = {}

    def start(self) -> None:
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(self.threads_per_worker, os.getpid()))
        self._generation += 1

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, fn: JobFunction, job: Job, attempt: int) -> None:
        if self._pool is None:
            raise RuntimeError("ProcessExecutor used outside its 'with' block")
        try:
            future = self._pool.submit(execute, fn, job, attempt)
        except BrokenProcessPool:
            # a worker died after the last outcome was read: the old pool's attempts will still report
            # failed (as an older generation), so start a fresh pool for this one
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.start()
            future = self._pool.submit(execute, fn, job, attempt)
        self._futures[future] = (job, attempt, time.time(), self._generation)

    def next_outcome(self) -> Outcome:
        finished, _ = wait(self._futures, return_when=FIRST_COMPLETED)
        future = next(iter(finished))
        job, attempt, submitted, generation = self._futures.pop(future)
        error = future.exception()
        if error is None:
            return future.result()
        charged = True
        if isinstance(error, BrokenProcessPool):
            if generation not in self._broken_with:
                self._broken_with[generation] = 1 + sum(g == generation for *_, g in self._futures.values())
            charged = self._broken_with[generation] == 1
            if not charged:
                self.capacity = 1
            if generation == self._generation and self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self.start()
        return Outcome(job, "failed", attempt, submitted, time.time(), "local worker process",
                       error=f"{type(error).__name__}: {error}", charged=charged)


def import_ray() -> ModuleType:
    """The ``ray`` module, or a clear install hint."""
    try:
        import ray
    except ImportError:
        raise ConfigError("the Ray executor needs Ray: pip install 'nasaudit[ray]'") from None
    return ray


class RayExecutor(Executor):
    """Attempts as Ray tasks on the cluster at ``address``, or on a local Ray instance when None.

    Ray's own task retries are off (``max_retries=0``) so that the driver's bounded retries are the only
    ones; a task whose worker dies comes back as a failed attempt. A Ray instance this executor started
    is shut down when it stops; one that was already running is left alone. The plugins listed in
    ``NASAUDIT_PLUGINS`` go to the workers in their runtime environment (a cluster's workers load them too).
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._ray = import_ray()
        self._started_ray = False
        self._remote: Any = None
        self._refs: dict[Any, tuple[Job, int, float]] = {}

    def start(self) -> None:
        ray = self._ray
        if self.address is not None and not ray.is_initialized():
            check_reachable(self.address)
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address is None and self.num_cpus is not None:
                kwargs["num_cpus"] = self.num_cpus
            # "local" starts a fresh instance even where `ray start` left a cluster address behind
            try:
                ray.init(address=self.address or "local", **kwargs)
            except Exception as err:  # Ray's own refusal (e.g. ray:// without ray[client]) as one line
                message = " ".join(str(err).split())[:300] or type(err).__name__
                raise ConfigError(f"cannot start Ray at {self.address or 'a local instance'}: {message}") from None
            self._started_ray = True
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": 0}
        listed = os.environ.get(PLUGINS_ENV)
        if listed:  # a cluster's workers do not inherit the driver's environment: pass the plugins on
            options["runtime_env"] = {"env_vars": {PLUGINS_ENV: listed}}
        self._remote = ray.remote(**options)(execute)
        self.capacity = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))

    def stop(self) -> None:
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False

    @property
    def in_flight(self) -> int:
        return len(self._refs)

    def submit(self, fn: JobFunction, job: Job, attempt: int) -> None:
        if self._remote is None:
            raise RuntimeError("RayExecutor used outside its 'with' block")
        self._refs[self._remote.remote(fn, job, attempt)] = (job, attempt, time.time())

    def next_outcome(self) -> Outcome:
        (ref,), _ = self._ray.wait(list(self._refs), num_returns=1)
        job, attempt, submitted = self._refs.pop(ref)
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayError as error:
            return Outcome(job, "failed", attempt, submitted, time.time(), "ray worker",
                           error=f"{type(error).__name__}: {error}"[-_ERROR_CHARS:])


#: an HTTP/2 client connection preface and an empty SETTINGS frame (RFC 9113, Sec. 3.4 and 6.5)
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")


def check_reachable(address: str, timeout_s: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Refuse a Ray ``host:port`` (or ``ray://host:port``) address that does not accept a TCP connection
    within ``timeout_s``, or whose server does not speak gRPC (Ray's GCS and Ray Client are gRPC servers: their
    first HTTP/2 frame is SETTINGS), instead of letting ``ray.init`` wait for many minutes on a web server or a
    database; ``auto`` / ``local`` pass."""
    if address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError(f"Ray address {address!r} must look like host:port or ray://host:port")
    try:
        connection = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s)
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({reason} after at most "
                          f"{timeout_s:.0f} s); is `ray start --head` running there?") from None
    head = b""
    with connection:
        try:
            connection.sendall(_HTTP2_PREFACE)
            while len(head) < 9 and (chunk := connection.recv(9 - len(head))):
                head += chunk
        except OSError:  # reset, or silent for timeout_s: not a gRPC server either way
            pass
    if len(head) < 9 or head[3] != 0x04:
        raise ConfigError(f"{address} accepts connections but does not answer like a Ray cluster (no gRPC "
                          "server there); give the address `ray start --head` printed")


def make_executor(kind: str = "sequential", workers: int = 2, address: str | None = None) -> Executor:
    """An executor by name: ``sequential``, ``processes`` (``workers`` local processes) or ``ray``
    (the cluster at ``address``, else a local instance with ``workers`` CPUs)."""
    if kind == "sequential":
        return SequentialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, num_cpus=None if address else workers)
    raise ConfigError(unknown_name_message("executor", kind, list(EXECUTOR_KINDS)))


@dataclass
class RunSummary:
    """What one ``run_jobs`` call did: jobs skipped as already done, finished now, and failed for good."""

    total: int
    skipped: int
    done: int = 0
    failed: list[Outcome] = field(default_factory=list)
    retries: int = 0
    elapsed_s: float = 0.0

    @property
    def complete(self) -> bool:
        """Whether every job of the list is now done."""
        return self.skipped + self.done == self.total

    def __str__(self) -> str:
        text = (f"{self.total} jobs: {self.skipped} already done, {self.done} done now, "
                f"{len(self.failed)} failed, {self.retries} retries, {self.elapsed_s:.1f} s")
        for outcome in self.failed:
            last_line = (outcome.error or "").strip().splitlines()[-1:] or [""]
            label = " ".join(f"{k}={v}" for k, v in outcome.job.columns().items() if k in ("arch", "key", "seed"))
            text += f"\n  failed {label} after {outcome.attempts} attempt(s): {last_line[0]}"
        return text


def _progress_bar(console: Console | None, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[done]} done · {task.fields[failed]} failed · {task.fields[remaining]} remaining"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console or stderr_console(), disable=not enabled,
    )


class _LeaseKeeper:
    """Renews the driver's leases on its claimed jobs from a daemon thread, every quarter of a lease."""

    def __init__(self, store: ResultStore, driver: str, lease_s: float) -> None:
        self.store, self.driver, self.lease_s = store, driver, lease_s
        self.held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="nasaudit-lease-keeper", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.store.release(self.driver)

    def hold(self, job_id: str) -> None:
        with self._lock:
            self.held.add(job_id)

    def drop(self, job_id: str) -> None:
        with self._lock:
            self.held.discard(job_id)
        self.store.release(self.driver, [job_id])

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_s / 4):
            with self._lock:
                ids = list(self.held)
            if ids:
                with contextlib.suppress(DataError):  # a hiccup: the next renewal comes well before the end
                    self.store.renew(ids, self.driver, self.lease_s)


def _dead_local_driver(holder: str) -> bool:
    """Whether claim holder ``host:pid:token`` is a driver process of this host that no longer exists."""
    host, pid, _token = [*holder.rsplit(":", 2), "", ""][:3]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def _claim(store: ResultStore, job_id: str, driver: str, lease_s: float) -> bool:
    """Claim ``job_id``, taking it over from a dead driver of this host (e.g. a build killed with -9)."""
    if store.claim(job_id, driver, lease_s):
        return True
    holder = store.claim_holder(job_id)
    if holder is None or _dead_local_driver(holder[0]):
        return store.claim(job_id, driver, lease_s, stale=None if holder is None else holder[0])
    return False


def run_jobs(jobs: Sequence[Job], fn: JobFunction, store: ResultStore, executor: Executor | None = None, *,
             max_attempts: int = 2, progress: bool = True, description: str = "jobs",
             console: Console | None = None, lease_s: float = LEASE_S, group_fn: GroupFunction | None = None,
             group_key: GroupKey | None = None, group_size: int = 1) -> RunSummary:
    """Run every job of ``jobs`` not yet done in ``store``, writing each outcome to the store at once.

    Duplicate jobs (same id) run once. A failed attempt is retried (at the back of the queue) until
    ``max_attempts`` attempts; then it is reported in the summary and stays ``failed`` in the store,
    and a later call tries it again. Each job is claimed in the store for ``lease_s`` seconds (renewed
    while it runs) before it is submitted: a job another live driver holds is left to it and counted as
    skipped once done there; if that driver's lease runs out (it died), this one takes the job over.

    With ``group_fn`` and ``group_key``, pending jobs of equal key run up to ``group_size`` at a time as one
    ``group_fn`` call (``group_units``); a unit of one job, and every member of a group that failed, runs
    with ``fn``. Each member is claimed and recorded as its own job (``fan_out``), so the store does not
    depend on the grouping and a killed run loses at most the groups in flight.
    """
    if max_attempts < 1:
        raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
    if not lease_s > 0:
        raise ConfigError(f"lease_s must be positive, got {lease_s}")
    if group_size < 1:
        raise ConfigError(f"group_size must be at least 1 job, got {group_size}")
    if (group_fn is None) != (group_key is None):
        raise ConfigError("run_jobs needs both group_fn and group_key to group jobs, or neither")
    started = time.time()
    unique = {job.job_id: job for job in jobs}
    done_ids: set[str] = set()
    for table in {job.table for job in unique.values()}:
        done_ids |= store.done_ids(table)
    pending_jobs = [job for job_id, job in unique.items() if job_id not in done_ids]
    pending = deque(group_units(pending_jobs, group_key, group_size))
    summary = RunSummary(total=len(unique), skipped=len(unique) - len(pending_jobs))
    remaining = len(pending_jobs)
    attempts: dict[str, int] = {}
    waiting: deque[tuple[Job, ...]] = deque()  # claimed by another live driver
    driver = f"{worker_name()}:{uuid.uuid4().hex[:8]}"
    executor = executor or SequentialExecutor()
    with _progress_bar(console, progress) as bar, executor, _LeaseKeeper(store, driver, lease_s) as keeper:
        task = bar.add_task(description, total=remaining, done=0, failed=0,
                            remaining=remaining)
        while pending or executor.in_flight or waiting:
            while pending and executor.in_flight < executor.capacity:
                unit = pending.popleft()
                claimed = [job for job in unit if _claim(store, job.job_id, driver, lease_s)]
                if len(claimed) < len(unit):
                    waiting.append(tuple(job for job in unit if job not in claimed))
                for job in claimed:
                    keeper.hold(job.job_id)
                finished = store.done_ids(unit[0].table, [job.job_id for job in claimed]) if claimed else set()
                for job in claimed:
                    if job.job_id in finished:  # another driver finished it meanwhile
                        keeper.drop(job.job_id)
                        summary.skipped += 1
                        remaining -= 1
                        bar.update(task, advance=1, remaining=remaining)
                ready = [job for job in claimed if job.job_id not in finished]
                for job in ready:
                    attempts[job.job_id] = attempts.get(job.job_id, 0) + 1
                if len(ready) > 1 and group_fn is not None:
                    executor.submit(GroupCall(group_fn), JobGroup(tuple(ready)),
                                    max(attempts[job.job_id] for job in ready))
                elif ready:
                    executor.submit(fn, ready[0], attempts[ready[0].job_id])
            if not executor.in_flight:
                if waiting:  # nothing of ours left: wait for the other driver, or for its lease to end
                    time.sleep(min(2.0, lease_s / 4))
                    pending.extend(waiting)
                    waiting.clear()
                continue
            for outcome in fan_out(executor.next_outcome(), attempts):
                store.record(outcome)
                if outcome.ok:
                    summary.done += 1
                elif not outcome.charged or outcome.attempts < max_attempts:
                    if not outcome.charged:
                        attempts[outcome.job.job_id] -= 1
                    summary.retries += 1
                    pending.append((outcome.job,))
                    continue
                else:
                    summary.failed.append(outcome)
                keeper.drop(outcome.job.job_id)
                remaining -= 1
                bar.update(task, advance=1, done=summary.done, failed=len(summary.failed), remaining=remaining)
    summary.elapsed_s = time.time() - started
    return summary
