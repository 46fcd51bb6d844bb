"""Each proxy equals its reference implementation's computation on a fixed tiny network and batch.

The ``reference_*`` functions below restate, step by step, what the authors' releases compute (named in each;
the releases' code is not copied): per-layer arrays over ``Conv2d``/``Linear`` layers summed at the end
(zero-cost-nas ``get_layer_metric_array`` and ``sum_arr``), the same loss, the same BN and mode handling, the
same input. Our proxies are then checked against them one network at a time and with the networks fused.
"""

from __future__ import annotations

import copy
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nasaudit.nn import build_network
from nasaudit.proxies import PROXIES, Batch, score_network
from nasaudit.proxies._base import cross_entropy
from nasaudit.proxies._stack import Stack

ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|",  # node 1 is dead
    "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|nor_conv_3x3~2|",
)


def tiny_network(arch: str, seed: int = 0) -> nn.Module:
    """A 1-cell-per-stage, 4-channel NB201 network initialised from ``seed``."""
    torch.manual_seed(seed)
    return build_network(arch, "nb201", num_classes=10, channels=4, cells_per_stage=1)


@pytest.fixture(scope="module")
def batch() -> Batch:
    generator = torch.Generator().manual_seed(1)
    return Batch(torch.randn(8, 3, 8, 8, generator=generator), torch.randint(0, 10, (8,), generator=generator))


def _layers(net: nn.Module) -> list[nn.Module]:
    return [layer for layer in net.modules() if isinstance(layer, (nn.Conv2d, nn.Linear))]


def _sum_arr(arrays: list[torch.Tensor]) -> float:
    return float(sum(torch.sum(a).item() for a in arrays))


# ---------------------------------------------------------------- zero-cost-nas (SamsungLabs, a43bfbc)
def reference_grad_norm(net: nn.Module, batch: Batch) -> float:
    """measures/grad_norm.py: one backward of cross-entropy, per layer ``weight.grad.norm()``."""
    net.zero_grad()
    F.cross_entropy(net.forward(batch.x), batch.y).backward()
    return _sum_arr([layer.weight.grad.norm() if layer.weight.grad is not None else torch.zeros_like(layer.weight)
                     for layer in _layers(net)])


def reference_snip(net: nn.Module, batch: Batch) -> float:
    """measures/snip.py: a weight mask of ones in every conv/linear forward; per weight ``|dL/dmask|``."""
    def conv_forward(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.weight_mask, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def linear_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.weight_mask, self.bias)

    for layer in _layers(net):
        layer.weight_mask = nn.Parameter(torch.ones_like(layer.weight))
        layer.weight.requires_grad = False
        layer.forward = types.MethodType(conv_forward if isinstance(layer, nn.Conv2d) else linear_forward, layer)
    net.zero_grad()
    F.cross_entropy(net.forward(batch.x), batch.y).backward()
    return _sum_arr([torch.abs(layer.weight_mask.grad) if layer.weight_mask.grad is not None
                     else torch.zeros_like(layer.weight) for layer in _layers(net)])


def reference_plain(net: nn.Module, batch: Batch) -> float:
    """measures/plain.py: per weight ``grad * weight``."""
    net.zero_grad()
    F.cross_entropy(net.forward(batch.x), batch.y).backward()
    return _sum_arr([layer.weight.grad * layer.weight if layer.weight.grad is not None
                     else torch.zeros_like(layer.weight) for layer in _layers(net)])


def reference_grasp(net: nn.Module, batch: Batch) -> float:
    """measures/grasp.py (T=1, one iteration): ``grad_w`` then ``z = sum(grad_w * grad_f)`` with a graph,
    ``z.backward()``, per weight ``-weight * weight.grad``."""
    weights = [layer.weight for layer in _layers(net)]
    net.zero_grad()
    grad_w = list(torch.autograd.grad(F.cross_entropy(net.forward(batch.x), batch.y), weights, allow_unused=True))
    grad_f = torch.autograd.grad(F.cross_entropy(net.forward(batch.x), batch.y), weights, create_graph=True,
                                 allow_unused=True)
    z = 0
    for count, _ in enumerate(_layers(net)):
        if grad_w[count] is not None:
            z += (grad_w[count].data * grad_f[count]).sum()
    z.backward()
    return _sum_arr([-layer.weight.data * layer.weight.grad if layer.weight.grad is not None
                     else torch.zeros_like(layer.weight) for layer in _layers(net)])


def reference_fisher(net: nn.Module, batch: Batch) -> float:
    """measures/fisher.py: an identity after each conv/linear whose backward hook adds
    ``0.5 * mean_n (sum_hw act * grad)^2`` per channel; channel values broadcast over ``weight.shape[1:]``."""
    net.train()
    for layer in _layers(net):
        layer.fisher = None
        layer.dummy = nn.Identity()

        def forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
            out = (F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
                   if isinstance(self, nn.Conv2d) else F.linear(x, self.weight, self.bias))
            self.act = self.dummy(out)
            return self.act

        def hook_factory(layer: nn.Module):
            def hook(module: nn.Module, grad_input: object, grad_output: tuple[torch.Tensor, ...]) -> None:
                act, grad = layer.act.detach(), grad_output[0].detach()
                g_nk = torch.sum(act * grad, list(range(2, len(act.shape)))) if len(act.shape) > 2 else act * grad
                del_k = g_nk.pow(2).mean(0).mul(0.5)
                layer.fisher = del_k if layer.fisher is None else layer.fisher + del_k
            return hook

        layer.forward = types.MethodType(forward, layer)
        layer.dummy.register_full_backward_hook(hook_factory(layer))
    net.zero_grad()
    F.cross_entropy(net(batch.x), batch.y).backward()
    arrays = []
    for layer in _layers(net):
        channels = (torch.abs(layer.fisher.detach()) if layer.fisher is not None
                    else torch.zeros(layer.weight.shape[0]))
        arrays.append(torch.stack([torch.Tensor(*layer.weight.shape[1:]).fill_(v) for v in channels]))
    return _sum_arr(arrays)


def reference_synflow(net: nn.Module, batch: Batch) -> float:
    """measures/synflow.py with ``bn=False`` (predictive.copynet: BN forward is a no-op): absolute values of the
    state, float64, one all-ones input, ``sum(output).backward()``, per weight ``|weight * grad|``."""
    for layer in net.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.forward = types.MethodType(lambda self, x: x, layer)
    with torch.no_grad():
        for param in net.state_dict().values():
            param.abs_()
    net.zero_grad()
    net.double()
    output = net.forward(torch.ones([1, *batch.x[0, :].shape]).double())
    torch.sum(output).backward()
    return _sum_arr([torch.abs(layer.weight * layer.weight.grad) if layer.weight.grad is not None
                     else torch.zeros_like(layer.weight) for layer in _layers(net)])


def reference_jacov(net: nn.Module, batch: Batch) -> float:
    """measures/jacob_cov.py: the input gradient of the summed outputs, ``corrcoef``, ``eig``,
    ``-sum(log(v + k) + 1/(v + k))``."""
    x = batch.x.clone().requires_grad_(True)
    net.zero_grad()
    y = net(x)
    y.backward(torch.ones_like(y))
    jacobs = x.grad.detach().reshape(x.shape[0], -1).numpy()
    v, _ = np.linalg.eig(np.corrcoef(jacobs))
    k = 1e-5
    return float(np.real(-np.sum(np.log(v + k) + 1.0 / (v + k))))


def reference_epe_nas(net: nn.Module, batch: Batch) -> float:
    """VascoLopes/EPE-NAS@22bd341 search.py: ``get_batch_jacobian`` (input gradient of the summed logits), rows
    stacked per label in batch order (``np.vstack``), ``eval_score_perclass`` with its default ``n_classes=10``:
    ``sum_c |sum(log(|corrcoef| + k))|``."""
    x = batch.x.clone().requires_grad_(True)
    net.zero_grad()
    y = net(x)
    y.backward(torch.ones_like(y))
    jacob = x.grad.detach().reshape(x.shape[0], -1).numpy()
    per_class: dict[int, np.ndarray] = {}
    for i, label in enumerate(batch.y.numpy().tolist()):
        per_class[label] = np.vstack((per_class[label], jacob[i])) if label in per_class else jacob[i]
    score = 0.0
    for rows in per_class.values():
        score += np.absolute(np.sum(np.log(abs(np.corrcoef(rows)) + 1e-5)))
    return float(score)


def reference_zen(net: nn.Module, batch: Batch) -> float:
    """idstcv/ZenNAS@d1d617e ZeroShotProxy/compute_zen_score.py, one repeat, mixup_gamma 1e-2, the global RNG
    seeded with the batch's seed: ``network_weight_gaussian_init``, two Gaussian inputs, the pre-GAP features'
    mean L1 difference, plus ``log sqrt(mean running_var)`` of every BN."""
    torch.manual_seed(batch.seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        inputs = torch.randn(size=list(batch.x.shape))
        inputs2 = torch.randn(size=list(batch.x.shape))

        def forward_pre_gap(x: torch.Tensor) -> torch.Tensor:  # NB201: the features after lastact
            out = net.stem(x)
            for layer in net.cells:
                out = layer(out) if not hasattr(layer, "edges") else layer(out, None)
            return net.lastact(out)

        output = forward_pre_gap(inputs)
        mixup_output = forward_pre_gap(inputs + 1e-2 * inputs2)
        nas_score = torch.mean(torch.sum(torch.abs(output - mixup_output), dim=[1, 2, 3]))
        log_bn_scaling_factor = 0.0
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                log_bn_scaling_factor += torch.log(torch.sqrt(torch.mean(m.running_var)))
        return float(torch.log(nas_score) + log_bn_scaling_factor)


def reference_l2_norm(net: nn.Module, batch: Batch) -> float:
    """measures/l2_norm.py: per layer ``weight.norm()``."""
    return _sum_arr([layer.weight.norm() for layer in _layers(net)])


def reference_params(net: nn.Module, batch: Batch) -> float:
    """p_utils.count_parameters: parameters that require gradients."""
    return float(sum(p.numel() for p in net.parameters() if p.requires_grad))


# ---------------------------------------------------------------- NWOT (BayesWatch, b3a82a6)
def reference_nwot(net: nn.Module, batch: Batch) -> float:
    """score_networks.py with hook_logdet: ReLU forward hooks add ``x x^T + (1-x)(1-x)^T`` of the input's
    binary code once the ReLU was visited by the Jacobian pass's backward; a second forward of the same batch;
    ``slogdet``."""
    net.K = np.zeros((batch.x.shape[0], batch.x.shape[0]))

    def counting_forward_hook(module: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if not getattr(module, "visited_backwards", False):
            return
        code = (inp[0].view(inp[0].size(0), -1) > 0).float()
        net.K = net.K + (code @ code.t()).numpy() + ((1.0 - code) @ (1.0 - code.t())).numpy()

    def counting_backward_hook(module: nn.Module, inp: object, out: object) -> None:
        module.visited_backwards = True

    for module in net.modules():
        if "ReLU" in str(type(module)):
            module.register_forward_hook(counting_forward_hook)
            module.register_full_backward_hook(counting_backward_hook)
    x = batch.x.clone().requires_grad_(True)
    net.zero_grad()
    y = net(x)
    y.backward(torch.ones_like(y))
    with torch.no_grad():
        net(batch.x.clone())
    return float(np.linalg.slogdet(net.K)[1])


REFERENCES = {"grad_norm": reference_grad_norm, "snip": reference_snip, "plain": reference_plain,
              "grasp": reference_grasp, "fisher": reference_fisher, "synflow": reference_synflow,
              "jacov": reference_jacov, "epe_nas": reference_epe_nas, "zen": reference_zen, "l2_norm": reference_l2_norm, "params": reference_params,
              "nwot": reference_nwot}


def _close(ours: np.ndarray, reference: np.ndarray, scale: np.ndarray) -> None:
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6 * float(np.max(np.abs(scale))) + 1e-9)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")  # NWOT's hooks on modules fed by a dead node
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_each_proxy_equals_its_reference_on_a_tiny_network(name: str, batch: Batch) -> None:
    references = np.array([REFERENCES[name](tiny_network(arch), batch) for arch in ARCHS])
    assert np.all(np.isfinite(references)) and len(set(references.round(9))) > 1  # the cells score differently
    ours = np.array([score_network(name, tiny_network(arch), batch) for arch in ARCHS])
    _close(ours, references, references)
    fused = PROXIES.get(name).score(Stack.fuse([tiny_network(arch) for arch in ARCHS], (3, 8, 8)), batch,
                                    cross_entropy)
    _close(fused, references, references)


def test_score_network_leaves_the_network_as_it_was(batch: Batch) -> None:
    network = tiny_network(ARCHS[0])
    before = copy.deepcopy(network.state_dict())
    for name in ("synflow", "snip", "grasp", "zen"):
        score_network(name, network, batch)
    assert all(torch.equal(before[key], value) for key, value in network.state_dict().items())
    assert all(param.grad is None for param in network.parameters())
