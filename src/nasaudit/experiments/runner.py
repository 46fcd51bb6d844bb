"""Run an experiment spec: build its evaluators, run each analysis once, record it, write the report.

Each analysis is one ``ExperimentJob`` of the results store, keyed by its settings; its tables (CSV),
figures (PNG) and a ``section.json`` describing them land in ``<output>/<nn>-<kind>/``. A rerun of the
same spec skips the analyses already done, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from nasaudit.benchmarks.tabular import TabularBenchmark
from nasaudit.evaluators import Evaluator
from nasaudit.experiments.jobs import ExperimentJob, JobResult, Outcome, freeze_options
from nasaudit.experiments.provenance import worker_name
from nasaudit.experiments.spec import ExperimentSpec, SupernetEvaluatorSpec, TableEvaluatorSpec
from nasaudit.experiments.store import ResultStore
from nasaudit.resources import embedded_benchmark_path
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace

#: spaces up to this size are scored exhaustively where an analysis needs "the whole space"
EXHAUSTIVE_LIMIT = 100_000
#: otherwise an analysis scores this many seeded samples
SAMPLED_POPULATION = 2_000


@dataclass
class SectionRecord:
    """What an analysis produced, with paths relative to the run folder (stored as ``section.json``)."""

    key: str
    title: str
    summary: str
    settings: dict[str, Any]
    tables: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    downloads: list[tuple[str, str]] = field(default_factory=list)

    def add_table(self, folder: Path, name: str, caption: str, frame: pd.DataFrame, show: bool = True) -> None:
        """Write ``frame`` as CSV; ``show=False`` keeps a long detail table out of the page (linked only)."""
        frame.to_csv(folder / name, index=False)
        (self.tables if show else self.downloads).append((caption, f"{folder.name}/{name}"))

    def add_figure(self, folder: Path, name: str, caption: str) -> Path:
        self.figures.append((caption, f"{folder.name}/{name}"))
        return folder / name


@dataclass
class Scored:
    """An evaluator plus, for tables, the benchmark and its metric column."""

    evaluator: Evaluator
    description: str
    units: str = "percent"
    benchmark: TabularBenchmark | None = None
    column: str | None = None


class Runner:
    """Runs the analyses of one spec in order (search-phase paper's evaluator seam: any evaluator works)."""

    def __init__(self, spec: ExperimentSpec, console: Console | None = None) -> None:
        self.spec = spec
        self.console = console or Console(stderr=True)
        self.out = spec.resolve(spec.output)
        self.out.mkdir(parents=True, exist_ok=True)
        self.store = ResultStore(spec.store or self.out / "results.sqlite")
        space = get_space(spec.space.name)
        self.space: SearchSpace = space.restrict(spec.space.ops) if spec.space.ops else space
        self._scored: dict[str, Scored] = {}
        self._population: tuple[list[Any], dict[str, np.ndarray]] | None = None
        #: results analyses share within one run (e.g. operation importance for OI and subgraphs)
        self.memo: dict[tuple[Any, ...], Any] = {}

    # ------------------------------------------------------------------------------ evaluators
    def scored(self, name: str) -> Scored:
        """The evaluator named ``name`` in the spec, built on first use."""
        if name not in self._scored:
            config = self.spec.evaluators[name]
            self.console.print(f"[bold]evaluator[/] {name}: building {config.kind}", highlight=False)
            self._scored[name] = self._build(name, config)
        return self._scored[name]

    def _build(self, name: str, config: Any) -> Scored:
        if isinstance(config, TableEvaluatorSpec):
            path = embedded_benchmark_path() if config.path == "embedded" else self.spec.resolve(config.path)
            benchmark = TabularBenchmark.from_file(path, space=self.space, arch_column=config.arch_column)
            column = benchmark.column(config.metric, config.dataset)
            return Scored(benchmark.evaluator(column, resolve="canonical"), f"table {path.name}, column {column}",
                          config.units, benchmark, column)
        if isinstance(config, SupernetEvaluatorSpec):
            from nasaudit.experiments.supernet_eval import build_supernet_evaluator

            return Scored(build_supernet_evaluator(self, name, config), f"supernet ({config.size}, "
                          f"{config.sampling} sampling, {config.epochs} epochs on {config.dataset})", "percent")
        from nasaudit.benchmarks.surrogate import SurrogateBenchmark

        source = self.scored(config.fit_on)
        archs = self.space.sample_many(config.samples, self.spec.seed)
        model = SurrogateBenchmark(self.space, model=config.model, seed=self.spec.seed)
        model.fit(archs, source.evaluator.evaluate(archs))
        return Scored(model, f"{config.model} surrogate fit on {config.samples} archs scored by {config.fit_on}",
                      source.units)

    def population(self, name: str) -> tuple[list[Any], np.ndarray]:
        """Every arch of the space (or seeded samples of a huge one) and its scores under ``name``."""
        if self._population is None:
            if self.space.size <= EXHAUSTIVE_LIMIT:
                archs = list(self.space.enumerate())
            else:
                archs = list(dict.fromkeys(self.space.sample_many(SAMPLED_POPULATION, self.spec.seed)))
                self.console.print(f"[yellow]{self.space.name} has {self.space.size:.3g} architectures: 'the whole "
                                   f"space' is approximated by {len(archs)} seeded samples[/]", highlight=False)
            self._population = (archs, {})
        archs, scores = self._population
        if name not in scores:
            scores[name] = np.asarray(self.scored(name).evaluator.evaluate(archs), dtype=np.float64)
        return archs, scores[name]

    # ------------------------------------------------------------------------------ running
    def run(self) -> list[SectionRecord]:
        """Run every analysis not yet done; return all sections in spec order."""
        from nasaudit.experiments.analyses import HANDLERS

        done = self.store.done_ids("experiment_results")
        sections = []
        for index, analysis in enumerate(self.spec.analyses):
            key = f"{index:02d}-{analysis.kind}"
            folder = self.out / key
            job = ExperimentJob(self.spec.name, key, self.spec.seed,
                                freeze_options({"settings": analysis.model_dump_json(),
                                                "space": json.dumps(self.spec.space.model_dump())}))
            saved = folder / "section.json"
            if job.job_id in done and saved.is_file():
                self.console.print(f"[dim]{key}: already done, skipped[/]", highlight=False)
                sections.append(SectionRecord(**json.loads(saved.read_text())))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            self.console.print(f"[bold]{key}[/]: running", highlight=False)
            started = time.time()
            handler: Callable[[Runner, Any, SectionRecord, Path], None] = HANDLERS[analysis.kind]
            section = SectionRecord(key=key, title="", summary="", settings={"seed": self.spec.seed})
            if analysis.reference:
                section.notes.append(f"Paper reports: {analysis.reference}")
            try:
                handler(self, analysis, section, folder)
            except Exception as err:
                self.store.record(Outcome(job, "failed", 1, started, time.time(), worker_name(), error=repr(err)))
                raise
            saved.write_text(json.dumps(asdict(section), indent=1, default=str))
            self.store.record(Outcome(job, "done", 1, started, time.time(), worker_name(),
                                      result=JobResult({"section": asdict(section)})))
            self.console.print(f"[green]{key}[/]: done in {time.time() - started:.1f} s", highlight=False)
            sections.append(section)
        return sections


def run_spec(spec: ExperimentSpec, console: Console | None = None) -> Path:
    """Run ``spec`` (resuming) and write its HTML report; return the report's path."""
    from nasaudit.report.build import write_report

    runner = Runner(spec, console)
    sections = runner.run()
    return write_report(spec.name, runner.out, sections)
