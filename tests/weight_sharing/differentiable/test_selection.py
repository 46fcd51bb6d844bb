"""Architecture selection: alpha magnitude against argmax references, PT on NB201 and DARTS-like spaces."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError, DataError
from nasaudit.nn.networks import build_network
from nasaudit.spaces.darts import DartsGenotype
from nasaudit.spaces.nb201 import NB201Arch
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.search import SearchRun, search
from nasaudit.weight_sharing.differentiable.selection import alpha_agreement, operation_strength, select


@pytest.fixture(scope="module")
def nb201_run(search_splits: DatasetSplits) -> SearchRun:
    return search(SearchConfig.tiny("darts", epochs=1), search_splits, seed=0)


def test_alpha_selection_is_the_argmax_on_nb201(nb201_run: SearchRun) -> None:
    selection = select(nb201_run, "alpha", seed=0)
    alpha = nb201_run.alphas.alpha["cell"].detach()
    assert isinstance(selection.arch, NB201Arch)
    assert selection.arch.ops == tuple(nb201_run.alphas.candidates["cell"][k][int(alpha[k].argmax())]
                                       for k in range(6))
    chosen = selection.edges[selection.edges["selected"]]
    assert list(chosen["op"]) == list(selection.arch.ops) and chosen["acc_without"].isna().all()


def test_alpha_selection_is_the_darts_genotype_rule(micro_splits: DatasetSplits) -> None:
    run = search(SearchConfig.tiny("darts", "darts", epochs=1, channels=2, mask=("dil_conv_5x5", "sep_conv_5x5")),
                 micro_splits, seed=0)
    arch = select(run, "alpha", seed=0).arch
    assert isinstance(arch, DartsGenotype)
    for kind in ("normal", "reduce"):
        w = torch.softmax(run.alphas.alpha[kind].detach(), -1).numpy()
        names = run.alphas.candidates[kind][0]
        real = [i for i, op in enumerate(names) if op != "none"]
        expected, start = [], 0
        for node in range(4):  # Liu et al.'s genotype(): top-2 inputs by strongest non-none op
            rows = range(start, start + node + 2)
            top = sorted(rows, key=lambda e: -w[e, real].max())[:2]
            expected += [(names[real[int(w[e, real].argmax())]], e - start) for e in sorted(top, key=lambda e: e - start)]
            start += node + 2
        assert list(arch.cell(kind).edges) == expected


def test_pt_on_nb201_picks_the_op_whose_removal_hurts_most(nb201_run: SearchRun, search_splits: DatasetSplits) -> None:
    selection = select(nb201_run, "pt", seed=5, tune_epochs=1)
    space = nb201_run.config.make_space()
    assert space.parse(str(selection.arch)) == selection.arch
    table = selection.edges
    assert sorted(table["edge"].unique()) == list(range(6)) and len(table) == 6 * 5
    assert isinstance(selection.arch, NB201Arch)
    for edge in range(6):
        group = table[table["edge"] == edge]
        picked = group["op"].to_numpy()[int(np.argmin(group["acc_without"].to_numpy()))]
        assert selection.arch.ops[edge] == picked and group["selected"].sum() == 1
    assert len(selection.trajectory) == 7 and selection.tune_epochs == 1
    again = select(nb201_run, "pt", seed=5, tune_epochs=1)
    assert again.arch == selection.arch and again.trajectory == selection.trajectory
    assert list(select(nb201_run, "pt", seed=6, tune_epochs=0).edges.drop_duplicates("edge")["edge"]) != \
        list(table.drop_duplicates("edge")["edge"])  # another seed, another edge order
    # the source run is untouched by PT's tuning
    assert torch.equal(nb201_run.snapshot().supernet_state["network.classifier.weight"],
                       nb201_run.supernet.state_dict()["network.classifier.weight"])


@pytest.mark.parametrize("space", ["darts_s1", "darts_s2", "darts_s3", "darts_s4"])
def test_pt_on_darts_spaces_gives_valid_genotypes(space: str, micro_splits: DatasetSplits) -> None:
    algorithm = "fixed_alpha" if space == "darts_s4" else "darts"
    run = search(SearchConfig.tiny(algorithm, space, epochs=1, channels=2), micro_splits, seed=0)
    selection = select(run, "pt", seed=0, tune_epochs=0)
    the_space = run.config.make_space()
    assert isinstance(selection.arch, DartsGenotype) and the_space.parse(str(selection.arch)) == selection.arch
    table = selection.edges
    assert "none" not in set(table["op"])  # App. A.1.1: none is never evaluated nor selected (S3 has it)
    topology = table[table["phase"] == "topology"]
    for (kind, dst), group in topology.groupby(["cell", "dst"]):
        assert group["selected"].sum() == 2
        kept = group.sort_values("acc_without", kind="stable").head(2)
        assert set(kept["src"]) == {src for _, src in selection.arch.cell(kind).edges[2 * (dst - 2):2 * dst - 2]}
    if space == "darts_s3":
        net = build_network(selection.arch, the_space, num_classes=10, in_channels=1, channels=4, layers=3,
                            auxiliary=False)
        x, y = micro_splits.train.x[:8].float() / 255, micro_splits.train.y[:8]
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        assert math.isfinite(float(loss.detach())) and all(p.grad is not None for p in net.parameters())


def test_selection_from_a_snapshot_file_equals_selection_from_the_run(nb201_run: SearchRun, tmp_path: Path,
                                                                        search_splits: DatasetSplits) -> None:
    path = nb201_run.save(tmp_path / "s.pt")
    from_run = select(nb201_run, "pt", seed=2, tune_epochs=0)
    from_file = select(path, "pt", seed=2, tune_epochs=0, splits=search_splits)
    assert from_file.arch == from_run.arch and from_file.edges.equals(from_run.edges)
    with pytest.raises(DataError):
        select(path, "pt", seed=2)


def test_unknown_or_unsupported_selection_fails_before_compute(nb201_run: SearchRun) -> None:
    with pytest.raises(ConfigError, match="selection method"):
        select(nb201_run, "darts-mag", seed=0)
    with pytest.raises(ConfigError, match="tune_epochs"):
        select(nb201_run, "pt", seed=0, tune_epochs=-1)


def test_operation_strength_table(nb201_run: SearchRun) -> None:
    table = operation_strength(nb201_run, seed=0)
    assert len(table) == 30 and table["acc_base"].nunique() == 1
    weights = torch.softmax(nb201_run.alphas.alpha["cell"].detach(), -1).numpy().ravel()
    np.testing.assert_allclose(table["weight"].to_numpy(), weights, rtol=1e-6)
    agreement = alpha_agreement(table)
    assert len(agreement) == 6
    for _, row in agreement.iterrows():
        group = table[table["edge"] == row["edge"]]
        assert row["pt_op"] == group["op"].to_numpy()[int(np.argmin(group["acc_without"].to_numpy()))]
