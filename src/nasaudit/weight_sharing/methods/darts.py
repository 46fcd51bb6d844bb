"""DARTS in the fair comparison (search-phase paper Sec. 4.2): first-order DARTS (Liu et al. 2019, Alg. 1;
quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5, ``cnn/train_search.py``, ``cnn/architect.py``), run by
``weight_sharing.differentiable.search``, the final cell by the largest alpha per edge (``darts_alpha``, DARTS
Sec. 2.4). Its training, ``darts``, is the base of the other DARTS-family methods: those that derive otherwise
from the same search (``darts_pt.py``, ``darts_pt_mag.py``) name it too, so one job per seed searches once and
derives them all; those that search otherwise (``darts2.py``, ``gdas.py``, ``sdarts.py``, ``sgas.py``,
``darts_pt_fixed.py``) override ``algorithm`` and name their own.

An architecture's shared-weight score is the mixed supernet's validation accuracy with every edge fixed to its
op, batch norm on batch statistics (as PT measures it). The search checkpoints after every epoch and keeps a
snapshot after each ranked epoch, so a killed seed resumes and its ranking reads the snapshots.

Ours differs on purpose: every method of a comparison trains a supernet of one size (``WSSetup.sizes``), not
each paper's own; within a reduced space (NB201) the selection offers only the reduced space's members.

NB101 spaces (search-phase paper Table 3B, App. C.6: "no changes are needed except modifying the number of nodes"):
the mixed supernet of NAS-Bench-1Shot1 (``weight_sharing.differentiable.nb101_mixed``; Zela et al. 2020,
automl/nasbench-1shot1@cb0f0ec61ce8b37f8e2d0f2728c3ef0b9ec81bf1) with ``max_vertices`` vertices, the final cell by
its discretisation (each vertex's op by alpha, its inputs by the largest input weights under the edge budget). A
DARTS-family method runs there when its search is one of ``NB101_SEARCHES`` and it selects by alpha (``darts_alpha``,
``darts2_alpha``, ``drnas``); not within the truth's architectures (the discretisation has no restricted form).
A ranked NB101 cell runs exactly in every cell of the supernet (``NB101MixedSupernet.fixed_arg``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from nasaudit.weight_sharing.base import Trained, WeightSharingMethod, ranked_epochs

#: the searches whose update runs unchanged on NB101's mixed supernet (``SearchConfig`` refuses the others there:
#: ``differentiable.config.NB101_ALGORITHMS``); methods with one of them and the alpha selection take NB101 spaces
NB101_SEARCHES: tuple[str, ...] = ("darts", "darts2", "drnas")

if TYPE_CHECKING:
    import torch

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.spaces.darts import DartsGenotype
    from nasaudit.spaces.nb201 import NB201Arch
    from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
    from nasaudit.weight_sharing.differentiable.config import SearchConfig
    from nasaudit.weight_sharing.setup import WSSetup
    from nasaudit.weight_sharing.supernet.modules import Supernet


def arch_projection(alphas: ArchParameters, arch: NB201Arch | DartsGenotype, space: SearchSpace) -> Projection:
    """The decisions that make the mixed supernet run exactly ``arch`` (every kept edge fixed to its op)."""
    from nasaudit.spaces.darts import CELL_TYPES, DartsSpace
    from nasaudit.spaces.nb201 import NB201Arch
    from nasaudit.weight_sharing.differentiable.alpha import Projection

    projection = Projection.empty(alphas)
    if isinstance(arch, NB201Arch):
        projection.chosen["cell"] = [alphas.candidates["cell"][k].index(op) for k, op in enumerate(arch.ops)]
        return projection
    assert isinstance(space, DartsSpace)
    for kind in CELL_TYPES:
        projection.pruned[kind] = [True] * alphas.n_edges(kind)
        for src, dst, op in arch.cell(kind).triples():
            k = space.mixed_edge(dst - 2, src)
            projection.pruned[kind][k] = False
            projection.chosen[kind][k] = alphas.candidates[kind][k].index(op)
    return projection


def val_batches(splits: DatasetSplits, device: torch.device, images: int, size: int
                ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The first ``images`` validation images in fixed batches of ``size``, on ``device``."""
    from nasaudit.weight_sharing.differentiable.search import DeviceData

    batches = DeviceData(splits, device).fixed_batches("val", size)
    kept, seen = [], 0
    for x, y in batches:
        if seen >= images:
            break
        kept.append((x[:images - seen], y[:images - seen]))
        seen += len(kept[-1][1])
    return kept


class DartsAlpha(WeightSharingMethod):
    """First-order DARTS, the final cell by alpha magnitude (module doc). Hooks a variant overrides:
    ``algorithm`` (the search of ``weight_sharing.differentiable.search`` it runs), ``selection`` (how
    ``weight_sharing.differentiable.selection.select`` derives the cell, with ``selection_options``), ``trains_alpha``
    (whether the search steps alpha), ``alpha_train_passes`` (the training-batch passes of an alpha step),
    ``search_changes`` (the ``SearchConfig`` fields its settings set) and ``step_macs`` (the counted multiply-adds
    per image of one supernet step)."""

    name = "darts_alpha"
    description = "DARTS (first order), final cell by alpha magnitude (Liu et al. 2019)"
    families: ClassVar[tuple[str, ...]] = ("nb201", "darts", "nb101")
    training = "darts"
    #: the search algorithm of ``SearchConfig``
    algorithm: ClassVar[str] = "darts"
    #: the selection of ``differentiable.selection.select``
    selection: ClassVar[str] = "alpha"
    #: whether the search takes an alpha step per weight step (counted work)
    trains_alpha: ClassVar[bool] = True
    #: forward + backward passes over the training batch an alpha step adds to its validation pass (counted work):
    #: none in first order
    alpha_train_passes: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "families" not in cls.__dict__:  # NB101 for the searches defined there, selecting by alpha (module doc)
            nb101 = cls.algorithm in NB101_SEARCHES and cls.selection == "alpha"
            cls.families = ("nb201", "darts", "nb101") if nb101 else ("nb201", "darts")
        super().__init_subclass__(**kwargs)

    def search_changes(self) -> dict[str, Any]:
        """The ``SearchConfig`` fields this method's settings set (none here)."""
        return {}

    def search_config(self, setup: WSSetup) -> SearchConfig:
        """The search this method runs under ``setup``: the setup's search of ``algorithm`` with
        ``search_changes``."""
        from dataclasses import replace

        changes = self.search_changes()
        config = setup.search_config(self.algorithm)
        return replace(config, **changes) if changes else config

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int,
              work_dir: Path | None) -> Trained:
        from nasaudit.train.loop import resolve_device
        from nasaudit.weight_sharing.differentiable.nb101_mixed import NB101MixedSupernet
        from nasaudit.weight_sharing.differentiable.search import SNAPSHOT_NAME, evaluate, load_snapshot, search

        config = self.search_config(setup)
        epochs = ranked_epochs(config.epochs)
        run = search(config, splits, seed=seed, checkpoint_dir=work_dir, device=setup.device,
                     snapshot_epochs=epochs[:-1] if work_dir is not None else ())
        trained = Trained(state=run)
        ranked: list[Any] = [space.parse(a) for a in setup.ranked]
        if not ranked:
            return trained
        device = resolve_device(setup.device)
        batches = val_batches(splits, device, setup.rank_images, config.batch_size)
        searched = config.make_space()
        sources: dict[int, Any] = {config.epochs: run}
        if work_dir is not None:
            sources.update({e: work_dir / f"snapshot_{e}.pt" for e in epochs[:-1]})
            sources[config.epochs] = work_dir / SNAPSHOT_NAME
        for epoch in epochs:
            source = sources.get(epoch)
            if source is None:
                continue
            if isinstance(source, Path):
                net, alphas = load_snapshot(source).restore(splits, device)
            else:
                net, alphas = run.supernet, run.alphas
            weights = {k: w.detach() for k, w in alphas.weights().items()}
            scores = []
            for arch in ranked:
                if isinstance(net, NB101MixedSupernet):  # the cell itself in every cell (module doc)
                    arg: Any = net.fixed_arg(arch)
                else:
                    projection = arch_projection(alphas, arch, searched)
                    arg = alphas.forward_arg(projection.project(weights), projection.single_paths())
                scores.append(evaluate(net, arg, batches, batch_stats=True, noise_seed=seed)[1])
            trained.rank_epochs.append(epoch)
            trained.rank_scores.append(scores)
        return trained

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits,
               seed: int) -> str:
        import torch

        from nasaudit.spaces.subset import SubsetSpace
        from nasaudit.weight_sharing.differentiable.nb101_mixed import NB101MixedSupernet, discretise
        from nasaudit.weight_sharing.differentiable.selection import select

        if isinstance(trained.state.supernet, NB101MixedSupernet):  # 1Shot1's discretisation (module doc)
            with torch.no_grad():
                weights = trained.state.alphas.weights()
            return space.format(discretise(weights, trained.state.supernet))
        within = space if isinstance(space, SubsetSpace) else None
        chosen = select(trained.state, self.selection, seed=seed, device=setup.device, within=within,
                        **self.selection_options())
        return space.format(chosen.arch)

    def selection_options(self) -> dict[str, Any]:
        """Keyword options of ``select`` beyond the searched state (alpha: none)."""
        return {}

    def step_macs(self, config: SearchConfig, supernet: Supernet, alphas: ArchParameters,
                  weights: dict[str, torch.Tensor], mixed: int, splits: DatasetSplits) -> float:
        """Multiply-adds per image of one search step of ``config`` (the mean over its epochs): DARTS runs every
        candidate of every edge (``mixed``)."""
        return float(mixed)

    def cost(self, setup: WSSetup) -> float:
        """Weight and alpha steps through the supernet and its validation pass after each epoch (``cost``)."""
        from nasaudit.weight_sharing.cost import search_work

        return search_work(self, setup).training
