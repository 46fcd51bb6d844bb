"""Horizontal fusion (HFTA, Wang et al., MLSys 2021): M small networks of the same macro shape as ONE module.

The fused module works on tensors whose channels are model-major: model ``m``'s ``C`` channels are
channels ``m*C ... m*C + C - 1`` of a ``(B, M*C, H, W)`` tensor, each model seeing its own B images.
Convolutions become grouped convolutions (``groups = M x groups``), BatchNorm over ``M*C`` channels is
exactly per-model BatchNorm, channel-wise ops (ReLU, pooling, identity) are shared (average pooling as a
depthwise convolution, ``ConvAvgPool``, much faster on CPU), and the linear head is a batched matmul
returning ``(B, M, classes)``. Nothing mixes channels of different models, so each model's
forward, gradient, and BN statistics equal those of the separate network (up to float summation order).

NB201 cells (NB201 paper Sec. 2.1) of *different* architectures fuse edge by edge: on each edge the models
are grouped by their op's structure, and each group runs once on its models' channels (a gather, and one
``index_add`` per node back, when the group is a strict subset; parameter-free ops such as skip and pooling
run on all channels and are masked instead); ``none`` adds nothing. Fusing M seeds of one architecture therefore
has no gathers at all.

Every fused parameter and buffer is model-major too, so ``FusedNetwork`` can copy the separate networks'
weights in (``load_models``), write them back out (``store_models``), clip gradients per model
(``clip_grad_norm_``) and keep each model's gradient-less parameters fixed (``restore_unused_``), all
through one table mapping each fused tensor to its separate name and models.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from nasaudit.errors import ArchitectureError
from nasaudit.nn.cells import NB201CellModule
from nasaudit.nn.nb201_net import NB201Network, ResidualReduction
from nasaudit.nn.ops import Zero

#: modules without parameters or buffers that act on each channel on its own: shared as they are
_CHANNELWISE = (nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.Identity)
#: containers whose forward only calls their children (and adds or concatenates nothing across channels)
_CONTAINERS = (nn.Sequential, nn.ModuleList, ResidualReduction, NB201Network)


@dataclass(frozen=True)
class Link:
    """Fused tensor ``fused`` holds the separate tensors ``separate`` of models ``owners``, model-major."""

    fused: str
    separate: str
    owners: tuple[int, ...]


class FusedLinear(nn.Module):
    """M linear layers as one batched matmul: ``(B, M*C)`` in, ``(B, M, K)`` out."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.models = len(layers)
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        biases = [layer.bias for layer in layers]
        self.bias = (nn.Parameter(torch.stack([b.detach() for b in biases if b is not None]))
                     if biases[0] is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.einsum("bmc,mkc->bmk", x.reshape(x.shape[0], self.models, -1), self.weight)
        return out if self.bias is None else out + self.bias


class ConvAvgPool(nn.Module):
    """``nn.AvgPool2d`` (no ceil mode) computed as a depthwise convolution with a ones kernel divided by the
    window counts: equal up to float rounding, and several times faster on CPU than torch's pooling kernel
    for the wide, tiny tensors of fused networks (``benchmarks/bench_fused.py``)."""

    def __init__(self, pool: nn.AvgPool2d) -> None:
        super().__init__()
        if pool.ceil_mode or pool.divisor_override is not None:
            raise ArchitectureError(f"cannot fuse {pool!r}: ceil mode and divisor override are not supported")
        pair = nn.modules.utils._pair
        self.kernel, self.stride, self.padding = pair(pool.kernel_size), pair(pool.stride), pair(pool.padding)
        self.count_include_pad = pool.count_include_pad
        self._cache: dict[tuple[int, int, int, torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    def extra_repr(self) -> str:
        return (f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, height, width = x.shape[1:]
        key = (channels, height, width, x.dtype, x.device)
        if key not in self._cache:
            ones = torch.ones(channels, 1, *self.kernel, dtype=x.dtype, device=x.device)
            plane = torch.ones(1, 1, height, width, dtype=x.dtype, device=x.device)
            (ph, pw), outside = self.padding, 1.0 if self.count_include_pad else 0.0
            counts = nn.functional.conv2d(nn.functional.pad(plane, (pw, pw, ph, ph), value=outside), ones[:1],
                                          stride=self.stride)
            self._cache[key] = ones, counts
        ones, counts = self._cache[key]
        return nn.functional.conv2d(x, ones, stride=self.stride, padding=self.padding, groups=channels) / counts



class FusedNB201Cell(nn.Module):
    """The NB201 cells of M models fused per edge (module doc): ``ops[k][g]`` is group ``g`` of edge ``k``."""

    def __init__(self, cells: Sequence[NB201CellModule], owners: tuple[int, ...]) -> None:
        super().__init__()
        first = cells[0]
        if any(cell.edges != first.edges or cell.n_nodes != first.n_nodes for cell in cells):
            raise ArchitectureError("cannot fuse NB201 cells with different edge lists or node counts")
        self.edges, self.n_nodes, self.models = first.edges, first.n_nodes, len(cells)
        self.ops = nn.ModuleList()
        self.links: list[Link] = []
        #: per edge and group: the positions (0..M-1) of its models and how it runs: "all" (every model),
        #: "mask" (parameter-free: run on all channels, keep its models') or "gather" (run on its models only)
        self.groups: list[list[tuple[tuple[int, ...], str]]] = []
        self._index: dict[tuple[int, int, int, torch.device], torch.Tensor] = {}
        for k in range(len(self.edges)):
            grouped: dict[str, list[int]] = {}
            for position, cell in enumerate(cells):
                if not isinstance(cell.ops[k], Zero):  # ``none`` adds nothing to its node
                    grouped.setdefault(repr(cell.ops[k]), []).append(position)
            edge_ops = nn.ModuleList()
            groups: list[tuple[tuple[int, ...], str]] = []
            for g, members in enumerate(grouped.values()):
                fused, links = fuse_modules([cells[p].ops[k] for p in members], tuple(owners[p] for p in members))
                edge_ops.append(fused)
                self.links += [Link(_join(f"ops.{k}.{g}", link.fused), _join(f"ops.{k}", link.separate), link.owners)
                               for link in links]
                stateless = not any(True for _ in fused.parameters()) and not any(True for _ in fused.buffers())
                groups.append((tuple(members), "all" if len(members) == len(cells) else
                               "mask" if stateless else "gather"))
            self.ops.append(edge_ops)
            self.groups.append(groups)

    def _channels(self, k: int, g: int, x: torch.Tensor, mask: bool) -> torch.Tensor:
        """Channel index (or 0/1 channel mask) of group ``g`` of edge ``k`` for input ``x``, cached."""
        key = (k, g, int(mask), x.device)
        if key not in self._index:
            width = x.shape[1] // self.models
            members = self.groups[k][g][0]
            index = torch.tensor([p * width + c for p in members for c in range(width)], device=x.device)
            if mask:
                index = torch.zeros(1, x.shape[1], 1, 1, device=x.device).index_fill_(1, index, 1.0)
            self._index[key] = index
        return self._index[key].to(x.dtype) if mask else self._index[key]

    def forward(self, x: torch.Tensor, edge_args: Sequence[object] | None = None) -> torch.Tensor:
        if edge_args is not None:
            raise ArchitectureError("a fused NB201 cell takes no edge arguments")
        states = [x]
        for dst in range(1, self.n_nodes):
            total: torch.Tensor | None = None
            parts: list[torch.Tensor] = []
            indices: list[torch.Tensor] = []
            for k, (src, target) in enumerate(self.edges):
                if target != dst:
                    continue
                inp = states[src]
                for g, (op, (_, mode)) in enumerate(zip(cast(nn.ModuleList, self.ops[k]), self.groups[k], strict=True)):
                    if mode == "gather":
                        index = self._channels(k, g, inp, mask=False)
                        parts.append(op(inp.index_select(1, index)))
                        indices.append(index)
                        continue
                    out = op(inp) if mode == "all" else op(inp) * self._channels(k, g, inp, mask=True)
                    total = out if total is None else total + out
            if parts:  # one scatter-add of every subset op's output into the node
                base = total if total is not None else torch.zeros_like(x)
                total = base.index_add(1, torch.cat(indices), torch.cat(parts, 1))
            states.append(total if total is not None else torch.zeros_like(x))
        return states[-1]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if name else prefix


def _same_structure(modules: Sequence[nn.Module]) -> None:
    if any(repr(m) != repr(modules[0]) for m in modules):
        raise ArchitectureError(f"cannot fuse {type(modules[0]).__name__} modules of different shapes, "
                                f"e.g. {modules[0]!r} and {next(m for m in modules if repr(m) != repr(modules[0]))!r}")


def fuse_modules(modules: Sequence[nn.Module], owners: tuple[int, ...]) -> tuple[nn.Module, list[Link]]:
    """One module computing ``modules`` (model ``owners[i]`` runs ``modules[i]``) side by side on
    model-major channels, holding their weights; returns it and the links of its tensors (relative names).

    Raises ``ArchitectureError`` for modules of different structure or of a kind that cannot be fused.
    """
    first = modules[0]
    kinds = sorted({type(m).__name__ for m in modules})
    if len(kinds) > 1:
        raise ArchitectureError(f"cannot fuse modules of different types: {kinds}")
    models = len(modules)
    fused: nn.Module
    if isinstance(first, nn.Conv2d):
        _same_structure(modules)
        fused = nn.Conv2d(models * first.in_channels, models * first.out_channels,
                          first.kernel_size, first.stride, first.padding,  # type: ignore[arg-type]
                          first.dilation, models * first.groups,  # type: ignore[arg-type]
                          bias=first.bias is not None, padding_mode=first.padding_mode)
    elif isinstance(first, nn.BatchNorm2d):
        _same_structure(modules)
        fused = nn.BatchNorm2d(models * first.num_features, first.eps, first.momentum, first.affine,
                               first.track_running_stats)
    elif isinstance(first, nn.Linear):
        _same_structure(modules)
        fused = FusedLinear(modules)  # type: ignore[arg-type]
    elif isinstance(first, nn.AvgPool2d):
        _same_structure(modules)
        return ConvAvgPool(first), []
    elif isinstance(first, _CHANNELWISE):
        _same_structure(modules)
        return copy.deepcopy(first), []
    elif isinstance(first, NB201CellModule):
        cell = FusedNB201Cell(modules, owners)  # type: ignore[arg-type]
        return cell, cell.links
    elif isinstance(first, _CONTAINERS):
        children = [dict(m.named_children()) for m in modules]
        if any(child.keys() != children[0].keys() for child in children):
            raise ArchitectureError(f"cannot fuse {type(first).__name__} modules with different children")
        if any(m._parameters or m._buffers for m in modules):
            raise ArchitectureError(f"cannot fuse {type(first).__name__} modules that hold tensors of their own")
        container = copy.copy(first)  # its children are replaced below: copying them deeply is wasted work
        container._modules = {}
        links: list[Link] = []
        for name in children[0]:
            child, child_links = fuse_modules([c[name] for c in children], owners)
            setattr(container, name, child)  # a ModuleList names its children "0", "1", ...
            links += [Link(_join(name, link.fused), _join(name, link.separate), link.owners) for link in child_links]
        return container, links
    else:
        raise ArchitectureError(f"cannot fuse modules of type {type(first).__name__}")
    links = [Link(name, name, owners) for name in first.state_dict()]
    copy_in(fused, dict(zip(owners, modules, strict=True)), links)
    return fused, links


def copy_in(fused: nn.Module, modules: Sequence[nn.Module] | Mapping[int, nn.Module], links: Sequence[Link]) -> None:
    """Copy the separate modules' tensors into ``fused`` (model ``m`` is ``modules[m]``); scalars (BN's
    batch counter) are taken from the first owner."""
    states = {owner: modules[owner].state_dict() for owner in {o for link in links for o in link.owners}}
    target = fused.state_dict()
    with torch.no_grad():
        for link in links:
            parts = [states[owner][link.separate] for owner in link.owners]
            tensor = target[link.fused]
            tensor.copy_(parts[0] if tensor.dim() == 0 else torch.stack(parts).reshape(tensor.shape))


def copy_out(fused: nn.Module, modules: Sequence[nn.Module] | Mapping[int, nn.Module], links: Sequence[Link]) -> None:
    """Write each model's slice of ``fused``'s tensors back into the separate ``modules`` (model ``m`` is
    ``modules[m]``)."""
    states = {owner: modules[owner].state_dict() for owner in {o for link in links for o in link.owners}}
    source = fused.state_dict()
    with torch.no_grad():
        for link in links:
            tensor = source[link.fused]
            slices = tensor.reshape(len(link.owners), -1) if tensor.dim() else tensor.expand(len(link.owners), 1)
            for row, owner in enumerate(link.owners):
                out = states[owner][link.separate]
                out.copy_(slices[row].reshape(out.shape))


def unused_parameters(network: nn.Module, input_shape: tuple[int, int, int]) -> set[str]:
    """Names of ``network``'s parameters that get no gradient (e.g. an op whose node never reaches the
    NB201 output): separate SGD never changes them, while in a fused tensor they would see weight decay."""
    params = dict(network.named_parameters())
    was_training = network.training
    network.eval()  # no BN statistics are updated
    try:
        device = next(iter(params.values())).device if params else torch.device("cpu")
        out = network(torch.zeros(1, *input_shape, device=device))
        grads = torch.autograd.grad(out.float().sum(), list(params.values()), allow_unused=True)
    finally:
        network.train(was_training)
    return {name for name, grad in zip(params, grads, strict=True) if grad is None}


class FusedNetwork(nn.Module):
    """M networks of one macro shape (e.g. NB201 networks of any cells, same width and depth) fused into one.

    ``forward`` takes ``(B, M*C_in, H, W)`` (model ``m``'s images in channels ``m*C_in ...``) and returns
    ``(B, M, classes)``. The networks' weights are copied in at construction; ``input_shape`` is one
    image's ``(C, H, W)``, used to find each network's parameters that get no gradient.
    """

    def __init__(self, networks: Sequence[nn.Module], input_shape: tuple[int, int, int]) -> None:
        super().__init__()
        if not networks:
            raise ArchitectureError("fusion needs at least one network")
        self.models = len(networks)
        self.body, links = fuse_modules(networks, tuple(range(self.models)))
        self.links = [Link(_join("body", link.fused), link.separate, link.owners) for link in links]
        unused: dict[str, set[str]] = {}  # per network structure (its repr)
        for network in networks:
            if repr(network) not in unused:
                unused[repr(network)] = unused_parameters(network, input_shape)
        self.unused = {(m, name) for m, network in enumerate(networks) for name in unused[repr(network)]}
        params = dict(self.named_parameters())
        #: (parameter, owner index tensor) of each fused parameter, for per-model gradient clipping
        self._owned = [(params[link.fused], torch.tensor(link.owners)) for link in self.links if link.fused in params]
        #: (model-major view of a parameter, row) of each unused model slice, and the values it keeps
        self._frozen = [(params[link.fused], len(link.owners), row) for link in self.links if link.fused in params
                        for row, owner in enumerate(link.owners) if (owner, link.separate) in self.unused]
        self._kept: list[torch.Tensor] = []
        self._keep_unused()

    def _keep_unused(self) -> None:
        self._kept = [param.detach().unflatten(0, (owners, -1))[row].clone() for param, owners, row in self._frozen]

    @torch.no_grad()
    def restore_unused_(self) -> None:
        """Put the unused parameters (``unused``) back to their kept values. Call it after every optimiser
        step: separate SGD never changes a parameter without a gradient, while the fused tensor gives it
        weight decay (which would change the BN statistics of the dead branch it feeds)."""
        self._kept = [kept.to(param.device) for (param, _, _), kept in zip(self._frozen, self._kept, strict=True)]
        for (param, owners, row), kept in zip(self._frozen, self._kept, strict=True):
            param.unflatten(0, (owners, -1))[row].copy_(kept)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def load_models(self, networks: Sequence[nn.Module]) -> None:
        """Copy the separate networks' weights and BN statistics in (model ``m`` is ``networks[m]``)."""
        copy_in(self, networks, self.links)
        self._keep_unused()

    def store_models(self, networks: Sequence[nn.Module]) -> None:
        """Write every model's weights and BN statistics back into its separate network."""
        copy_out(self, networks, self.links)

    @torch.no_grad()
    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        """``torch.nn.utils.clip_grad_norm_`` applied to each model's gradients on its own (DARTS's clip of
        5 per network); returns the M gradient norms before clipping."""
        device = self._owned[0][0].device if self._owned else torch.device("cpu")
        squares = torch.zeros(self.models, device=device)
        for param, owners in self._owned:
            if param.grad is not None:
                squares.index_add_(0, owners.to(device),
                                    param.grad.unflatten(0, (len(owners), -1)).float().pow(2).flatten(1).sum(1))
        norms = squares.sqrt()
        coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for param, owners in self._owned:
            if param.grad is not None:
                scale = coef[owners.to(device)].to(param.grad.dtype)
                param.grad.unflatten(0, (len(owners), -1)).mul_(scale.view(-1, *[1] * param.dim()))
        return norms
