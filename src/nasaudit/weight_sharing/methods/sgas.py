"""SGAS in the fair comparison (Li et al. 2020, Sec. 3, criterion 1; lightaime/sgas, ``cnn/train_search.py`` as
stored at 4bd471cfcda77af03963c3b415c975296ba59693): DARTS's search (``weight_sharing.differentiable.search``,
algorithm ``sgas``) that, after a warm-up, greedily fixes one edge per cell kind every few epochs to its
strongest op, the edge of best normalised importance x selection certainty (``sgas_decide``; a DARTS node with
two decided inputs drops its others). The final cell keeps those decisions and takes the edges still open by
alpha (``differentiable.selection``, ``alpha``). It overrides only what differs from ``darts.DartsAlpha``: the
search it runs (its own training, one job per seed) and the counted multiply-adds of a step, fewer as edges are
decided (a decided edge runs its op only; ``cost.decided_macs``).

Ours differs on purpose: the search runs the epochs every method of the comparison shares (``WSSetup.epochs``;
the ``tiny`` preset decides from the first epoch on, one decision per epoch, ``SearchConfig.tiny``; ``paper``
after SGAS's 9 warm-up epochs, one every 5), not until every edge is decided plus 5 epochs; the batch does not
grow by 8 after each decision (the release's ``batch_increase``), so every method keeps one batch size. It does
not search within the truth's architectures (``within_truth``): its decisions during the search could leave no
member of the reduced space to complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasaudit.weight_sharing.methods.darts import DartsAlpha

if TYPE_CHECKING:
    import torch

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.weight_sharing.differentiable.alpha import ArchParameters
    from nasaudit.weight_sharing.differentiable.config import SearchConfig
    from nasaudit.weight_sharing.setup import WSSetup
    from nasaudit.weight_sharing.supernet.modules import Supernet


def decisions(config: SearchConfig, epochs: int) -> int:
    """SGAS's decision rounds in the first ``epochs`` epochs of ``config``'s search, one per cell kind after epoch
    ``e`` when ``e >= sgas_warmup`` and ``(e - sgas_warmup) % sgas_interval == 0`` (as ``differentiable.search``
    decides; a round finds no open edge once every edge is decided)."""
    warmup, interval = config.sgas_warmup, config.sgas_interval
    return sum(1 for e in range(epochs) if e >= warmup and (e - warmup) % interval == 0)


class SGAS(DartsAlpha):
    """SGAS, criterion 1 (module doc)."""

    name = "sgas"
    description = "SGAS: DARTS with greedy edge decisions during the search, final cell from them (Li et al. 2020)"
    training = "sgas"
    algorithm = "sgas"
    #: its decisions during the search know nothing of a reduced space, so no member may complete them
    reduced_families = ()

    def step_macs(self, config: SearchConfig, supernet: Supernet, alphas: ArchParameters,
                  weights: dict[str, torch.Tensor], mixed: int, splits: DatasetSplits) -> float:
        """The mean over the search's epochs of a step's multiply-adds per image with the edges decided before the
        epoch running one op each (``cost.decided_macs``)."""
        import numpy as np

        from nasaudit.weight_sharing.cost import decided_macs

        before = [decisions(config, epoch) for epoch in range(config.epochs)]
        macs = {n: decided_macs(supernet, alphas, splits, n) for n in sorted(set(before))}
        return float(np.mean([macs[n] for n in before]))

    def describe_cost(self, setup: WSSetup, family: str) -> str:

        config = self.search_config(setup)
        return (f"{super().describe_cost(setup, family)}, {decisions(config, config.epochs)} SGAS decision round(s), "
                "one edge per cell kind each")
