"""Every method of one comparison trains a supernet of the same size (issue #22 item 6), and its cost is counted
work, not seconds (item 7): forward multiply-adds x images, a training step as 3 forward passes."""

from __future__ import annotations

import pytest
import torch

from nasaudit.data.loading import load_dataset
from nasaudit.nn.networks import count_flops
from nasaudit.spaces import get_space
from nasaudit.truth.builder import BuildSpec
from nasaudit.weight_sharing import cost
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters
from nasaudit.weight_sharing.setup import SUPERNET_SIZES, WSSetup


def _stem_and_cells(net: torch.nn.Module, n_cells: int) -> tuple[int, int]:
    first = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    return first.out_channels, n_cells


@pytest.mark.parametrize(("space", "preset", "changes"), [
    ("nb201", "tiny", {}), ("nb201", "paper", {}), ("darts", "tiny", {}), ("nb201", "tiny", {"channels": 6}),
    ("nb201", "tiny", {"depth": 2, "batch_size": 32}),
])
def test_every_training_builds_the_same_supernet_size(space: str, preset: str, changes: dict) -> None:
    setup = WSSetup(space=space, preset=preset, epochs=1, **changes)  # type: ignore[arg-type]
    splits = load_dataset("embedded", val_fraction=0.5, seed=0)
    family = get_space(space).family
    sizes = setup.sizes(family)
    built = {}
    for training in ("darts", "gdas"):
        config = setup.search_config(training)
        net = config.build_supernet(splits)
        built[training] = (*_stem_and_cells(net, net.n_cells), config.batch_size)
    config = setup.single_path_config(get_space(space))
    net = config.build(splits)
    built["spos"] = (*_stem_and_cells(net, net.n_cells), config.make_protocol().batch_size)  # ENAS trains it too
    assert len(set(built.values())) == 1, built
    assert built["spos"][2] == sizes["batch_size"] and sizes == {**SUPERNET_SIZES[preset][family], **changes}
    words = setup.describe_sizes(family)
    assert f"{sizes['channels']} channels" in words and f"batch {sizes['batch_size']}" in words
    assert all(words in get_method(m).describe_cost(setup, family) for m in ("darts_alpha", "gdas", "spos_evolution"))


SETUP = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1, rank_images=100)
#: the methods' own settings of the counts below
SETTINGS = {"spos_evolution": {"evolution_budget": 5}, "enas": {"controller_steps": 1, "controller_batch": 2,
                                                                "derive_samples": 4}, "darts_pt": {"tune_epochs": 0}}


def method_work(setup: WSSetup, name: str, **changes: int) -> float:
    """The counted work of one seed of ``name`` with the settings above (and ``changes``) under ``setup``."""
    return get_method(name, {**SETTINGS.get(name, {}), **changes}).cost(setup)


class _Bound(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, arg: object) -> None:
        super().__init__()
        self.net, self.arg = net, arg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.arg)


def test_darts_work_is_the_mixed_supernets_steps_counted_by_hand() -> None:
    splits = load_dataset("embedded", val_fraction=0.5, seed=0)
    config = SETUP.search_config("darts")
    net = config.build_supernet(splits)
    alphas = ArchParameters(net)
    mixed = count_flops(_Bound(net, alphas.forward_arg(alphas.weights())), (splits.in_channels, splits.image_size, splits.image_size))
    n_train, n_val = len(splits.train), len(splits.val)
    assert n_val <= n_train  # so every training batch pairs with a full validation batch but the cycled last one
    # 1 epoch: weight steps on every training image, alpha steps on one validation batch per training batch, and
    # the epoch's validation pass; a step = forward + backward = 3 forward passes
    batches = -(-n_train // 64)
    val_batches = [min(64, n_val - 64 * i) for i in range(-(-n_val // 64))]
    alpha_images = sum(val_batches[s % len(val_batches)] for s in range(batches))
    expected = 3 * mixed * (n_train + alpha_images) + mixed * n_val
    assert method_work(SETUP, "darts_alpha") == pytest.approx(expected, rel=1e-12)
    twice = WSSetup(**{**SETUP.__dict__, "epochs": 2})
    assert method_work(twice, "darts_alpha") == pytest.approx(2 * expected, rel=1e-12)
    # PT: per edge each of the 3 candidates removed once and the result once, plus the first look (no tuning)
    assert method_work(SETUP, "darts_pt") - expected == pytest.approx((6 * 4 + 1) * mixed * n_val, rel=1e-12)
    # with 2 tuning epochs between decisions (DARTS-PT's proj_intv; NB201: one fewer before the last): 2+2+2+2+1
    # search epochs and a look after each of the 5 tunings
    search_epoch = 3 * mixed * (n_train + alpha_images) + mixed * n_val
    assert method_work(SETUP, "darts_pt", tune_epochs=2) - expected == pytest.approx(
        (6 * 4 + 1 + 5) * mixed * n_val + 9 * search_epoch, rel=1e-12)


def test_single_path_methods_cost_less_than_the_mixed_supernet_and_count_their_queries() -> None:
    darts, gdas = method_work(SETUP, "darts_alpha"), method_work(SETUP, "gdas")
    spos, enas = method_work(SETUP, "spos_evolution"), method_work(SETUP, "enas")
    assert 0 < gdas < darts and 0 < spos < darts and enas > 0
    assert method_work(SETUP, "spos_evolution", evolution_budget=6) > spos  # the reduced 3-op space has 729 cells
    assert method_work(SETUP, "spos_evolution") == spos  # counted: the same number every time


def test_a_standalone_training_is_its_recipes_epochs_images_and_flops() -> None:
    build = BuildSpec(protocol="cpu_small", dataset="embedded", seeds=(0, 1), options=(("epochs", 6),))
    one = cost.standalone(build, 1000.0)
    assert one.epochs == 6 and one.images == len(load_dataset("embedded", val_fraction=0.1, seed=0).train)
    assert one.work == 3 * 1000.0 * one.images * 6


def test_strictly_fair_sampling_counts_every_path_of_a_step() -> None:
    """FairNAS-style sampling (SPOS on NB201 here) trains all |O| paths of a step on one batch."""
    uniform, fair = cost.single_path_work(SETUP, "uniform"), cost.single_path_work(SETUP, "fair")
    n_ops = 3  # nb201 without none and avg_pool_3x3
    assert fair.training == pytest.approx(n_ops * uniform.training, rel=1e-12) and fair.query == uniform.query
    spos = method_work(SETUP, "spos_evolution")
    assert spos == pytest.approx(fair.training + 5 * fair.query, rel=1e-12)
