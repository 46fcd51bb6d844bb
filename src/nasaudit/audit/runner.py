"""Run an audit spec: build its evaluators on first use, run each study once, record it, write the report.

Each study is one ``ExperimentJob`` of the results store. Its key holds everything the result depends
on: the study's resolved settings, the space and op mask, the seed, the resolved definition of every
evaluator it reads (with the content hash of every input file) and the package version. A rerun skips
what is done with that exact key and recomputes anything whose inputs changed; the study's tables,
figures and ``section.json`` land in ``<output>/<nn>-<kind>/`` beside ``spec.json``, the effective spec.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import time
import uuid
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from nasaudit._atomic import atomic_write, inside
from nasaudit._console import stderr_console
from nasaudit.audit.spec import AuditSpec
from nasaudit.errors import ConfigError, DataError, ResultWarning
from nasaudit.jobs.executors import LEASE_S, Executor, _claim, _LeaseKeeper, make_executor
from nasaudit.jobs.job import ExperimentJob, JobResult, Outcome, digest, freeze_options, identity
from nasaudit.jobs.provenance import file_sha256, package_version, worker_name
from nasaudit.jobs.store import ResultStore
from nasaudit.report.build import run_store_path
from nasaudit.report.section import RUN_MARKER, RUN_MARKER_TEXT, SECTION_FILE, is_run_folder, read_section
from nasaudit.spaces.base import SearchSpace
from nasaudit.studies import SectionRecord, study_entry, write_result
from nasaudit.studies._announce import announce_training
from nasaudit.studies._base import Scored, SpaceSpec, StudySpec, build_space
from nasaudit.studies.evaluators import EVALUATOR_KINDS, definition

#: spaces up to this size are scored exhaustively where a study needs "the whole space"
EXHAUSTIVE_LIMIT = 100_000
#: otherwise a study scores this many seeded samples
SAMPLED_POPULATION = 2_000
#: how often a run waiting for a study another run computes looks again (seconds)
CLAIM_POLL_S = 2.0


@dataclass
class _SpaceState:
    """What the runner builds once per space: the space, its evaluators, its population ("the whole space" with
    every evaluator's scores) and the computations studies share (``memo``); ``folder`` prefixes its scratch
    folders (empty for the audit's own space)."""

    space: SearchSpace
    folder: tuple[str, ...]
    scored: dict[str, Scored] = dataclasses.field(default_factory=dict)
    population: tuple[list[Any], dict[str, np.ndarray]] | None = None
    memo: dict[tuple[Any, ...], Any] = dataclasses.field(default_factory=dict)


class Runner:
    """Runs the studies of one spec in order; the ``StudyContext`` every study sees."""

    def __init__(self, spec: AuditSpec, console: Console | None = None, *, create_store: bool = False) -> None:
        self.spec = spec
        self.seed = spec.seed
        self.console = console or stderr_console()
        self.progress = self.console.is_terminal
        self.out = spec.resolve(spec.output)
        prepare_run_folder(self.out)
        self.store = ResultStore(spec.store or run_store_path(self.out), create_tables=create_store)
        self._states: dict[str, _SpaceState] = {}
        self._state = self._state_for(None)
        self._executor: Executor | None = None
        self._warned_sampled = False

    # ------------------------------------------------------------------ spaces
    def _state_for(self, space: SpaceSpec | None) -> _SpaceState:
        """The state of the space a study runs in: the audit's (``None`` or equal to it), or its own, whose
        scratch folders sit under ``spaces/<digest>/`` so that two spaces never share a checkpoint."""
        folder: tuple[str, ...] = ()
        if space is None or space == self.spec.space:
            space = self.spec.space
        else:
            folder = ("spaces", digest("space", identity(space))[:16])
        name = "/".join(folder)
        if name not in self._states:
            self._states[name] = _SpaceState(build_space(space), folder)
        return self._states[name]

    @property
    def space(self) -> SearchSpace:
        """The space of the study running now (the audit's unless the study names its own)."""
        return self._state.space

    @property
    def memo(self) -> dict[tuple[Any, ...], Any]:
        """Computations shared by the studies of the current space."""
        return self._state.memo

    # ------------------------------------------------------------------ StudyContext
    def scored(self, name: str) -> Scored:
        """The evaluator named ``name`` in the spec, built on first use in the current space."""
        built = self._state.scored
        if name not in built:
            config = self.spec.evaluators[name]
            where = f" in {self.space.name}" if self._state.folder else ""
            self.console.print(f"[bold]evaluator[/] {escape(name)}: building {config.kind}{where}", highlight=False)
            built[name] = EVALUATOR_KINDS.get(config.kind).build(self, name, config)
        return built[name]

    def evaluator_spec(self, name: str) -> Any:
        return self.spec.evaluators[name]

    def population(self, name: str) -> tuple[list[Any], np.ndarray]:
        """Every arch of the space (or seeded samples of a huge one) and its scores under ``name``."""
        if self._state.population is None:
            if self.space.size <= EXHAUSTIVE_LIMIT:
                archs = list(self.space.enumerate())
            else:
                archs = list(dict.fromkeys(self.space.sample_many(SAMPLED_POPULATION, self.seed)))
                self.console.print(f"[yellow]{self.space.name} has {self.space.size:.3g} architectures: 'the whole "
                                   f"space' is approximated by {len(archs)} seeded samples[/]", highlight=False)
            self._state.population = (archs, {})
        archs, scores = self._state.population
        if name not in scores:
            announce_training(self, name, self.scored(name), archs, "every architecture of the space")
            scores[name] = np.asarray(self.scored(name).evaluator.evaluate(archs), dtype=np.float64)
        return archs, scores[name]

    def executor(self) -> Executor:
        if self._executor is None:
            config = self.spec.executor
            self._executor = make_executor(config.kind, config.workers, config.address)
        return self._executor

    def work_dir(self, *parts: str) -> Path:
        folder = inside(self.out, "/".join((*self._state.folder, *parts)), "work folder")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def resolve(self, path: str) -> Path:
        return self.spec.resolve(path)

    # ------------------------------------------------------------------ keys
    def study_key(self, study: StudySpec) -> dict[str, Any]:
        """Everything a study's result depends on (its job identity), as nested JSON values. Settings are read with
        ``nasaudit.jobs.job.identity``: a field added with ``absent_means`` and holding that value is left out,
        so adding a setting does not rerun the studies already done."""
        files: dict[str, list[dict[str, str]]] = {}
        for field in type(study).file_fields:
            value = getattr(study, field)
            paths = [self._study_file(v) for v in ([value] if isinstance(value, str) else value or [])]
            files[field] = [{"path": str(path), "sha256": file_sha256(path)} for path in paths]
        key: dict[str, Any] = {
            "study": identity(study, exclude={"reference"}),
            "space": identity(study.space or self.spec.space),
            "evaluators": {name: definition(self.spec.evaluators, name, self.spec.base_dir)
                           for name in study.evaluator_refs()},
            "files": files,
            "version": package_version(),
        }
        plugins = plugin_hashes(key)
        if plugins:  # only when the study names a plugin's entry: keys of studies without plugins stay as they were
            key["plugins"] = plugins
        code = study.code_identity()
        if code:  # likewise only for users' code registered in the running process
            key["code"] = code
        return key

    def _study_file(self, value: str) -> Path:
        if value == "embedded":
            from nasaudit.studies.supernet_grid import EMBEDDED_GRID

            return EMBEDDED_GRID
        return self.resolve(value)

    # ------------------------------------------------------------------ running
    def run(self) -> list[SectionRecord]:
        """Run every study not yet done with its current key; return all sections in spec order.

        Each study is claimed in the store with a renewed lease before it runs (as ``run_jobs`` claims builds):
        a second ``nasaudit run`` of the spec waits for a study another live run is computing, then reads its
        section; a claim of a killed run of this host, or an expired one, is taken over. A study writes its
        folder under a temporary name and renames it into place, so no run deletes a folder another writes."""
        effective = self.spec.model_dump(mode="json", exclude={"base_dir"})
        atomic_write(inside(self.out, "spec.json", "effective spec"), json.dumps(effective, indent=1))
        sections = []
        driver = f"{worker_name()}:{uuid.uuid4().hex[:8]}"
        with _LeaseKeeper(self.store, driver, LEASE_S) as keeper, self._study_bar() as bar:
            task = bar.add_task("audit", total=len(self.spec.analyses))
            for index, study in enumerate(self.spec.analyses):
                key = f"{index:02d}-{study.kind}"
                bar.update(task, description=f"study {key}")
                self._state = self._state_for(study.space)
                job = self.study_job(key, study)
                sections.append(self._study(study, key, job, driver, keeper))
                bar.advance(task)
        return sections

    def study_job(self, key: str, study: StudySpec) -> ExperimentJob:
        """The store's record of study ``key`` (``<index>-<kind>``): its id is the canonical JSON of ``study_key``."""
        return ExperimentJob(self.spec.name, key, self.seed, freeze_options({"key": self.study_key(study)}))

    def _study_bar(self) -> Progress:
        """The audit's bar over its studies (elapsed, ETA); each long step inside shows its own bar below it
        (seeds, epochs, runs). Quiet when the console is not a terminal."""
        return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=self.console, disable=not self.progress)

    def _finished(self, key: str, job: ExperimentJob) -> SectionRecord | None:
        """The section of ``key`` when the store holds ``job`` as done and its ``section.json`` is there."""
        saved = inside(self.out, f"{key}/{SECTION_FILE}", "section record")
        if not self.store.done_ids("experiment_results", [job.job_id]) or not saved.is_file():
            return None
        self.console.print(f"[dim]{key}: already done, skipped[/]", highlight=False)
        return read_section(self.out, key)

    def _study(self, study: StudySpec, key: str, job: ExperimentJob, driver: str, keeper: _LeaseKeeper
               ) -> SectionRecord:
        """The section of one study: read when done, else computed under this run's claim."""
        waited = False
        while True:
            done = self._finished(key, job)
            if done is not None:
                return done
            if _claim(self.store, job.job_id, driver, LEASE_S):
                break
            if not waited:
                holder = self.store.claim_holder(job.job_id)
                self.console.print(f"{key}: another nasaudit run ({holder[0] if holder else 'unknown'}) is computing "
                                   "it; waiting for its result", highlight=False, markup=False)
                waited = True
            time.sleep(CLAIM_POLL_S)
        keeper.hold(job.job_id)
        try:
            done = self._finished(key, job)  # finished by the other run between our look and our claim
            return done if done is not None else self._compute(study, key, job)
        finally:
            keeper.drop(job.job_id)

    def _compute(self, study: StudySpec, key: str, job: ExperimentJob) -> SectionRecord:
        """Run one study into ``.partial-<key>-*/<key>`` and rename it to ``<key>`` (replacing an earlier key's
        folder, so no stale figure stays); record the outcome in the store."""
        final = inside(self.out, key, "study folder")
        for stale in self.out.glob(f".partial-{key}-*"):  # left by a killed run; this run holds the claim
            _remove(stale)
        started = time.time()
        try:
            scratch = Path(tempfile.mkdtemp(prefix=f".partial-{key}-", dir=self.out))
        except OSError as err:
            raise DataError(f"cannot write into the run folder {self.out}: {err.strerror or err}") from None
        self.console.print(f"[bold]{key}[/]: running", highlight=False)
        try:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ResultWarning)
                    result = study_entry(study.kind).run(self, study)
                result.notes.extend(_caveats(caught))
                result.settings = {"seed": self.seed, **result.settings}
                plugins = plugin_hashes(self.study_key(study))
                if plugins:  # the report states the users' code behind the section
                    result.settings["plugins"] = ", ".join(f"{name} (sha256 {digest[:12]})"
                                                           for name, digest in plugins.items())
                if study.reference:
                    result.notes.insert(0, f"Paper reports: {study.reference}")
                section = write_result(result, scratch / key, key)
            except Exception as err:
                self.store.record(Outcome(job, "failed", 1, started, time.time(), worker_name(), error=repr(err)))
                raise
            try:
                if os.path.lexists(final):
                    os.rename(final, scratch / "previous")
                os.rename(scratch / key, final)
            except OSError as err:
                raise DataError(f"cannot put the results of {key} into {final}: {err.strerror or err}") from None
        finally:
            _remove(scratch)
        self.store.record(Outcome(job, "done", 1, started, time.time(), worker_name(),
                                  result=JobResult({"section": asdict(section)})))
        self.console.print(f"[green]{key}[/]: done in {time.time() - started:.1f} s", highlight=False)
        return section


def plugin_hashes(key: dict[str, Any]) -> dict[str, str]:
    """Plugin -> sha256 of its source file, for every loaded plugin that registered a name ``key`` mentions (a
    strategy, method, study kind, evaluator kind or space the study uses): editing the plugin reruns the studies
    that use it, and only those. A plugin's own file is hashed, not the modules it imports."""
    from nasaudit.plugins import loaded_plugins, registered

    names = set(_strings(key))
    used = {plugin.origin: plugin for plugin in loaded_plugins() if plugin.source is not None
            and any(name in names for _, name in registered().get(plugin.origin, []))}
    labels = [plugin.source.name for plugin in used.values() if plugin.source is not None]
    return {(plugin.source.name if labels.count(plugin.source.name) == 1 else str(plugin.source)):
            file_sha256(plugin.source) for plugin in used.values() if plugin.source is not None}


def _strings(value: Any) -> list[str]:
    """Every string value nested in ``value`` (dict values, list items)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


def prepare_run_folder(out: Path) -> None:
    """Make ``out`` a run folder, or refuse it: the filesystem root, a file, or a folder that holds files but is
    not a nasaudit run folder (``is_run_folder``: no ``RUN_MARKER``) is one ``ConfigError``; nothing is written
    then. A new or empty folder gets the marker, as does the folder of a run of an earlier version."""
    shown = out
    out = out.resolve()
    if out == Path(out.anchor):
        raise ConfigError(f"output {shown} is the filesystem root; give a folder for the run")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {shown} is a file, not a run folder")
    if out.is_dir() and not is_run_folder(out):
        try:
            held = sorted(entry.name for entry in out.iterdir())
        except OSError as err:
            raise DataError(f"cannot read the run folder {shown}: {err.strerror}") from None
        if held:
            listed = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
            raise ConfigError(f"output {shown} holds files ({listed}) and is not a nasaudit run folder (no "
                              f"{RUN_MARKER}); give a new or empty folder, nasaudit would overwrite them")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create the run folder {shown}: {err.strerror}") from None
    marker = inside(out, RUN_MARKER, "run marker")
    if not marker.is_file():
        atomic_write(marker, RUN_MARKER_TEXT)


def _remove(path: Path) -> None:
    """Delete ``path`` (a folder tree, a file or a link, never what a link points to); gone already is fine."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)


def _caveats(caught: list[warnings.WarningMessage]) -> list[str]:
    """The distinct ``ResultWarning``s a study raised, as report notes (with how often each arose);
    other warnings go on to the user as usual."""
    counts: dict[str, int] = {}
    for caveat in caught:
        if issubclass(caveat.category, ResultWarning):
            counts[str(caveat.message)] = counts.get(str(caveat.message), 0) + 1
        else:
            warnings.warn_explicit(caveat.message, caveat.category, caveat.filename, caveat.lineno)
    return [f"Caveat: {text}" + (f" ({n} times)" if n > 1 else "") for text, n in counts.items()]


def run_spec(spec: AuditSpec, console: Console | None = None, *, create_store: bool = False) -> Path:
    """Run ``spec`` (resuming) and write its HTML report; return the report's path. ``create_store`` adds
    nasaudit's tables to an existing database of the spec's ``store`` that holds other tables."""
    from nasaudit.report.build import write_report

    runner = Runner(spec, console, create_store=create_store)
    try:
        sections = runner.run()
        return write_report(spec.name, runner.out, sections)
    finally:
        runner.store.close()
