"""The amount-of-sharing study (search-phase paper App. D.1, Fig. 6, Table 5) in the RNN space of the paper's
figure and in NB201: the cells, their grouping by shared matrices, and a tiny end-to-end run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.errors import ConfigError
from nasaudit.spaces import get_space
from nasaudit.weight_sharing.sharing import default_sharing_base, sharing_archs


def test_the_papers_twelve_rnn_cells_share_zero_one_or_two_matrices() -> None:
    space = get_space("rnn_3node")
    base = default_sharing_base(space)
    frame = sharing_archs(space, space.parse(base))
    assert len(frame) == 12  # 3 inputs x 4 activations (App. D.1)
    assert frame.groupby("source")["shared"].first().to_dict() == {0: 0, 1: 1, 2: 2}  # the chain sigmoid 0, relu 1
    assert len({space.canonical(a) for a in frame["arch"]}) == 12
    for arch, src, op in zip(frame["arch"], frame["source"], frame["op"], strict=True):
        space.validate(arch)
        assert arch.recurrent == (("sigmoid", 0), ("relu", 1), (op, src))


def test_shared_matrices_follow_the_path_back_to_the_input() -> None:
    space = get_space("rnn")  # 8 nodes: node 5 reads node 2, which reads node 1, which reads the input
    base = space.parse("Genotype(recurrent=[('tanh', 0), ('relu', 1), ('relu', 0), ('tanh', 3), ('relu', 2), "
                       "('tanh', 0), ('relu', 6), ('tanh', 0)], concat=range(1, 9))")
    frame = sharing_archs(space, base)
    assert len(frame) == 8 * 4
    assert frame.groupby("source")["shared"].first().to_dict() == {0: 0, 1: 1, 2: 2, 3: 1, 4: 2, 5: 3, 6: 1, 7: 2}


def test_other_spaces_are_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="NB201 and RNN"):
        sharing_archs(get_space("nb101"), None)
    with pytest.raises(ConfigError, match="2 nodes or more"):
        one = get_space("rnn").__class__(n_nodes=1)
        sharing_archs(one, one.parse("Genotype(recurrent=[('tanh', 0)], concat=range(1, 2))"))


TINY_LM = "{epochs: 1, emsize: 8, nhid: 8, bptt: 10, batch_size: 16, text_prefix: [400, 100, 100]}"
SPEC = f"""
output: run
space: {{name: rnn_3node}}
evaluators:
  fresh: {{kind: train, protocol: lm_cpu_small, dataset: jargon, seeds: [0, 1], metric: test_score,
          options: {TINY_LM}}}
analyses:
  - kind: amount_of_sharing
    truth: fresh
    seeds: 2
    weight_sharing: {{dataset: jargon, epochs: 1, channels: 8, batch_size: 8, train_tokens: 200, rank_images: 40,
                     methods: {{spos_rnn: {{derive_samples: 2}}}}}}
"""


def test_a_tiny_rnn_run_ranks_the_twelve_cells_by_weight_sharing_and_truth(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    run_spec(load_spec(tmp_path / "spec.yaml"))
    folder = tmp_path / "run" / "00-amount_of_sharing"
    cells = pd.read_csv(folder / "cells.csv")
    assert len(cells) == 12 and sorted(cells["shared"].unique()) == [0, 1, 2]
    assert np.isfinite(cells[["truth", "ws_seed0", "ws_seed1"]]).all().all()
    assert (cells["truth"] < 0).all()  # -(mean NLL per token)
    assert sorted(cells["truth_rank"]) == list(range(1, 13)) or cells["truth_rank"].sum() == 78
    assert np.allclose(cells["ws_rank"].sum(), 78)  # mean over seeds of a ranking of 12
    table = pd.read_csv(folder / "amount_of_sharing.csv")
    assert table["shared"].tolist() == [0, 1, 2] and (table["archs"] == 4).all()
    assert table["tau_mean"].between(-1, 1).all() and (table["seeds"] == 2).all()
    by_shared = pd.read_csv(folder / "by_shared.csv")
    assert by_shared["cells"].tolist() == [4, 4, 4]
    assert (folder / "sharing_ranking.png").stat().st_size > 0
    ceiling = pd.read_csv(folder / "ceiling.csv")  # the train evaluator's two seeds against each other
    assert ceiling[["seed_a", "seed_b"]].values.tolist() == [[0, 1]] and ceiling["kendall_tau"].between(-1, 1).all()


def test_a_base_outside_the_space_and_a_method_of_another_family_are_refused(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC.replace("seeds: 2\n", "seeds: 2\n    base: \"Genotype(recurrent=["
                                                     "('tanh', 0)], concat=range(1, 2))\"\n"))
    with pytest.raises(ConfigError, match=r"amount_of_sharing\.base"):
        load_spec(tmp_path / "spec.yaml")
    (tmp_path / "spec.yaml").write_text(SPEC.replace("seeds: 2\n", "seeds: 2\n    method: enas\n"))
    with pytest.raises(ConfigError, match="enas"):
        load_spec(tmp_path / "spec.yaml")


NB201_SPEC = """
output: run
space: {name: nb201}
evaluators:
  cifar10: {kind: table, path: nb201, metric: test_acc, dataset: cifar10}
analyses:
  - kind: amount_of_sharing
    truth: cifar10
    seeds: 1
    weight_sharing: {epochs: 1, rank_images: 64}
"""


def test_the_nb201_experiment_trains_uniform_spos_within_its_twelve_cells(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(NB201_SPEC)
    run_spec(load_spec(tmp_path / "spec.yaml"))
    folder = tmp_path / "run" / "00-amount_of_sharing"
    cells = pd.read_csv(folder / "cells.csv")
    assert len(cells) == 12 and cells["shared"].tolist() == [0] * 4 + [1] * 4 + [3] * 4
    assert cells["truth"].between(0, 100).all() and np.isfinite(cells["ws_seed0"]).all()
    assert (pd.read_csv(folder / "amount_of_sharing.csv")["archs"] == 4).all()
