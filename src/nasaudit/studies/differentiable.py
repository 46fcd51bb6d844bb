"""Differentiable NAS and architecture selection (selection paper, DARTS-PT): search with a DARTS-family
algorithm over several seeds, derive architectures by alpha magnitude and by perturbation (PT), optionally with
alpha fixed, score them by the ground truth, and the paper's analyses (Fig. 1-4, 6, 8, 9, Table 1)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from nasaudit.errors import ConfigError
from nasaudit.limits import MAX_BATCH, MAX_CHANNELS, MAX_DEPTH, MAX_EPOCHS
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.differentiable.config import SearchConfig

Algorithm = Literal["darts", "darts2", "sdarts_rs", "sgas", "gdas", "drnas", "pcdarts"]
Method = Literal["alpha", "pt", "pt_mag", "fixed_alpha_pt"]
#: study method -> (the search it selects from: fixed alpha or the study's algorithm, the selection method)
METHODS: dict[str, tuple[str | None, str]] = {"alpha": (None, "alpha"), "pt": (None, "pt"), "pt_mag": (None, "pt_mag"),
                                              "fixed_alpha_pt": ("fixed_alpha", "pt")}
DEFAULT_SELECTIONS: tuple[Method, ...] = ("alpha", "pt", "fixed_alpha_pt")
#: selection paper Sec. 5.1 / App. A.7: PT tunes the supernet 5 epochs between two decisions
PAPER_TUNE_EPOCHS = 5


class DifferentiableSpec(StudySpec):
    """``search_seeds`` searches by ``algorithm`` on ``dataset`` (weights on one part of the training images,
    alpha on the other, ``val_fraction``), each derived by every method of ``selections`` and scored by the
    evaluator ``truth``. ``preset: paper`` is the selection paper's setting (GPU), ``tiny`` a CPU-sized one;
    ``epochs``/``channels``/``depth``/``batch_size`` override the preset. ``pt_mag`` is PT with the magnitude
    op criterion (Fig. 6); ``snapshot_epochs`` re-selects the searched and the fixed-alpha supernets along the
    search (Fig. 4, 8)."""

    evaluator_fields = ("truth",)

    kind: Literal["differentiable"] = "differentiable"
    algorithm: Algorithm = "darts"
    preset: Literal["paper", "tiny"] = "tiny"
    dataset: str = "embedded"
    data_root: str | None = None
    val_fraction: float = Field(0.5, gt=0, lt=1)
    epochs: int | None = Field(None, ge=1, le=MAX_EPOCHS)
    channels: int | None = Field(None, ge=1, le=MAX_CHANNELS)
    depth: int | None = Field(None, ge=1, le=MAX_DEPTH)
    batch_size: int | None = Field(None, ge=1, le=MAX_BATCH)
    search_seeds: int = Field(4, ge=1, le=1000)
    selections: list[Method] = Field(default_factory=lambda: list(DEFAULT_SELECTIONS), min_length=1)
    tune_epochs: int = Field(PAPER_TUNE_EPOCHS, ge=0, le=1000)
    #: PT with other numbers of tuning epochs between decisions (Fig. 9)
    tune_sweep: list[Annotated[int, Field(ge=0, le=1000)]] = Field(default_factory=list, max_length=20)
    #: re-select the snapshot after these search epochs with alpha and PT (Fig. 4)
    snapshot_epochs: list[Annotated[int, Field(ge=1, le=MAX_EPOCHS)]] = Field(default_factory=list, max_length=200)
    truth: str | None = None
    #: shuffle the edges and the layers of the searched supernet this many times (Table 1); 0: off
    shuffle_repeats: int = Field(0, ge=0, le=1000)
    device: str | None = None

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        from nasaudit.data.loading import DATASET_NAMES, WITHOUT_ROOT
        from nasaudit.registry import unknown_name_message
        from nasaudit.studies.evaluators import resolve_path
        from nasaudit.weight_sharing.differentiable.selection import SELECTION_METHODS

        methods = {METHODS[m][1] for m in self.selections}
        problems = [f"selection {method!r} is defined on {list(SELECTION_METHODS[method])} spaces, not "
                    f"{space.name!r}" for method in sorted(methods) if space.family not in SELECTION_METHODS[method]]
        if self.dataset not in DATASET_NAMES:
            problems.append(unknown_name_message("dataset", self.dataset, list(DATASET_NAMES)))
        elif self.dataset not in WITHOUT_ROOT and (self.data_root is None
                                                   or not resolve_path(base_dir, self.data_root).is_dir()):
            problems.append(f"dataset {self.dataset!r} needs data_root, an existing folder (got {self.data_root!r})")
        return problems

    @model_validator(mode="after")
    def _epochs_in_range(self) -> DifferentiableSpec:
        if self.epochs is not None and any(e < 1 or e > self.epochs for e in self.snapshot_epochs):
            raise ValueError(f"snapshot_epochs must lie in 1..{self.epochs}, got {self.snapshot_epochs}")
        if any(t < 0 for t in self.tune_sweep):
            raise ValueError("tune_sweep holds numbers of tuning epochs (>= 0)")
        return self


def search_config(context: StudyContext, spec: DifferentiableSpec, algorithm: str) -> SearchConfig:
    """The library config of a study: the audit's space (its masked ops), the preset, the overrides."""
    from dataclasses import replace

    from nasaudit.spaces import get_space
    from nasaudit.weight_sharing.differentiable.config import SearchConfig

    mask = tuple(op for op in get_space(context.space.name).ops if op not in context.space.ops)
    config = (SearchConfig.tiny(algorithm, context.space.name) if spec.preset == "tiny"
              else SearchConfig(algorithm=algorithm, space=context.space.name))
    changes: dict[str, Any] = {"mask": mask, **{k: getattr(spec, k) for k in ("epochs", "channels", "depth",
                                                                           "batch_size") if getattr(spec, k)}}
    if spec.dataset in ("embedded",):
        changes["flip"] = False  # digits must not be mirrored
    return replace(config, **changes)


def _splits(context: StudyContext, spec: DifferentiableSpec, seed: int) -> DatasetSplits:
    from nasaudit.data.loading import load_dataset

    root = context.resolve(spec.data_root) if spec.data_root else None
    return load_dataset(spec.dataset, root, val_fraction=spec.val_fraction, seed=seed)


@register_study("differentiable", DifferentiableSpec, "DARTS-family search, alpha vs PT selection (selection paper)")
def run(context: StudyContext, spec: DifferentiableSpec) -> StudyResult:
    """Search, select, score; operation strength, skip domination, selection along the search, tuning sweep."""
    import pandas as pd

    from nasaudit.report.figures_differentiable import (
        plot_operation_strength,
        plot_selection_along_search,
        plot_selection_trajectory,
        plot_skip_domination,
        skip_domination,
    )
    from nasaudit.weight_sharing.differentiable.search import search
    from nasaudit.weight_sharing.differentiable.selection import SELECTION_METHODS, operation_strength, select

    if context.space.family not in SELECTION_METHODS["pt"]:
        raise ConfigError(f"differentiable search is defined on NB201 and DARTS spaces, not {context.space.name!r}")
    seeds = list(range(context.seed, context.seed + spec.search_seeds))
    truth = context.scored(spec.truth) if spec.truth else None
    rows: list[dict[str, Any]] = []
    along: list[dict[str, Any]] = []
    sweep: list[dict[str, Any]] = []
    trajectories: list[dict[str, Any]] = []
    tuning: list[pd.DataFrame] = []
    strength: pd.DataFrame | None = None
    alpha_traj: pd.DataFrame | None = None
    shuffles: list[dict[str, Any]] = []
    notes: list[str] = []
    for seed in seeds:
        splits = _splits(context, spec, seed)
        runs = {}
        for algorithm in dict.fromkeys(METHODS[m][0] or spec.algorithm for m in spec.selections):
            folder = context.work_dir("differentiable", f"{algorithm}-seed{seed}")
            runs[algorithm] = search(search_config(context, spec, algorithm), splits, seed=seed,
                                     checkpoint_dir=folder, device=spec.device, snapshot_epochs=spec.snapshot_epochs)
        main = runs.get(spec.algorithm)
        for method in spec.selections:
            source = runs[METHODS[method][0] or spec.algorithm]
            chosen = select(source, METHODS[method][1], seed=seed, tune_epochs=spec.tune_epochs, device=spec.device)
            rows.append({"seed": seed, "method": method, "arch": str(chosen.arch), "search_epochs":
                         chosen.search_epoch, "select_seconds": chosen.seconds})
            trajectories += [{"seed": seed, "method": method, "round": r, "val_acc": acc}
                             for r, acc in enumerate(chosen.trajectory)]
            if not chosen.tuning.empty:
                tuning.append(chosen.tuning.assign(seed=seed, method=method))
        if "fixed_alpha" in runs and "fixed_alpha_pt" in spec.selections:  # Fig. 8: PT (fixed alpha) along the search
            along += _along_search(runs["fixed_alpha"], {"fixed_alpha_pt": "pt"}, spec, seed, splits)
        if main is None:
            continue
        if strength is None:
            strength = operation_strength(main, seed=seed, device=spec.device).assign(seed=seed)
            alpha_traj = main.alpha_frame()
            if spec.shuffle_repeats:
                shuffles, notes = _shuffles(main, spec, seed)
        along += _along_search(main, {"alpha": "alpha", "pt": "pt"}, spec, seed, splits)
        for tune in spec.tune_sweep:
            chosen = select(main, "pt", seed=seed, tune_epochs=tune, device=spec.device)
            sweep.append({"seed": seed, "tune_epochs": tune, "arch": str(chosen.arch)})
    derived = pd.DataFrame(rows)
    result = StudyResult(
        title=f"Differentiable search ({spec.algorithm}) and architecture selection",
        summary=(f"{spec.search_seeds} searches ({spec.algorithm}, preset {spec.preset}) on {spec.dataset} in "
                 f"{context.space.name} (ops {', '.join(context.space.ops)}); each derived by "
                 f"{', '.join(spec.selections)} (PT tunes {spec.tune_epochs} epochs between decisions)"
                 + (f", scored by {truth.description}." if truth else ".")),
        settings={"algorithm": spec.algorithm, "preset": spec.preset, "dataset": spec.dataset,
                  "search_seeds": ", ".join(map(str, seeds)), "selections": ", ".join(spec.selections),
                  "tune_epochs": spec.tune_epochs, "truth": spec.truth or "none"},
    )
    if truth is not None:
        scores = dict(zip(derived["arch"], truth.evaluator.evaluate(list(derived["arch"])), strict=True))
        derived["score"] = derived["arch"].map(scores)
        result.tables.append(Table("methods.csv", "Derived architectures' ground truth per method (mean, std)",
                                   _method_summary(derived)))
        result.tables.append(Table("paired_tests.csv", "Paired Wilcoxon tests between methods over seeds",
                                   _paired_tests(derived)))
    result.tables.append(Table("derived.csv", "Every derived architecture", derived))
    if strength is not None and not strength.empty:
        result.tables.append(Table("operation_strength.csv", "alpha vs the supernet's accuracy without each op "
                                   "(first seed; Fig. 1/7)", strength, show=False))
        result.plots.append(Plot("operation_strength.png", "Does the largest alpha pick the op that matters most? "
                                 "(Fig. 1/7)", partial(plot_operation_strength, strength)))
    if alpha_traj is not None and not alpha_traj.empty and "skip_connect" in context.space.ops:
        gap = skip_domination(alpha_traj)
        result.tables.append(Table("skip_domination.csv", "weight(skip) - max weight(conv) per epoch (Fig. 2-3)",
                                   gap))
        result.plots.append(Plot("skip_domination.png", "Skip-connection domination over the search (Fig. 2-3)",
                                 partial(plot_skip_domination, gap)))
    if along:
        frame = pd.DataFrame(along)
        if truth is not None:
            frame["score"] = truth.evaluator.evaluate(list(frame["arch"]))
            result.plots.append(Plot("along_search.png", "Derived architecture's score along the search (Fig. 4; "
                                     "fixed_alpha_pt: Fig. 8)",
                                     partial(plot_selection_along_search, frame, ylabel=truth.description)))
        result.tables.append(Table("along_search.csv", "Selections from snapshots along the search (Fig. 4; "
                                   "fixed_alpha_pt: PT on the fixed-alpha supernet, Fig. 8)", frame))
    progressive = pd.DataFrame(trajectories)
    if not progressive.empty:
        result.tables.append(Table("selection_trajectory.csv", "Supernet validation accuracy before the first and "
                                   "after every decision round of PT / PT-Mag (Fig. 6)", progressive, show=False))
        result.plots.append(Plot("selection_trajectory.png", "Supernet accuracy during PT's decisions and tuning "
                                 "(Fig. 6: PT vs PT-Mag)", partial(plot_selection_trajectory, progressive)))
    if tuning:
        result.tables.append(Table("pt_tuning.csv", "PT's tuning epochs between decisions (weight LR, alpha loss, "
                                   "supernet accuracy)", pd.concat(tuning, ignore_index=True), show=False))
    result.notes += notes
    if shuffles:
        result.tables.append(Table("shuffle.csv", "Supernet test accuracy before and after shuffling its edges or "
                                   "layers (Table 1)", pd.DataFrame(shuffles)))
    if sweep:
        frame = pd.DataFrame(sweep)
        if truth is not None:
            frame["score"] = truth.evaluator.evaluate(list(frame["arch"]))
        result.tables.append(Table("tune_sweep.csv", "PT with other numbers of tuning epochs (Fig. 9)", frame))
    return result


def _along_search(run: Any, methods: dict[str, str], spec: DifferentiableSpec, seed: int,
                  splits: DatasetSplits) -> list[dict[str, Any]]:
    """Each study method of ``methods`` (-> selection method) applied to the snapshots ``run`` kept along its
    search (Fig. 4; Fig. 8 for the fixed-alpha run)."""
    from nasaudit.weight_sharing.differentiable.search import load_snapshot
    from nasaudit.weight_sharing.differentiable.selection import select

    rows = []
    for epoch, path in sorted(run.snapshot_paths.items()):
        snapshot = load_snapshot(path)
        for method, how in methods.items():
            chosen = select(snapshot, how, seed=seed, splits=splits, tune_epochs=spec.tune_epochs, device=spec.device)
            rows.append({"seed": seed, "epoch": epoch, "method": method, "arch": str(chosen.arch)})
    return rows


def _shuffles(run: Any, spec: DifferentiableSpec, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Accuracy of the searched supernet (alpha-weighted) before and after shuffling its edges / layers."""
    import torch

    from nasaudit.weight_sharing.differentiable.shuffle import shuffle_accuracy

    with torch.no_grad():
        forward_arg = run.alphas.forward_arg(run.alphas.weights())
    rows, notes = [], []
    for mode in ("edges", "layers"):
        try:
            shuffled = shuffle_accuracy(run.supernet, run.splits, seed=seed, mode=mode, repeats=spec.shuffle_repeats,
                                        forward_arg=forward_arg, device=spec.device)
        except ConfigError as err:
            notes.append(f"No {mode} shuffle: {err}")
            continue
        rows.append({"mode": mode, "before": shuffled.before, "after_mean": shuffled.after_mean,
                     "after_std": shuffled.after_std, "repeats": len(shuffled.after)})
    return rows, notes


def _method_summary(derived: pd.DataFrame) -> pd.DataFrame:
    stats = derived.groupby("method", sort=False)["score"].agg(["count", "mean", "std", "max"]).reset_index()
    return stats.rename(columns={"count": "seeds", "max": "best"})


def _paired_tests(derived: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank test of every pair of methods on the seeds both have (redundancy paper's test)."""
    import itertools

    import pandas as pd

    from nasaudit.metrics import wilcoxon_test

    table = derived.pivot_table(index="seed", columns="method", values="score")
    rows = []
    for a, b in itertools.combinations(table.columns, 2):
        pair = table[[a, b]].dropna()
        differences = pair[a] - pair[b]
        test = wilcoxon_test(pair[a], pair[b]) if len(pair) >= 2 and (differences != 0).any() else None
        rows.append({"a": a, "b": b, "seeds": len(pair), "mean_difference": float(differences.mean()),
                     "statistic": test.statistic if test else float("nan"),
                     "p_value": test.pvalue if test else float("nan")})
    return pd.DataFrame(rows)
