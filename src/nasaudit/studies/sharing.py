"""The amount of weight sharing and the ranking (search-phase paper App. D.1, Fig. 6, Table 5): a cell fixed but for
its last node's input and op, the cells trained by one weight-sharing method restricted to them and by the truth,
their rankings compared per number of shared weight matrices. RNN cells (the paper's Fig. 6) and NB201 cells."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from nasaudit.errors import DataError, NasauditError
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import scored_ceiling
from nasaudit.studies._ws_compare import WeightSharingSettings

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from nasaudit.spaces.base import SearchSpace

#: the paper's setting (Sec. 4.3, "the same setting"): uniform single-path sharing in each family
DEFAULT_METHODS = {"rnn": "spos_rnn", "nb201": "spos_evolution"}


class AmountOfSharingSpec(StudySpec):
    """The cells of ``base`` with every input and op of its last node (``base`` None: the module
    ``weight_sharing.sharing``'s default), trained by the weight-sharing ``method`` (None: uniform single-path
    sharing, ``spos_rnn`` in RNN spaces and ``spos_evolution`` in NB201) within those cells for ``seeds`` seeds as
    ``weight_sharing`` says, and scored by ``truth`` (a table holding them, or a ``train`` evaluator)."""

    evaluator_fields = ("truth",)

    kind: Literal["amount_of_sharing"] = "amount_of_sharing"
    truth: str
    base: str | None = None
    method: str | None = None
    seeds: int = Field(3, gt=0, le=1000)
    weight_sharing: WeightSharingSettings = Field(default_factory=WeightSharingSettings)

    def method_for(self, space: SearchSpace) -> str:
        """The weight-sharing method that trains the cells in ``space``."""
        return self.method or DEFAULT_METHODS.get(space.family, "spos_rnn")

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        from nasaudit.studies._ws_compare import check_methods
        from nasaudit.weight_sharing.base import WS_METHODS

        if space.family not in DEFAULT_METHODS:
            return [f"the amount-of-sharing experiment is defined on NB201 and RNN cells, not {space.name!r}"]
        try:
            _cells(space, self.base)
        except NasauditError as err:
            return [f"amount_of_sharing.base: {err}"]
        method = self.method_for(space)
        if method not in WS_METHODS:
            return [f"amount_of_sharing.method: {method!r} is not a weight-sharing method (choose from "
                    f"{WS_METHODS.names()})"]
        return check_methods([method], space, self.weight_sharing, True, base_dir)


def _cells(space: SearchSpace, base: str | None) -> pd.DataFrame:
    from nasaudit.weight_sharing.sharing import default_sharing_base, sharing_archs

    return sharing_archs(space, space.parse(base or default_sharing_base(space)))


@register_study("amount_of_sharing", AmountOfSharingSpec,
                "weight-sharing ranking vs the number of shared weight matrices (search-phase App. D.1)")
def run(context: StudyContext, spec: AmountOfSharingSpec) -> StudyResult:
    """Truth and weight-sharing scores of the cells, tau per input node (Table 5), ranks per amount of sharing."""
    import numpy as np

    from nasaudit.metrics import kendall_tau
    from nasaudit.report.figures_supernet import plot_sharing_ranking
    from nasaudit.studies import _ws_compare as ws
    from nasaudit.studies._announce import announce_training
    from nasaudit.weight_sharing.sharing import amount_of_sharing, default_sharing_base

    space = context.space
    base = spec.base or default_sharing_base(space)
    cells = _cells(space, base)
    archs = list(cells["arch"])
    strings = [space.format(a) for a in archs]
    truth = context.scored(spec.truth)
    announce_training(context, spec.truth, truth, archs, "the cells of the amount-of-sharing experiment")
    truth_scores = np.asarray(truth.evaluator.evaluate(archs), dtype=np.float64)
    name = spec.method_for(space)
    seeds = list(range(context.seed, context.seed + spec.seeds))
    setup = ws.make_setup(context, spec.weight_sharing, strings, strings)
    results = ws.run_methods(context, ws.methods_of([name], spec.weight_sharing), setup, seeds)
    runs = results.sort_values("seed")
    if not all(len(scores) for scores in runs["rank_scores"]):
        raise DataError(f"{name} recorded no ranking of the cells (a method must rank the setup's architectures "
                        "after its last epoch)")
    predictions = np.stack([ws.undefined_last(scores[-1]) for scores in runs["rank_scores"]])
    table = _cell_table(cells, strings, truth_scores, predictions, [int(s) for s in runs["seed"]])
    result = StudyResult(
        title="Amount of weight sharing and the ranking",
        summary=(f"{len(archs)} cells of {space.name!r}: {base} with every input and op of its last node, trained by "
                 f"{name} within them ({len(seeds)} seeds, {spec.weight_sharing.epochs} epochs on "
                 f"{spec.weight_sharing.dataset}) and scored by {truth.description}."),
        settings={"space": space.name, "base": base, "method": name, "ws_seeds": ", ".join(map(str, seeds)),
                  "ws_supernet": setup.describe_sizes(space.family), "truth": spec.truth, "cells": len(archs)},
    )
    taus = np.array([kendall_tau(truth_scores, p) for p in predictions])
    bias = np.array([kendall_tau(cells["shared"].to_numpy(), -p) for p in predictions])
    truth_bias = kendall_tau(cells["shared"].to_numpy(), -truth_scores)
    result.notes.append(
        f"Kendall tau between the truth and weight sharing over all {len(archs)} cells: {np.nanmean(taus):.3f} "
        f"(per seed {', '.join(f'{t:.2f}' for t in taus)}).")
    result.notes.append(
        f"Kendall tau between the number of shared matrices and the rank (1 = best): weight sharing "
        f"{np.nanmean(bias):.3f} (per seed {', '.join(f'{t:.2f}' for t in bias)}), truth {truth_bias:.3f}; positive: "
        "the more a cell shares, the worse it ranks (the paper's Fig. 6 b finding for weight sharing).")
    ceiling = scored_ceiling(truth, archs)
    if ceiling is not None:
        result.notes.append(f"Ceiling: the truth's own seed-to-seed Kendall tau on these cells is "
                            f"{ceiling['kendall_tau'].mean():.3f}; no supernet can be expected to rank them better.")
        result.tables.append(Table("ceiling.csv", "Seed-to-seed Kendall tau of the truth", ceiling))
    result.tables += [
        Table("amount_of_sharing.csv", "Kendall tau within each input node, by shared matrices (Table 5)",
              amount_of_sharing(cells, truth_scores, predictions)),
        Table("by_shared.csv", "Mean rank (1 = best) of the cells by number of shared matrices (Fig. 6 b)",
              _by_shared(table)),
        Table("cells.csv", "Every cell: its input, op, shared matrices, truth and weight-sharing scores and ranks",
              table),
    ]
    result.plots.append(Plot("sharing_ranking.png", "Weight-sharing ranking coloured by the number of shared "
                             "matrices (search-phase paper Fig. 6 b)", partial(plot_sharing_ranking, table)))
    return result


def _cell_table(cells: pd.DataFrame, strings: list[str], truth: np.ndarray, predictions: np.ndarray,
                seeds: list[int]) -> pd.DataFrame:
    """One row per cell: arch, label, source, op, shared, truth and its rank, the weight-sharing mean, std and mean
    rank over seeds, every seed's score."""
    import numpy as np
    import pandas as pd

    ranks = np.stack([pd.Series(-p).rank(method="average").to_numpy() for p in predictions])
    frame = pd.DataFrame({"arch": strings, "label": [f"{op} <- {src}" for op, src in zip(cells["op"], cells["source"],
                                                                                        strict=True)],
                          "source": cells["source"], "op": cells["op"], "shared": cells["shared"], "truth": truth,
                          "truth_rank": pd.Series(-truth).rank(method="average").to_numpy(),
                          "ws_mean": predictions.mean(axis=0),
                          "ws_std": predictions.std(axis=0, ddof=1) if len(predictions) > 1 else np.nan,
                          "ws_rank": ranks.mean(axis=0)})
    for seed, row in zip(seeds, predictions, strict=True):
        frame[f"ws_seed{seed}"] = row
    return frame


def _by_shared(table: pd.DataFrame) -> pd.DataFrame:
    """Per number of shared matrices: cells, mean truth, mean truth rank and mean weight-sharing rank."""
    grouped = table.groupby("shared", sort=True)
    return grouped.agg(cells=("arch", "size"), truth_mean=("truth", "mean"), truth_rank_mean=("truth_rank", "mean"),
                       ws_rank_mean=("ws_rank", "mean")).reset_index()
