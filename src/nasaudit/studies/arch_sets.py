"""Train named sets of architectures and compare them (architectures paper Sec. 4.1, Figs. 3-5, App. A.2;
redundancy paper Figs. 5, 6, 10b, Table 2a).

The sets are trained by ``studies._trained_sets`` (shared with ``dynamics``): every (architecture, seed, learning
rate) is one resumable ``TrainJob``. Each group of a set is compared with the set's reference group (``original``,
else the first group) by the Wilcoxon signed-rank test over runs paired on (pair, seed, learning rate), as the
redundancy paper does (Figs. 5, 6: p <= 0.01).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from nasaudit.errors import ConfigError, DataError
from nasaudit.studies._base import Plot, StudyContext, StudyResult, Table, register_study
from nasaudit.studies._trained_sets import (
    TrainedSetsSpec,
    convergence_plots,
    per_arch_summary,
    train_sets,
    training_settings,
)

if TYPE_CHECKING:
    import pandas as pd

#: significance level of the redundancy paper's Wilcoxon tests (Figs. 5, 6)
ALPHA = 0.01


class ArchSetsSpec(TrainedSetsSpec):
    """Train the sets; per-arch accuracy, convergence, and Wilcoxon tests within each set and between the
    set pairs of ``compare`` (equal sizes, runs paired by member order, seed and learning rate)."""

    kind: Literal["arch_sets"] = "arch_sets"
    compare: list[tuple[str, str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_pairs(self) -> ArchSetsSpec:
        names = {s.name for s in self.sets}
        unknown = sorted({n for pair in self.compare for n in pair} - names)
        if unknown:
            raise ValueError(f"compare names unknown set(s) {unknown}; sets: {sorted(names)}")
        return self


def reference_group(table: pd.DataFrame) -> str:
    """The group every other group of a set is tested against: ``original`` if present, else the first."""
    groups = list(dict.fromkeys(table["group"].astype(str)))
    return "original" if "original" in groups else groups[0]


# ------------------------------------------------------------------ training jobs


def _wilcoxon_row(a: pd.Series, b: pd.Series) -> dict[str, Any]:
    import numpy as np

    from nasaudit.metrics.statistics import wilcoxon_test

    row: dict[str, Any] = {"n_pairs": len(a), "mean_diff": float(np.mean(a.to_numpy() - b.to_numpy())),
                           "statistic": np.nan, "p_value": np.nan, "significant": False, "note": ""}
    try:
        test = wilcoxon_test(a.to_numpy(), b.to_numpy())
    except DataError as err:
        row["note"] = str(err)
        return row
    row.update(statistic=test.statistic, p_value=test.pvalue, significant=bool(test.pvalue <= ALPHA))
    return row


def group_tests(runs: pd.DataFrame) -> pd.DataFrame:
    """Each group of each set against the set's reference group (``reference_group``): final test accuracy,
    runs paired on (pair, seed, lr), Wilcoxon signed-rank test (redundancy paper Figs. 5, 6)."""
    import pandas as pd

    rows = []
    for set_name, part in runs.groupby("set", sort=False):
        ref = reference_group(part)
        base = part[part["group"] == ref].set_index(["pair", "seed", "lr"])["test_acc"]
        for group, members in part[part["group"] != ref].groupby("group", sort=False):
            keys = list(zip(members["pair"], members["seed"], members["lr"], strict=True))
            matched = [k in base.index for k in keys]
            if not any(matched):
                continue
            values = members["test_acc"][matched].reset_index(drop=True)
            reference = pd.Series([base[k] for k, m in zip(keys, matched, strict=True) if m])
            rows.append({"set": set_name, "group": group, "reference": ref, **_wilcoxon_row(values, reference)})
    return pd.DataFrame(rows, columns=["set", "group", "reference", "n_pairs", "mean_diff", "statistic", "p_value",
                                       "significant", "note"])


def set_comparisons(runs: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Set ``a`` against set ``b`` of the same size: runs paired on (member order, seed, lr)."""
    import pandas as pd

    rows = []
    for a, b in pairs:
        values = []
        for name in (a, b):
            part = runs[runs["set"] == name].copy()
            part["order"] = part.groupby(["seed", "lr"]).cumcount()
            values.append(part.set_index(["order", "seed", "lr"])["test_acc"].sort_index())
        if len(values[0]) != len(values[1]) or not values[0].index.equals(values[1].index):
            raise ConfigError(f"sets {a!r} and {b!r} have different sizes ({len(values[0])} and {len(values[1])} "
                              "runs); a paired test needs equal ones")
        rows.append({"set": a, "group": "(all)", "reference": b,
                     **_wilcoxon_row(values[0].reset_index(drop=True), values[1].reset_index(drop=True))})
    return pd.DataFrame(rows, columns=["set", "group", "reference", "n_pairs", "mean_diff", "statistic", "p_value",
                                       "significant", "note"])


@register_study("arch_sets", ArchSetsSpec,
                "train sets of architectures, compare convergence and accuracy (architectures Sec. 4.1; "
                "redundancy Figs. 5, 6, 10b)")
def run(context: StudyContext, spec: ArchSetsSpec) -> StudyResult:
    """Train every set; report per-arch accuracy, convergence speed and curves, and the paired tests."""
    import pandas as pd

    from nasaudit.report.figures_dynamics import plot_group_accuracy

    trained = train_sets(context, spec)
    table = per_arch_summary(trained, spec.fraction)
    tests = group_tests(trained.runs)
    if spec.compare:
        tests = pd.concat([tests, set_comparisons(trained.runs, spec.compare)], ignore_index=True)
    groups = table.groupby(["set", "group", "lr"], sort=False).agg(
        archs=("label", "nunique"), test_acc_mean=("test_acc_mean", "mean"),
        epochs_to_fraction=("epochs_to_fraction", "mean"), auc_mean=("auc_mean", "mean")).reset_index()
    notes = [f"{r['set']}: {r['group']} vs {r['reference']}: mean change {r['mean_diff']:+.2f} points over "
             f"{r['n_pairs']} paired runs, p = {r['p_value']:.3g}"
             + (" (significant at p <= 0.01)" if r["significant"] else "")
             for r in tests.to_dict("records") if r["p_value"] == r["p_value"]]
    return StudyResult(
        title="Architecture sets: accuracy and convergence",
        summary=(f"{len(trained.members)} architectures in {len(trained.sets)} set(s), each trained from scratch "
                 f"with {len(spec.seeds)} seed(s); per-epoch test metrics give the convergence curves "
                 f"(architectures paper Sec. 4.1) and the epochs to reach {spec.fraction:.0%} of the final test "
                 "accuracy; every group is tested against its set's reference group with the Wilcoxon signed-rank "
                 "test on final test accuracy (redundancy paper Figs. 5, 6; p <= 0.01)."),
        settings=training_settings(context, spec, trained),
        notes=notes,
        tables=[Table("groups.csv", "Per group: mean final test accuracy (%) and convergence speed", groups),
                Table("tests.csv", "Wilcoxon signed-rank tests (final test accuracy, paired runs)", tests),
                Table("archs.csv", "Per architecture: final test accuracy over seeds and convergence speed", table,
                      show=False),
                Table("members.csv", "Members of each set and what defines them", trained.members, show=False),
                Table("runs.csv", "Final metrics of every training run", trained.runs.drop(columns="job"),
                      show=False),
                Table("history.csv", "Per-epoch train/validation/test metrics of every run", trained.history,
                      show=False)],
        plots=[Plot("accuracy.png", "Final test accuracy per group (* significant vs the reference, p <= 0.01)",
                    partial(plot_group_accuracy, trained.runs, tests)), *convergence_plots(trained)],
    )
