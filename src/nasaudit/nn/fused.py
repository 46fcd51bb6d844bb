"""Horizontal fusion (HFTA, Wang et al., MLSys 2021): M small networks of the same macro shape as ONE module.

The fused module works on tensors whose channels are model-major: model ``m``'s ``C`` channels are
channels ``m*C ... m*C + C - 1`` of a ``(B, M*C, H, W)`` tensor, each model seeing its own B images.
Convolutions become grouped convolutions (``groups = M x groups``; HFTA's ``hfta/ops/conv.py``,
UofT-EcoSystem/hfta@a13ae10), BatchNorm over ``M*C`` channels is per-model BatchNorm, channel-wise ops
(ReLU, pooling, identity) are shared (average pooling as a depthwise convolution, ``ConvAvgPool``, much faster
on CPU), and the linear head returns ``(B, M, classes)``. Nothing mixes channels of different models.

Different from HFTA on purpose: each model gets the numbers of its separate network BIT FOR BIT, not just up to
float summation order, because training small networks at NB201's learning rate amplifies a difference of one
rounding into points of accuracy within an epoch (issue #22 item 17: a ReLU input of 1e-6 changing sign flips
a gradient entry, and the runs part). So a fused kernel is used only where a probe on the first input of each
shape finds it exact (``_ExactOrSplit``: oneDNN's grouped 3x3 convolutions are, its grouped 1x1 and
1-input-channel weight gradients are not, and the answer depends on the CPU), else one separate kernel per
model; the head is one ``linear`` per model (HFTA: one ``baddbmm``); each node adds its edges in the separate
cell's order; gradient clipping follows ``clip_grad_norm_`` model by model.

NB201 cells (NB201 paper Sec. 2.1) of *different* architectures fuse edge by edge: on each edge the models
are grouped by their op's structure, and each group runs once on its models' channels (a gather, scattered
back into the edge's output, when the group is a strict subset; parameter-free ops such as skip and pooling
run on all channels and are masked instead); ``none`` adds nothing. Fusing M seeds of one architecture
therefore has no gathers at all.

Every fused parameter and buffer is model-major too, so ``FusedNetwork`` can copy the separate networks'
weights in (``load_models``), write them back out (``store_models``), clip gradients per model
(``clip_grad_norm_``) and keep each model's gradient-less parameters fixed (``restore_unused_``), all
through one table mapping each fused tensor to its separate name and models.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
from torch import nn

from nasaudit.errors import ArchitectureError
from nasaudit.nn.cells import NB201CellModule
from nasaudit.nn.nb201_net import NB201Network, ResidualReduction
from nasaudit.nn.ops import Zero

#: modules without parameters or buffers that act on each channel on its own: shared as they are (in the
#: contiguous layout every channel is a plane of its own, computed as in the separate network)
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
    """M linear layers: ``(B, M*C)`` in, ``(B, M, K)`` out, each model's ``nn.functional.linear`` on its own
    contiguous slice, so every model's product (and gradient) is bit for bit the separate layer's (a batched
    matmul sums in another order; the head is a few tiny products, so nothing is lost)."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.models = len(layers)
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        biases = [layer.bias for layer in layers]
        self.bias = (nn.Parameter(torch.stack([b.detach() for b in biases if b is not None]))
                     if biases[0] is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.reshape(x.shape[0], self.models, -1)
        return torch.stack([nn.functional.linear(parts[:, m].contiguous(), self.weight[m],
                                                 None if self.bias is None else self.bias[m])
                            for m in range(self.models)], 1)


class _ExactOrSplit(nn.Module):
    """A fused computation that must give each model bit for bit what its separate module gives.

    ``_fast`` computes all M models at once (a grouped convolution, a pooling as a depthwise convolution);
    ``_split`` runs each model's channels through the separate computation and concatenates. Whether the fast
    kernel sums in the separate kernel's order depends on the CPU's instruction set, the kernel library and
    the shapes (measured: oneDNN's grouped 3x3 convolutions are exact, its grouped 1x1 and 1-channel
    weight gradients are not), so the choice is measured, not assumed: the first input of each shape, dtype,
    device and layout runs a probe, random data through both, forward and backward (input and parameter
    gradients via ``torch.autograd.grad``, so no ``.grad`` is touched); the fast path is used only where all
    of them are bit-identical (``exact``). Kernels are deterministic, so the order does not depend on the data.
    """

    models: int

    #: per module configuration and input key (shape, strides, dtype, device, autocast, threads): the verdict,
    #: shared by all modules of one configuration in the process
    verdicts: ClassVar[dict[tuple[object, ...], object]] = {}

    def _config(self) -> tuple[object, ...]:
        """What besides the input decides the kernels' summation order."""
        raise NotImplementedError

    def _key(self, x: torch.Tensor) -> tuple[object, ...]:
        return (type(self).__name__, self._config(), tuple(x.shape), tuple(x.stride()), x.dtype, x.device,
                torch.is_autocast_enabled(), torch.get_num_threads())  # threads can change a kernel's order

    @property
    def exact(self) -> dict[tuple[object, ...], object]:
        """The verdicts of this module's configuration, by input key."""
        config = (type(self).__name__, self._config())
        return {key[2:]: verdict for key, verdict in self.verdicts.items() if key[:2] == config}

    def _fast(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _one(self, x: torch.Tensor, m: int) -> torch.Tensor:
        raise NotImplementedError

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        width = x.shape[1] // self.models
        layout = _layout(x)
        outs = [self._one(x[:, m * width:(m + 1) * width].contiguous(memory_format=layout), m)
                for m in range(self.models)]
        return torch.cat(outs, 1).contiguous(memory_format=layout)

    def _probe(self, x: torch.Tensor) -> bool:
        probe = torch.empty_like(x).normal_(generator=torch.Generator(device=x.device).manual_seed(0))
        params = [p for p in self.parameters() if p.requires_grad]
        with torch.enable_grad():
            results = []
            for run in (self._fast, self._split):
                inp = probe.clone().requires_grad_()
                out = run(inp)
                grad_out = torch.randn(out.shape, generator=torch.Generator(device=x.device).manual_seed(1),
                                       device=x.device, dtype=out.dtype)
                results.append((out.detach(), *torch.autograd.grad(out, [inp, *params], grad_out)))
        return all(torch.equal(a, b) for a, b in zip(*results, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = self._key(x)
        if key not in self.verdicts:
            self.verdicts[key] = self._probe(x)
        return self._fast(x) if self.verdicts[key] else self._split(x)


class _PartwiseConv(torch.autograd.Function):
    """A grouped convolution whose input and weight gradients are each computed grouped or model by model, as
    ``FusedConv2d``'s probe decided (its forward is always grouped: that one is exact)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, conv: FusedConv2d,
                grouped: tuple[bool, bool]) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conv, ctx.grouped = conv, grouped
        return conv._fast(x)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        conv: FusedConv2d = ctx.conv
        need = (ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        return (*conv._backward(grad_out, x, weight, need, ctx.grouped), None, None)


class FusedConv2d(_ExactOrSplit):
    """M ``nn.Conv2d`` of one shape as one grouped convolution (``groups = M x groups``) that gives each model
    its separate forward, input gradient and weight gradient bit for bit: the probe (``_ExactOrSplit``) checks
    the three parts apart, and a part the grouped kernel does not compute exactly (measured with oneDNN on
    AVX2: the weight gradient of 1x1 and of 2x2-image convolutions, the stem's) is computed model by model,
    the rest stays grouped. Holds ``weight`` (and ``bias``) model-major, as
    ``nn.Conv2d(M*C_in, M*C_out, groups=M)``."""

    def __init__(self, convs: Sequence[nn.Conv2d]) -> None:
        super().__init__()
        first = convs[0]
        self.models, self.in_per_model, self.out_per_model = len(convs), first.in_channels, first.out_channels
        self.stride, self.padding, self.dilation, self.groups = (first.stride, first.padding, first.dilation,
                                                                 first.groups)
        if first.padding_mode != "zeros" or isinstance(first.padding, str):
            raise ArchitectureError(f"cannot fuse {first!r}: only zero padding given as numbers is supported")
        self.weight = nn.Parameter(torch.cat([conv.weight.detach() for conv in convs]))
        self.bias = (nn.Parameter(torch.cat([conv.bias.detach() for conv in convs if conv.bias is not None]))
                     if first.bias is not None else None)

    def extra_repr(self) -> str:
        return (f"{self.models} x ({self.in_per_model}, {self.out_per_model}), kernel={tuple(self.weight.shape[2:])}, "
                f"stride={self.stride}, padding={self.padding}, groups={self.groups}")

    def _config(self) -> tuple[object, ...]:
        return (tuple(self.weight.shape), self.bias is not None, self.stride, self.padding, self.dilation,
                self.groups, self.models)

    def _fast(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight, self.bias, self.stride, self.padding,
                                    self.dilation, self.models * self.groups)

    def _one(self, x: torch.Tensor, m: int) -> torch.Tensor:
        rows = slice(m * self.out_per_model, (m + 1) * self.out_per_model)
        return nn.functional.conv2d(x, self.weight[rows], None if self.bias is None else self.bias[rows],
                                    self.stride, self.padding, self.dilation, self.groups)

    def _backward(self, grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, need: tuple[bool, bool],
                  grouped: tuple[bool, bool]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(input, weight) gradients: grouped where ``grouped`` says so, else model by model."""
        def call(go: torch.Tensor, inp: torch.Tensor, w: torch.Tensor, groups: int,
                 mask: list[bool]) -> tuple[torch.Tensor, torch.Tensor]:
            dx, dw, _ = torch.ops.aten.convolution_backward(go, inp, w, None, list(self.stride), list(self.padding),
                                                            list(self.dilation), False, [0, 0], groups,
                                                            [mask[0], mask[1], False])
            return dx, dw

        together = [need[0] and grouped[0], need[1] and grouped[1]]
        apart = [need[0] and not grouped[0], need[1] and not grouped[1]]
        dx = dw = None
        if any(together):
            dx, dw = call(grad_out, x, weight, self.models * self.groups, together)
        if any(apart):
            layout = _layout(x)
            c_in, c_out = self.in_per_model, self.out_per_model
            parts = [call(grad_out[:, m * c_out:(m + 1) * c_out].contiguous(memory_format=layout),
                          x[:, m * c_in:(m + 1) * c_in].contiguous(memory_format=layout),
                          weight[m * c_out:(m + 1) * c_out], self.groups, apart) for m in range(self.models)]
            if apart[0]:
                dx = torch.cat([part[0] for part in parts], 1).contiguous(memory_format=layout)
            if apart[1]:
                dw = torch.cat([part[1] for part in parts], 0)
        return (dx if need[0] else None), (dw if need[1] else None)

    def _probe(self, x: torch.Tensor) -> object:  # type: ignore[override]
        """("grouped", dx grouped, dw grouped), or "split" where even that is not the separate result."""
        probe = torch.empty_like(x).normal_(generator=torch.Generator(device=x.device).manual_seed(0))
        weight = self.weight.detach()
        with torch.enable_grad():
            inp = probe.clone().requires_grad_()
            w = weight.clone().requires_grad_()
            reference_out = self._split_with(inp, w)
            grad_out = torch.randn(reference_out.shape, generator=torch.Generator(device=x.device).manual_seed(1),
                                   device=x.device, dtype=reference_out.dtype).contiguous(memory_format=_layout(x))
            ref_dx, ref_dw = torch.autograd.grad(reference_out, [inp, w], grad_out)
        if self.bias is not None or not torch.equal(self._fast(probe), reference_out.detach()):
            return "split"
        verdict = []
        for part, reference in ((0, ref_dx), (1, ref_dw)):
            need = (part == 0, part == 1)
            for grouped in (True, False):
                got = self._backward(grad_out, probe, weight, need, (grouped, grouped))[part]
                if got is not None and torch.equal(got, reference):
                    verdict.append(grouped)
                    break
            else:
                return "split"
        return ("grouped", verdict[0], verdict[1])

    def _split_with(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        layout, c_in, c_out = _layout(x), self.in_per_model, self.out_per_model
        return torch.cat([nn.functional.conv2d(x[:, m * c_in:(m + 1) * c_in].contiguous(memory_format=layout),
                                               weight[m * c_out:(m + 1) * c_out], None, self.stride, self.padding,
                                               self.dilation, self.groups) for m in range(self.models)],
                         1).contiguous(memory_format=layout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = self._key(x)
        if key not in self.verdicts:
            self.verdicts[key] = self._probe(x)
        verdict = self.verdicts[key]
        if verdict == "split":
            return self._split(x)
        if not torch.is_grad_enabled() or not (x.requires_grad or self.weight.requires_grad):
            return self._fast(x)
        grouped = cast(tuple[str, bool, bool], verdict)
        return cast(torch.Tensor, _PartwiseConv.apply(x, self.weight, self, (grouped[1], grouped[2])))


def _layout(x: torch.Tensor) -> torch.memory_format:
    """The memory format ``x`` is in (channels-last or contiguous)."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class ConvAvgPool(_ExactOrSplit):
    """``nn.AvgPool2d`` (no ceil mode) of M models, computed as a depthwise convolution with a ones kernel divided
    by the window counts, several times faster on CPU than torch's pooling kernel for the wide, tiny tensors of
    fused networks (``benchmarks/bench_fused.py``), where that is bit for bit the separate pooling; else the
    separate pooling itself (``_ExactOrSplit``)."""

    def __init__(self, pool: nn.AvgPool2d, models: int = 1) -> None:
        super().__init__()
        if pool.ceil_mode or pool.divisor_override is not None:
            raise ArchitectureError(f"cannot fuse {pool!r}: ceil mode and divisor override are not supported")
        pair = nn.modules.utils._pair
        #: the models whose channels the input holds (a masked group of a fused cell runs on all of them)
        self.models = models
        self.kernel, self.stride, self.padding = pair(pool.kernel_size), pair(pool.stride), pair(pool.padding)
        self.count_include_pad = pool.count_include_pad
        self._cache: dict[tuple[int, int, int, torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    def extra_repr(self) -> str:
        return (f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad}")

    def _fast(self, x: torch.Tensor) -> torch.Tensor:
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

    def _config(self) -> tuple[object, ...]:
        return (self.kernel, self.stride, self.padding, self.count_include_pad, self.models)

    def _one(self, x: torch.Tensor, m: int) -> torch.Tensor:
        return nn.functional.avg_pool2d(x, self.kernel, self.stride, self.padding,
                                        count_include_pad=self.count_include_pad)


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
                if stateless:  # runs on every model's channels, masked: a per-model fallback splits all of them
                    for module in fused.modules():
                        if isinstance(module, ConvAvgPool):
                            module.models = len(cells)
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
        # each node adds its edges' outputs in edge order, as the separate cell does (``cells._run_edges``), so
        # every model's sum is the separate sum bit for bit: an edge's groups hold disjoint models, and the
        # zeros a group leaves in the other models' channels (or a ``none`` edge) add exactly nothing
        states = [x]
        for dst in range(1, self.n_nodes):
            total: torch.Tensor | None = None
            for k, (src, target) in enumerate(self.edges):
                if target != dst:
                    continue
                inp = states[src]
                edge: torch.Tensor | None = None
                for g, (op, (_, mode)) in enumerate(zip(cast(nn.ModuleList, self.ops[k]), self.groups[k], strict=True)):
                    if mode == "gather":
                        index = self._channels(k, g, inp, mask=False)
                        out = op(inp.index_select(1, index))
                        out = torch.zeros_like(inp).index_copy(1, index, out)
                    else:
                        out = op(inp) if mode == "all" else op(inp) * self._channels(k, g, inp, mask=True)
                    edge = out if edge is None else edge + out
                if edge is not None:
                    total = edge if total is None else total + edge
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
        fused = FusedConv2d(modules)  # type: ignore[arg-type]
    elif isinstance(first, nn.BatchNorm2d):
        _same_structure(modules)
        fused = nn.BatchNorm2d(models * first.num_features, first.eps, first.momentum, first.affine,
                               first.track_running_stats)
    elif isinstance(first, nn.Linear):
        _same_structure(modules)
        fused = FusedLinear(modules)  # type: ignore[arg-type]
    elif isinstance(first, nn.AvgPool2d):
        _same_structure(modules)
        return ConvAvgPool(first, models), []
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
        slices = {(owner, link.separate): (params[link.fused], len(link.owners), row)
                  for link in self.links if link.fused in params for row, owner in enumerate(link.owners)}
        #: per model, (fused parameter, owners, row) of each of its parameters that get a gradient, in the
        #: separate network's parameter order: what ``clip_grad_norm_`` of the separate network sees
        self._owned = [[slices[m, name] for name, _ in network.named_parameters() if (m, name) not in self.unused]
                       for m, network in enumerate(networks)]
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
        5 per network), over its gradients in its separate parameter order, so each model's norm and scaled
        gradients are bit for bit the separate network's; returns the M gradient norms before clipping."""
        norms = []
        for owned in self._owned:
            grads = [param.grad.unflatten(0, (owners, -1))[row] for param, owners, row in owned
                     if param.grad is not None]
            norm = nn.utils.get_total_norm(grads, 2.0)
            coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
            for grad in grads:
                grad.mul_(coef)
            norms.append(norm)
        return torch.stack(norms) if norms else torch.zeros(0)
