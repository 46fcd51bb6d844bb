"""Run an audit spec: build its evaluators on first use, run each study once, record it, write the report.

Each study is one ``ExperimentJob`` of the results store. Its key holds everything the result depends
on: the study's resolved settings, the space and op mask, the seed, the resolved definition of every
evaluator it reads (with the content hash of every input file) and the package version. A rerun skips
what is done with that exact key and recomputes anything whose inputs changed; the study's tables,
figures and ``section.json`` land in ``<output>/<nn>-<kind>/`` beside ``spec.json``, the effective spec.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

from nasaudit._atomic import atomic_write
from nasaudit.audit.spec import AuditSpec, build_space
from nasaudit.errors import ConfigError, DataError, ResultWarning
from nasaudit.jobs.executors import Executor, make_executor
from nasaudit.jobs.job import ExperimentJob, JobResult, Outcome, freeze_options
from nasaudit.jobs.provenance import file_sha256, package_version, worker_name
from nasaudit.jobs.store import ResultStore
from nasaudit.report.section import read_section
from nasaudit.spaces.base import SearchSpace
from nasaudit.studies import SectionRecord, study_entry, write_result
from nasaudit.studies._announce import announce_training
from nasaudit.studies._base import Scored, StudySpec
from nasaudit.studies.evaluators import EVALUATOR_KINDS, definition

#: spaces up to this size are scored exhaustively where a study needs "the whole space"
EXHAUSTIVE_LIMIT = 100_000
#: otherwise a study scores this many seeded samples
SAMPLED_POPULATION = 2_000


class Runner:
    """Runs the studies of one spec in order; the ``StudyContext`` every study sees."""

    def __init__(self, spec: AuditSpec, console: Console | None = None) -> None:
        self.spec = spec
        self.seed = spec.seed
        self.console = console or Console(stderr=True, soft_wrap=True)
        self.out = spec.resolve(spec.output)
        if self.out.exists() and not self.out.is_dir():
            raise ConfigError(f"output {self.out} is a file, not a run folder")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DataError(f"cannot create the run folder {self.out}: {err.strerror}") from None
        self.store = ResultStore(spec.store or self.out / "results.sqlite")
        self.space: SearchSpace = build_space(spec.space)
        self.memo: dict[tuple[Any, ...], Any] = {}
        self._scored: dict[str, Scored] = {}
        self._population: tuple[list[Any], dict[str, np.ndarray]] | None = None
        self._executor: Executor | None = None
        self._warned_sampled = False

    # ------------------------------------------------------------------ StudyContext
    def scored(self, name: str) -> Scored:
        """The evaluator named ``name`` in the spec, built on first use."""
        if name not in self._scored:
            config = self.spec.evaluators[name]
            self.console.print(f"[bold]evaluator[/] {escape(name)}: building {config.kind}", highlight=False)
            self._scored[name] = EVALUATOR_KINDS.get(config.kind).build(self, name, config)
        return self._scored[name]

    def evaluator_spec(self, name: str) -> Any:
        return self.spec.evaluators[name]

    def population(self, name: str) -> tuple[list[Any], np.ndarray]:
        """Every arch of the space (or seeded samples of a huge one) and its scores under ``name``."""
        if self._population is None:
            if self.space.size <= EXHAUSTIVE_LIMIT:
                archs = list(self.space.enumerate())
            else:
                archs = list(dict.fromkeys(self.space.sample_many(SAMPLED_POPULATION, self.seed)))
                self.console.print(f"[yellow]{self.space.name} has {self.space.size:.3g} architectures: 'the whole "
                                   f"space' is approximated by {len(archs)} seeded samples[/]", highlight=False)
            self._population = (archs, {})
        archs, scores = self._population
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
        folder = self.out.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def resolve(self, path: str) -> Path:
        return self.spec.resolve(path)

    # ------------------------------------------------------------------ keys
    def study_key(self, study: StudySpec) -> dict[str, Any]:
        """Everything a study's result depends on (its job identity)."""
        files: dict[str, list[dict[str, str]]] = {}
        for field in type(study).file_fields:
            value = getattr(study, field)
            paths = [self._study_file(v) for v in ([value] if isinstance(value, str) else value or [])]
            files[field] = [{"path": str(path), "sha256": file_sha256(path)} for path in paths]
        return {
            "study": study.model_dump(mode="json", exclude={"reference"}),
            "space": self.spec.space.model_dump(mode="json"),
            "evaluators": {name: definition(self.spec.evaluators, name, self.spec.base_dir)
                           for name in study.evaluator_refs()},
            "files": files,
            "version": package_version(),
        }

    def _study_file(self, value: str) -> Path:
        if value == "embedded":
            from nasaudit.studies.supernet_grid import EMBEDDED_GRID

            return EMBEDDED_GRID
        return self.resolve(value)

    # ------------------------------------------------------------------ running
    def run(self) -> list[SectionRecord]:
        """Run every study not yet done with its current key; return all sections in spec order."""
        done = self.store.done_ids("experiment_results")
        effective = self.spec.model_dump(mode="json", exclude={"base_dir"})
        atomic_write(self.out / "spec.json", json.dumps(effective, indent=1))
        sections = []
        for index, study in enumerate(self.spec.analyses):
            key = f"{index:02d}-{study.kind}"
            folder = self.out / key
            job = ExperimentJob(self.spec.name, key, self.seed,
                                freeze_options({"key": json.dumps(self.study_key(study), sort_keys=True)}))
            saved = folder / "section.json"
            if job.job_id in done and saved.is_file():
                self.console.print(f"[dim]{key}: already done, skipped[/]", highlight=False)
                sections.append(read_section(saved))
                continue
            self.console.print(f"[bold]{key}[/]: running", highlight=False)
            shutil.rmtree(folder, ignore_errors=True)  # no stale figures of an earlier key
            started = time.time()
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ResultWarning)
                    result = study_entry(study.kind).run(self, study)
                result.notes.extend(_caveats(caught))
                result.settings = {"seed": self.seed, **result.settings}
                if study.reference:
                    result.notes.insert(0, f"Paper reports: {study.reference}")
                section = write_result(result, folder, key)
            except Exception as err:
                self.store.record(Outcome(job, "failed", 1, started, time.time(), worker_name(), error=repr(err)))
                raise
            self.store.record(Outcome(job, "done", 1, started, time.time(), worker_name(),
                                      result=JobResult({"section": asdict(section)})))
            self.console.print(f"[green]{key}[/]: done in {time.time() - started:.1f} s", highlight=False)
            sections.append(section)
        return sections


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


def run_spec(spec: AuditSpec, console: Console | None = None) -> Path:
    """Run ``spec`` (resuming) and write its HTML report; return the report's path."""
    from nasaudit.report.build import write_report

    runner = Runner(spec, console)
    sections = runner.run()
    return write_report(spec.name, runner.out, sections)
