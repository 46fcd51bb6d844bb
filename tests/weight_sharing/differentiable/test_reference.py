"""The search algorithms against their authors' code on tiny seeded cases (issue #22, items 2, 4 and 5).

* SDARTS-RS: xiangning-chen/SmoothDARTS@d3dbfed06643d5fd4056edd90891ec9109634ada (sota/cnn/train_search.py,
  sota/cnn/model_search.py ``softmax_arch_parameters`` / ``clip``, attacker/perturb.py ``Random_alpha``);
* GDAS: D-X-Y/AutoDL-Projects@f46486e21b71ae6459a700be720d7648b5429569 (exps/NAS-Bench-201-algos/GDAS.py,
  configs/nas-benchmark/algos/GDAS.config, scripts-search/NAS-Bench-201-algos/GDAS.sh);
* the DARTS reduction cells at layers//3 and 2*layers//3: quark0/darts@8876e793 (cnn/model_search.py).
"""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.spaces.darts import S1_EDGE_OPS, DartsSpace
from nasaudit.train.batches import DeviceData
from nasaudit.weight_sharing.differentiable import search as search_module
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
from nasaudit.weight_sharing.differentiable.architect import Architect
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.search import search, search_loop
from nasaudit.weight_sharing.supernet.modules import build_supernet


def _reference_random_smoothing(alphas: list[torch.Tensor], epsilon: float) -> list[torch.Tensor]:
    """SmoothDARTS's weight-step weights, written out after the reference: ``softmax_arch_parameters``
    (softmax of each alpha), ``Random_alpha`` (add ``zeros_like(p).uniform_(-eps, eps)`` per parameter in
    order), ``clip`` (per row: remember the argmax, clamp to [0, 1], revive the argmax of an all-zero row,
    divide by the row sum)."""
    params = [F.softmax(a, dim=-1).clone() for a in alphas]
    for p in params:
        p.add_(torch.zeros_like(p).uniform_(-epsilon, epsilon))
    for p in params:
        for line in p:
            max_index = line.argmax()
            line.clamp_(0, 1)
            if line.sum() == 0.0:
                line[max_index] = 1.0
            line.div_(line.sum())
    return params


def _alphas(space_name: str, splits: DatasetSplits, seed: int, scale: float = 1.0) -> ArchParameters:
    supernet = SearchConfig.tiny("sdarts_rs", space_name).build_supernet(splits)
    return ArchParameters(supernet, init_scale=scale, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_sdarts_weights_are_softmax_then_perturb_clamp_renormalise(space_name: str,
                                                                    search_splits: DatasetSplits) -> None:
    dead_rows = 0
    for seed in range(12):
        alphas = _alphas(space_name, search_splits, seed)
        epsilon = 0.3 if seed < 6 else 3.0  # the published final epsilon, and one that empties some rows
        torch.manual_seed(100 + seed)
        ours = alphas.randomly_smoothed_weights(epsilon)
        torch.manual_seed(100 + seed)
        reference = _reference_random_smoothing([alphas.alpha[k].detach() for k in alphas.kinds], epsilon)
        for kind, expected in zip(alphas.kinds, reference, strict=True):
            torch.testing.assert_close(ours[kind], expected, rtol=0, atol=1e-7)
            assert ours[kind].min() >= 0 and ours[kind].max() <= 1 and not ours[kind].requires_grad
            torch.testing.assert_close(ours[kind].sum(-1), torch.ones(alphas.n_edges(kind)))
            # the perturbation comes after the softmax: zero noise gives the softmax back
            assert not torch.allclose(ours[kind], alphas.weights()[kind])
            dead_rows += int((ours[kind] == 1).sum())
    assert dead_rows > 0  # the reference's all-zero-row rule was exercised


def test_sdarts_weights_never_reach_padding(search_splits: DatasetSplits) -> None:
    edge_ops = {c: list(S1_EDGE_OPS[c]) for c in S1_EDGE_OPS}
    edge_ops["normal"][0] = ("skip_connect",)  # an edge narrower than the others: one padded column
    supernet = build_supernet(DartsSpace(name="s1_short", edge_ops=edge_ops), num_classes=10, in_channels=1,
                              mode="mixed", channels=2, layers=3)
    alphas = ArchParameters(supernet, init_scale=1.0, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    for _ in range(20):
        weights = alphas.randomly_smoothed_weights(3.0)["normal"]
        assert weights[0].tolist() == [1.0, 0.0]


def test_sdarts_epsilon_ramps_per_epoch_as_smoothdarts() -> None:
    config = SearchConfig(algorithm="sdarts_rs")
    assert config.epochs == 50 and config.sdarts_epsilon == 0.3 and config.sdarts_epsilon_start == 0.03
    assert config.sdarts_epsilon_at(0) == pytest.approx(0.03)
    # train_search.py: 0.03 + (epsilon_alpha - 0.03) * epoch / epochs, so the last epoch is just below 0.3
    assert config.sdarts_epsilon_at(49) == pytest.approx(0.03 + 0.27 * 49 / 50)
    assert config.sdarts_epsilon_at(25) == pytest.approx(0.165)


def test_sdarts_search_perturbs_every_weight_step_with_the_epochs_epsilon(
        search_splits: DatasetSplits, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    smooth = ArchParameters.randomly_smoothed_weights

    def recording(self: ArchParameters, epsilon: float) -> dict[str, torch.Tensor]:
        seen.append(epsilon)
        return smooth(self, epsilon)

    monkeypatch.setattr(ArchParameters, "randomly_smoothed_weights", recording)
    config = SearchConfig.tiny("sdarts_rs", epochs=3)
    search(config, search_splits, seed=0)
    steps = len(search_module.batch_bounds(len(search_splits.train), config.batch_size))
    assert seen == [config.sdarts_epsilon_at(e) for e in range(3) for _ in range(steps)]
    assert seen[0] == pytest.approx(0.03) and seen[-1] == pytest.approx(0.03 + 0.27 * 2 / 3)


@pytest.mark.parametrize(("algorithm", "first"), [("gdas", "weights"), ("darts", "alpha"), ("sdarts_rs", "alpha")])
def test_step_order_follows_the_reference(algorithm: str, first: str, search_splits: DatasetSplits,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """GDAS (AutoDL ``search_func``): the weight step, then the alpha step on the updated weights;
    DARTS and SDARTS (``train``): the alpha step, then the weight step."""
    events: list[str] = []
    weight_step, arch_step = torch.optim.SGD.step, Architect.step

    def on_weights(self: torch.optim.SGD, *args: object, **kwargs: object) -> object:
        events.append("weights")
        return weight_step(self, *args, **kwargs)  # type: ignore[arg-type]

    def on_alpha(self: Architect, *args: object, **kwargs: object) -> float:
        events.append("alpha")
        return arch_step(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch.optim.SGD, "step", on_weights)
    monkeypatch.setattr(Architect, "step", on_alpha)
    search(SearchConfig.tiny(algorithm, epochs=1), search_splits, seed=0)
    other = "alpha" if first == "weights" else "weights"
    assert len(events) >= 4 and events == [first, other] * (len(events) // 2)


def test_gdas_optimisers_are_autodls(search_splits: DatasetSplits) -> None:
    config = SearchConfig(algorithm="gdas", space="nb201")
    # GDAS.config: SGD, LR 0.025, cosine to eta_min 0.001, decay 5e-4, momentum 0.9, nesterov; batch 64
    assert (config.lr, config.lr_min, config.momentum, config.weight_decay, config.nesterov) == (
        0.025, 0.001, 0.9, 5e-4, True)
    assert (config.batch_size, config.grad_clip) == (64, 5.0)  # GDAS.py: clip_grad_norm_(..., 5)
    # GDAS.py / GDAS.sh: Adam(lr 3e-4, betas (0.5, 0.999), weight_decay 1e-3); tau from 10 to 0.1
    assert (config.arch_lr, config.arch_betas, config.arch_weight_decay) == (3e-4, (0.5, 0.999), 1e-3)
    assert config.gdas_tau_at(0) == 10.0 and config.gdas_tau_at(config.epochs - 1) == pytest.approx(0.1)
    assert config.gdas_tau_at(1) == pytest.approx(10 - 9.9 / (config.epochs - 1))
    protocol = config.weight_protocol()
    assert protocol.learning_rate(0) == 0.025 and protocol.learning_rate(config.epochs) == pytest.approx(0.001)
    # the optimisers the search builds carry them
    tiny = SearchConfig.tiny("gdas")
    supernet = tiny.build_supernet(search_splits)
    alphas = ArchParameters(supernet)
    loop, _ = search_loop(tiny, supernet, alphas, DeviceData(search_splits, torch.device("cpu")), Projection.empty(alphas))
    group = loop.optimizer.param_groups[0]
    assert (group["nesterov"], group["weight_decay"], group["momentum"]) == (True, 5e-4, 0.9)
    # DARTS keeps its own (quark0/darts train_search.py: weight decay 3e-4, plain momentum)
    darts = SearchConfig(algorithm="darts")
    assert (darts.weight_decay, darts.nesterov) == (3e-4, False)
    assert SearchConfig(algorithm="gdas", weight_decay=1e-4, nesterov=False).weight_decay == 1e-4
    assert SearchConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="nesterov"):
        SearchConfig(algorithm="darts2", nesterov=True)


@pytest.mark.parametrize("depth", [1, 2])
def test_darts_search_without_a_normal_cell_is_refused_before_compute(depth: int) -> None:
    with pytest.raises(ConfigError, match=r"depth >= 3.*no normal cell") as caught:
        SearchConfig(algorithm="darts2", space="darts", depth=depth)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="depth >= 3"):
        SearchConfig.tiny("gdas", "darts_s1", depth=depth)
    assert SearchConfig(space="nb201", depth=depth).depth == depth  # NB201's depth counts cells per stage


def test_smallest_darts_search_network_has_a_normal_cell(search_splits: DatasetSplits) -> None:
    config = SearchConfig.tiny("darts2", "darts", depth=3, epochs=1)
    supernet = config.build_supernet(search_splits)
    assert [c.reduction for c in supernet.network.cells] == [False, True, True]
    start = ArchParameters(supernet, init_scale=config.alpha_init, generator=torch.Generator().manual_seed(0))
    run = search(config, search_splits, seed=0)
    for kind in ("normal", "reduce"):  # both alphas were trained
        assert not torch.equal(run.alphas.alpha[kind].detach(), start.alpha[kind].detach())
