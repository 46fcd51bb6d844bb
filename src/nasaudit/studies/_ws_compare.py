"""The weight-sharing half of the fair comparison (search-phase paper Sec. 3.1, 4.2-4.3, Fig. 4, Table 4,
App. D.2): settings, one resumable job per (training, seed), and the tables and figures of each method's
own ranking against the truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from nasaudit.errors import ConfigError, NasauditError, TrainingError
from nasaudit.jobs.job import absent_means
from nasaudit.limits import MAX_BATCH, MAX_CHANNELS, MAX_DEPTH, MAX_EPOCHS, MAX_IMAGES
from nasaudit.studies._announce import announce_training
from nasaudit.studies._base import Plot, Scored, StrictModel, StudyContext, Table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.base import WeightSharingMethod
    from nasaudit.weight_sharing.cost import StandAlone
    from nasaudit.weight_sharing.setup import WSSetup


class WeightSharingSettings(StrictModel):
    """How every weight-sharing method of a comparison trains (the same for all, so their budgets match):
    ``epochs`` supernet epochs on ``dataset`` (``preset`` ``tiny``: CPU-sized supernets; ``paper``: the
    papers' search networks), weights on ``1 - val_fraction`` of the training images. Each supernet ranks
    ``rank_set`` architectures of the space (scored by the truth) after every ranked epoch, on
    ``rank_images`` validation images. ``methods`` gives a requested method its own settings (method name ->
    settings, e.g. ``{spos_evolution: {evolution_budget: 20}}``; its ``settings_model``'s defaults where not
    given), checked with the spec. An ``rnn``-family space trains language models: it needs a text corpus
    (``dataset: jargon``, shipped, or ``ptb`` with ``data_root``; the default ``embedded`` is refused with that
    advice), and ``train_tokens`` keeps the first that many training tokens. ``best_of`` adds ``best_of_n.csv``: per
    N, the expected truth of the best of N uniform random architectures of the ranked set beside each strategy's
    finals (App. D.2: N = 8 is DARTS's random policy, N = 10 one architecture per seed over 10 seeds)."""

    dataset: str = "embedded"
    data_root: str | None = None
    preset: Literal["tiny", "paper"] = "tiny"
    epochs: int = Field(10, ge=1, le=MAX_EPOCHS)
    channels: int | None = Field(None, ge=1, le=MAX_CHANNELS)
    depth: int | None = Field(None, ge=1, le=MAX_DEPTH)
    batch_size: int | None = Field(None, ge=1, le=MAX_BATCH)
    val_fraction: float = Field(0.5, gt=0, lt=1)
    device: str | None = None
    rank_set: int = Field(100, ge=2, le=100_000)
    rank_images: int = Field(1000, ge=1, le=MAX_IMAGES)
    #: RNN spaces: train on the first this many tokens of the corpus (None: all of it)
    train_tokens: int | None = Field(None, ge=2, le=100_000_000, json_schema_extra=absent_means(None))
    methods: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: the N of ``best_of_n.csv`` (empty: no table)
    best_of: list[Annotated[int, Field(ge=1, le=10_000)]] = Field(
        default_factory=list, max_length=100, json_schema_extra=absent_means([]))


def methods_of(names: list[str], settings: WeightSharingSettings) -> list[WeightSharingMethod]:
    """The weight-sharing methods ``names``, each with its settings of ``settings.methods``; a bad setting is one
    ``ConfigError`` line naming the method and the setting."""
    from nasaudit.weight_sharing.base import get_method

    return [get_method(name, settings.methods.get(name)) for name in names]


def check_methods(names: list[str], space: SearchSpace, settings: WeightSharingSettings, within: bool,
                  base_dir: Path) -> list[str]:
    """What keeps the weight-sharing methods ``names`` from running in ``space`` with their settings, found
    without compute."""
    from nasaudit.data.loading import DATASET_NAMES, WITHOUT_ROOT
    from nasaudit.data.text import TEXT_DATASETS, TEXT_WITHOUT_ROOT
    from nasaudit.registry import unknown_name_message
    from nasaudit.studies.evaluators import resolve_path

    problems = [f"weight_sharing.methods.{name}: {name!r} is not a requested weight-sharing method (requested: "
                f"{names})" for name in settings.methods if name not in names]
    for name in names:
        try:
            [method] = methods_of([name], settings)
        except ConfigError as err:
            problems.append(f"weight_sharing.methods.{err}")
            continue
        problem = method.check(space, reduced=within)
        if problem is not None and problem not in problems:
            problems.append(problem)
    text = space.family == "rnn"  # RNN cells are language models: they train on a text corpus
    names_ok, rootless = (TEXT_DATASETS, TEXT_WITHOUT_ROOT) if text else (DATASET_NAMES, WITHOUT_ROOT)
    if names and text and settings.dataset in DATASET_NAMES:
        problems.append(f"weight_sharing.dataset {settings.dataset!r} is an image dataset; the {space.name!r} space "
                        "trains language models on a text corpus: set weight_sharing.dataset: jargon (shipped) or "
                        "ptb (with weight_sharing.data_root)")
    elif names and not text and settings.dataset in TEXT_DATASETS:
        problems.append(f"weight_sharing.dataset {settings.dataset!r} is a text corpus, for the rnn spaces; the "
                        f"{space.name!r} space trains on an image dataset ({', '.join(DATASET_NAMES)})")
    elif names and settings.dataset not in names_ok:
        kind = "text corpus (RNN cells train language models)" if text else "image dataset"
        problems.append(unknown_name_message(f"weight_sharing.dataset: {kind}", settings.dataset, list(names_ok)))
    elif names and settings.dataset not in rootless and (
            settings.data_root is None or not resolve_path(base_dir, settings.data_root).is_dir()):
        problems.append(f"dataset {settings.dataset!r} needs weight_sharing.data_root, an existing folder "
                        f"(got {settings.data_root!r})")
    return problems


def ranked_architectures(context: StudyContext, pool: list[Any], space: SearchSpace, truth_name: str, size: int
                         ) -> tuple[list[Any], np.ndarray]:
    """The architectures every supernet ranks, with their truth: the first of ``pool`` in each equivalence class
    of ``space``, at most ``size`` of them (a sample drawn with the audit's seed)."""
    import numpy as np

    from nasaudit.truth.builder import first_per_class

    truth = context.scored(truth_name)
    archs = first_per_class(space, pool)
    if len(archs) > size:
        rows = np.sort(np.random.default_rng(context.seed).choice(len(archs), size, replace=False))
        archs = [archs[i] for i in rows]
    announce_training(context, truth_name, truth, archs, "the set the supernets rank")
    return archs, np.asarray(truth.evaluator.evaluate(archs), dtype=np.float64)


def make_setup(context: StudyContext, settings: WeightSharingSettings, within: list[str], ranked: list[str]
               ) -> WSSetup:
    """The job setup of a comparison: the audit's space and mask, the settings, the reduced space, the ranked set."""
    from nasaudit.spaces import get_space
    from nasaudit.weight_sharing.setup import WSSetup

    mask = tuple(op for op in get_space(context.space.name).ops if op not in context.space.ops)
    data_root = str(context.resolve(settings.data_root)) if settings.data_root else None
    values = settings.model_dump(exclude={"rank_set", "data_root", "methods", "best_of"})  # best_of: a report table
    max_vertices = getattr(context.space, "max_vertices", None) if context.space.family == "nb101" else None
    if max_vertices is not None and max_vertices == getattr(get_space(context.space.name), "max_vertices", None):
        max_vertices = None  # the full space: keep the setup (and its jobs' ids) as for an unreduced spec
    setup = WSSetup(space=context.space.name, mask=mask, max_vertices=max_vertices, within=tuple(within),
                    data_root=data_root, rank_archs=tuple(ranked), **values)
    # the resolved supernet size is part of every job's identity: a store of an earlier default size is not reused
    sizes = setup.sizes(context.space.family)
    return replace(setup, channels=sizes["channels"], depth=sizes["depth"], batch_size=sizes["batch_size"])


def run_methods(context: StudyContext, methods: list[WeightSharingMethod], setup: WSSetup, seeds: list[int]
                ) -> pd.DataFrame:
    """Every (training, seed) job not yet done in the store, on the audit's executor; all finished results."""
    from nasaudit.jobs.executors import run_jobs
    from nasaudit.weight_sharing.jobs import job_results, make_jobs, ws_job

    jobs = make_jobs("compare-weight-sharing", methods, setup, seeds, context.work_dir("weight_sharing"))
    summary = run_jobs(jobs, ws_job, context.store, context.executor(), progress=context.progress,
                       description="weight-sharing seeds", console=context.console)
    if not summary.complete:
        first = (summary.failed[0].error or "").strip().splitlines() if summary.failed else []
        raise TrainingError(f"{len(summary.failed)} weight-sharing seed(s) failed (a rerun retries them): "
                            f"{first[-1] if first else 'see the results store'}")
    return job_results(context.store, jobs)


def finals_of(results: pd.DataFrame, names: list[str]) -> dict[str, list[str]]:
    """The final architecture of every seed of each method, in seed order."""
    from nasaudit.weight_sharing.base import WS_METHODS

    out: dict[str, list[str]] = {}
    for name in names:
        rows = results[results["training"] == WS_METHODS.get(name).training].sort_values("seed")
        out[name] = [finals[name] for finals in rows["finals"]]
    return out


def undefined_last(scores: Sequence[float]) -> np.ndarray:
    """A supernet's scores of the ranked set with every undefined one (NaN or infinite: a diverged hidden state or
    loss while scoring) tied below the lowest defined score, so the ranking still counts it, as worst."""
    import numpy as np

    values = np.asarray(scores, dtype=np.float64)
    defined = np.isfinite(values)
    if defined.all():
        return values
    floor = values[defined].min() - 1.0 if defined.any() else 0.0
    return np.where(defined, values, floor)


def ranking_tables(results: pd.DataFrame, ranked: list[str], truth: np.ndarray, top: int = 10
                   ) -> tuple[pd.DataFrame, pd.DataFrame, list[Plot]]:
    """Per (training, seed, ranked epoch): Kendall tau and Spearman rho against the truth and tau against the
    previous ranked epoch; per training: the final-epoch tau over seeds; the rank-disorder (Fig. 4) and
    rank-over-epochs (App. D.2, Fig. 7) figures. Undefined supernet scores rank last (``undefined_last``)."""
    import numpy as np
    import pandas as pd

    from nasaudit.metrics import kendall_tau, spearman
    from nasaudit.report.figures_supernet import plot_rank_disorder_panels, plot_rank_over_epochs

    rows: list[dict[str, Any]] = []
    panels: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    trajectories: dict[str, pd.DataFrame] = {}
    best = np.argsort(-truth, kind="stable")[:top]
    for training, group in results.groupby("training", sort=False):
        finals: list[tuple[float, int, np.ndarray]] = []
        for _, run in group.sort_values("seed").iterrows():
            previous = None
            for epoch, scores in zip(run["rank_epochs"], run["rank_scores"], strict=True):
                values = undefined_last(scores)
                rows.append({"method": training, "seed": run["seed"], "epoch": epoch,
                             "kendall_tau": kendall_tau(truth, values), "spearman_rho": spearman(truth, values),
                             "tau_vs_previous_epoch": kendall_tau(previous, values) if previous is not None
                             else float("nan")})
                previous = values
            if run["rank_scores"]:
                last = undefined_last(run["rank_scores"][-1])
                finals.append((kendall_tau(truth, last), int(run["seed"]), last))
        if not finals:
            continue
        finals.sort(key=lambda item: item[0])
        picks = {"best seed": finals[-1], "median seed": finals[len(finals) // 2], "worst seed": finals[0]}
        panels[str(training)] = [(f"{label} {seed}", truth, values) for label, (_, seed, values) in picks.items()]
        first = group.sort_values("seed").iloc[0]
        lines = []
        for epoch, scores in zip(first["rank_epochs"], first["rank_scores"], strict=True):
            ranks = pd.Series(-undefined_last(scores)).rank(method="min").to_numpy()
            lines += [{"epoch": epoch, "arch": ranked[i], "rank": float(ranks[i])} for i in best]
        trajectories[str(training)] = pd.DataFrame(lines)
    epochs = pd.DataFrame(rows, columns=["method", "seed", "epoch", "kendall_tau", "spearman_rho",
                                         "tau_vs_previous_epoch"])
    last = epochs.sort_values("epoch").groupby(["method", "seed"], sort=False).tail(1)
    summary = last.groupby("method", sort=False)["kendall_tau"].agg(["count", "mean", "std", "min", "max"])
    summary = summary.rename(columns={"count": "seeds", "mean": "tau_mean", "std": "tau_std", "min": "tau_worst",
                                      "max": "tau_best"}).reset_index()
    plots: list[Plot] = []
    if panels:
        plots.append(Plot("rank_disorder.png", "Rank disorder of each method's supernet: best, median and worst "
                          "seed (search-phase paper Fig. 4)", partial(plot_rank_disorder_panels, panels)))
        plots.append(Plot("rank_over_epochs.png", "Ranking quality and the true top architectures' ranks over "
                          "supernet training (App. D.2, Fig. 7)", partial(plot_rank_over_epochs, epochs, trajectories)))
    return epochs, summary, plots


def with_without(summary: pd.DataFrame, truth_scores: dict[str, np.ndarray], shared: list[str]) -> Table | None:
    """The same search policy with the supernet and with the truth as evaluator (search-phase paper Table 4), a
    row per method of ``shared`` (the weight-sharing methods, in the spec's order) that has its counterpart."""
    import pandas as pd

    from nasaudit.metrics import welch_ttest
    from nasaudit.weight_sharing.base import without_sharing_pairs

    by_name = summary.set_index("strategy")
    rows = []
    for with_ws, without_ws in without_sharing_pairs(shared).items():
        if with_ws not in by_name.index or without_ws not in by_name.index:
            continue
        a, b = truth_scores[with_ws], truth_scores[without_ws]
        test = welch_ttest(a, b) if min(a.size, b.size) > 1 else None
        rows.append({"policy": without_ws, "with_ws": with_ws, "with_ws_mean": by_name.at[with_ws, "mean"],
                     "with_ws_median_rank": by_name.at[with_ws, "median_rank"],
                     "without_ws_mean": by_name.at[without_ws, "mean"],
                     "without_ws_median_rank": by_name.at[without_ws, "median_rank"],
                     "welch_p": test.pvalue if test else float("nan")})
    if not rows:
        return None
    return Table("with_without_ws.csv", "The same search policy with and without weight sharing (Table 4)",
                 pd.DataFrame(rows))


def standalone_training(context: StudyContext, truth_name: str, truth: Scored, ranked: list[Any]
                        ) -> tuple[StandAlone | None, str]:
    """One stand-alone training of the truth's recipe, the unit of equal-cost budgets, or why there is none.

    The recipe is the build spec of the truth: the ``train`` evaluator's own, or the one a built table's sidecar
    records (``nasaudit bench export``, e.g. the shipped ``embedded`` and ``fashion`` tables); its forward
    multiply-adds per image are the mean over the ranked architectures of the ``flops`` the trainings recorded."""
    import numpy as np

    from nasaudit.studies.evaluators import TableEvaluatorSpec, table_file
    from nasaudit.truth.builder import BuildSpec, read_metadata
    from nasaudit.truth.trained import TrainedEvaluator
    from nasaudit.weight_sharing.cost import standalone

    spec = context.evaluator_spec(truth_name)
    build: BuildSpec | None = None
    if isinstance(truth.evaluator, TrainedEvaluator):
        build = truth.evaluator.build
        jobs = truth.evaluator.jobs(ranked)
        runs = context.store.runs(job_ids=[job.job_id for job in jobs], status="done")
        flops = [float(m["flops"]) for m in runs["metrics"] if "flops" in m]
    elif isinstance(spec, TableEvaluatorSpec) and truth.benchmark is not None:
        path = table_file(spec, Path(context.resolve(".")))
        try:
            recorded = read_metadata(path).get("spec")
            build = BuildSpec.from_dict(recorded) if isinstance(recorded, dict) else None
        except (NasauditError, TypeError, ValueError):
            build = None
        if build is None:
            return None, f"the truth table {path.name} records no training recipe (a nasaudit build sidecar)"
        if "flops" not in truth.benchmark.metrics:
            return None, f"the truth table {path.name} has no flops column"
        flops = truth.benchmark.evaluator("flops", resolve="canonical").evaluate(ranked).tolist()
    else:
        return None, f"the truth {truth_name!r} ({spec.kind}) states no stand-alone training recipe"
    if not flops or build is None:
        return None, f"no recorded flops of the truth {truth_name!r}'s trainings"
    try:
        return standalone(build, float(np.mean(flops))), ""
    except NasauditError as err:
        return None, f"the truth's recipe cannot be sized here ({err})"


def equal_cost_queries(work: dict[str, float], one: StandAlone) -> dict[str, int]:
    """Per method, the stand-alone trainings of the truth's recipe its counted work per seed pays for, rounded (at
    least one: a method is compared with random search of one query or more)."""
    return {name: max(1, round(value / one.work)) for name, value in work.items()}


def add_equal_cost_columns(summary: pd.DataFrame, finals: dict[str, np.ndarray], space_scores: np.ndarray,
                           work: dict[str, float], one: StandAlone) -> None:
    """``cost_in_trainings`` (a seed's counted work over one stand-alone training), ``equal_cost_queries``,
    ``p_gt_random_at_equal_cost`` (App. A.2 at the method's cost) and ``random_best_of_equal_cost`` (App. D.2: the
    expected truth of the best of that many uniform random architectures, trained with the truth's recipe) per
    method row; ``finals`` holds the ground truth of each method's final architectures."""
    import numpy as np

    from nasaudit.metrics import expected_best_of_n, p_surpass_random, space_rank

    queries = equal_cost_queries(work, one)
    ratios, counts, chances, best_of = [], [], [], []
    for name in summary["strategy"]:
        if name not in queries:
            ratios.append(np.nan)
            counts.append(np.nan)
            chances.append(np.nan)
            best_of.append(np.nan)
            continue
        ranks = np.atleast_1d(space_rank(finals[name], space_scores))
        ratios.append(float(f"{work[name] / one.work:.4g}"))
        counts.append(queries[name])
        chances.append(float(np.mean(p_surpass_random(ranks, len(space_scores), queries[name]))))
        best_of.append(expected_best_of_n(space_scores, queries[name]))
    summary["cost_in_trainings"] = ratios
    summary["equal_cost_queries"] = counts
    summary["p_gt_random_at_equal_cost"] = chances
    summary["random_best_of_equal_cost"] = best_of


def timing_table(results: pd.DataFrame) -> Table:
    """The measured seconds of every (training, seed): depend on the machine and its load, so kept apart from the
    deterministic tables."""
    frame = results[["training", "seed", "seconds"]].sort_values(["training", "seed"]).reset_index(drop=True)
    return Table("timing.csv", "Measured seconds of every weight-sharing seed (machine-dependent: the only file of "
                 "this section that differs between runs)", frame, show=False)


def reduced_space(space: SearchSpace, truth_name: str, inside: list[Any] | None) -> SearchSpace:
    """The reduced space of the truth table's architectures ``inside`` the audit's ``space``: their classes, or in a
    space too large to enumerate (DARTS: ``space.size`` above ``ENUMERATION_LIMIT``) the architectures themselves,
    one per class (``classes_space``), so no member lacks a truth and nothing enumerates the whole space."""
    from nasaudit.spaces.subset import classes_space

    if inside is None:
        raise ConfigError(f"within_truth needs a table evaluator as truth; {truth_name!r} is not one")
    if not inside:
        raise ConfigError(f"the truth table {truth_name!r} holds no architecture of space {space.name!r}")
    return classes_space(space, inside)
