"""Named training protocols, with hyper-parameters taken from the papers' tables (quoted in ``source``).

A protocol fixes the optimiser (SGD), the learning-rate schedule (cosine annealing), regularisation,
augmentation and the default macro network per space family (``macro["nb201" | "darts" | "nb101"]``);
``train_arch`` merges user overrides on top of ``macro``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from nasaudit.data.augment import Augmentation
from nasaudit.errors import ConfigError
from nasaudit.limits import MAX_BATCH, MAX_EPOCHS, MAX_LR, MAX_STEPS, check_at_most

if TYPE_CHECKING:
    import torch

#: optimisers a protocol can name (``TrainProtocol.optimizer``)
OPTIMIZERS: tuple[str, ...] = ("sgd", "rmsprop")


def _frozen(mapping: dict[str, dict[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({k: MappingProxyType(v) for k, v in mapping.items()})


@dataclass(frozen=True)
class TrainProtocol:
    """One training recipe. ``lr_per_step`` anneals every step (NB201) instead of every epoch (DARTS)."""

    name: str
    source: str
    epochs: int
    batch_size: int
    lr: float
    lr_min: float
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    weight_decay_on_bn: bool = True
    lr_per_step: bool = False
    grad_clip: float | None = None
    label_smoothing: float = 0.0
    aux_weight: float = 0.0
    drop_path: float = 0.0
    augmentation: Augmentation = field(default_factory=Augmentation)
    macro: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _frozen({}))
    eval_batch_size: int = 512
    optimizer: str = "sgd"
    rmsprop_alpha: float = 0.9
    rmsprop_eps: float = 1.0

    def learning_rate(self, progress: float) -> float:
        """Cosine annealing from ``lr`` to ``lr_min`` at ``progress`` epochs (SGDR, Loshchilov & Hutter)."""
        return self.lr_min + (self.lr - self.lr_min) * (1.0 + math.cos(math.pi * progress / self.epochs)) / 2.0

    def drop_path_at(self, epoch: int) -> float:
        """Drop-path probability of ``epoch``, increased linearly to ``drop_path`` (DARTS; NASNet)."""
        return self.drop_path * epoch / self.epochs

    def with_overrides(self, **changes: Any) -> TrainProtocol:
        """A copy with some fields changed (e.g. ``epochs`` for a short run)."""
        unknown = sorted(set(changes) - set(self.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown protocol field(s) {unknown}")
        return replace(self, **{name: _checked_override(name, getattr(self, name), value)
                                for name, value in changes.items()})


#: learning-rate schedules of ``DecayProtocol``
DECAY_SCHEDULES: tuple[str, ...] = ("exponential", "linear")


@dataclass(frozen=True)
class DecayProtocol(TrainProtocol):
    """A protocol whose learning rate decays per epoch instead of by cosine annealing (the ImageNet recipes).

    ``schedule="exponential"``: epoch ``e`` (from 0) trains at ``lr * gamma ** (e + 1)``, as DARTS's
    ``train_imagenet.py`` ran (github.com/quark0/darts at f276dd346a09ae3160f8e3aca5c7b193fda1da37: ``StepLR(1,
    gamma)`` stepped at the start of every epoch under PyTorch 0.3, so the first epoch already has one decay).
    ``schedule="linear"``: PC-DARTS's / DrNAS's ``adjust_lr`` (github.com/xiangning-chen/DrNAS
    ``DARTS-space/train_imagenet.py`` at a0e93283e5599dabd5f4e710b0847ec696c8d6d8): linear to 0 at epoch
    ``epochs - tail``, with a smaller slope over the last ``tail`` epochs (at most ``epochs - 1``), and during
    the first ``warmup`` epochs ``lr * (e + 1) / warmup`` instead. ``lr_min`` is a floor under both."""

    schedule: str = "exponential"
    gamma: float = 0.97
    warmup: int = 0
    tail: int = 0

    def __post_init__(self) -> None:
        if self.schedule not in DECAY_SCHEDULES:
            raise ConfigError(f"protocol {self.name!r}: schedule must be one of {list(DECAY_SCHEDULES)}, got "
                              f"{self.schedule!r}")
        if self.tail < 0 or self.warmup < 0:
            raise ConfigError(f"protocol {self.name!r}: warmup and tail must be >= 0, got {self.warmup}, {self.tail}")

    def learning_rate(self, progress: float) -> float:
        epoch = math.floor(progress)
        if self.schedule == "exponential":
            return max(self.lr_min, self.lr * self.gamma ** (epoch + 1))
        if epoch < self.warmup:
            return max(self.lr_min, self.lr * (epoch + 1) / self.warmup)
        left, tail = self.epochs - epoch, min(self.tail, self.epochs - 1)  # a short run keeps one linear epoch
        if left > tail:
            rate = self.lr * (left - tail) / (self.epochs - tail)
        else:
            rate = self.lr * left / ((self.epochs - tail) * tail)
        return max(self.lr_min, rate)


#: protocol fields that count something and so must be at least 1
_COUNTS = ("epochs", "batch_size", "eval_batch_size")
#: upper bounds of protocol fields (``nasaudit.limits``); other counts are bounded by MAX_STEPS, other
#: numbers (learning rates, decays, probabilities, clip norms) by MAX_LR
_UPPER: dict[str, float] = {"epochs": MAX_EPOCHS, "batch_size": MAX_BATCH, "eval_batch_size": MAX_BATCH,
                            "grad_clip": 1e6, "rmsprop_eps": 1e6}


def _checked_override(name: str, current: Any, value: Any) -> Any:
    """``value`` for protocol field ``name`` if it has the field's type and a sensible range (a NaN, a negative
    epoch count or text where a number belongs is a ConfigError naming the field)."""
    if isinstance(current, bool) or current is None or not isinstance(current, (int, float)):
        if isinstance(current, bool) and not isinstance(value, bool):
            raise ConfigError(f"protocol field {name} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"protocol field {name} must be a finite number, got {value!r}")
    if isinstance(current, int):
        if value != int(value) or value < (1 if name in _COUNTS else 0):
            raise ConfigError(f"protocol field {name} must be a whole number >= {1 if name in _COUNTS else 0}, "
                              f"got {value!r}")
        check_at_most(f"protocol field {name}", value, _UPPER.get(name, MAX_STEPS))
        return int(value)
    if value < 0:
        raise ConfigError(f"protocol field {name} must be >= 0, got {value!r}")
    check_at_most(f"protocol field {name}", value, _UPPER.get(name, MAX_LR))
    return float(value)


_DARTS_REGULARISED = Augmentation(crop_padding=4, flip=True, cutout=16, mixup_alpha=0.2)

PROTOCOLS: dict[str, TrainProtocol] = {
    "nb201": TrainProtocol(
        name="nb201",
        source=("NB201 paper (Dong & Yang, 2020) Sec. 2.3 / Table 2: SGD, Nesterov momentum 0.9, initial LR "
                "0.1, ending LR 0, cosine schedule, weight decay 5e-4, batch size 256, 200 epochs, random "
                "flip and random crop (padding 4 on CIFAR, 2 on ImageNet16), normalisation; network C=16, "
                "N=5. The benchmark's code anneals the LR every iteration."),
        epochs=200, batch_size=256, lr=0.1, lr_min=0.0, nesterov=True, weight_decay=5e-4, lr_per_step=True,
        augmentation=Augmentation(crop_padding=4, flip=True),
        macro=_frozen({"nb201": {"channels": 16, "cells_per_stage": 5}}),
    ),
    "nb301": TrainProtocol(
        name="nb301",
        source=("Redundancy paper App. B.2 (the nb301 protocol): 8 cells, 32 initial channels, SGD, initial "
                "LR 0.025, final LR 1e-8, cosine annealing, 100 epochs, weight decay 3e-4, momentum 0.9, "
                "auxiliary tower (weight 0.4), cutout 16, drop path 0.2, gradient clip 5, batch size 96, "
                "mixup alpha 0.2."),
        epochs=100, batch_size=96, lr=0.025, lr_min=1e-8, weight_decay=3e-4, grad_clip=5.0, aux_weight=0.4,
        drop_path=0.2, augmentation=_DARTS_REGULARISED,
        macro=_frozen({"darts": {"channels": 32, "layers": 8, "auxiliary": True}}),
    ),
    "darts_eval": TrainProtocol(
        name="darts_eval",
        source=("Redundancy paper App. B.3 (CIFAR-10): 20 cells, 36 initial channels; SGD, initial LR 0.025, "
                "final LR 1e-8, cosine annealing, 600 epochs, weight decay 3e-4, momentum 0.9, auxiliary "
                "tower (weight 0.4), cutout 16, drop path 0.2, gradient clip 5, batch size 96, mixup alpha "
                "0.2 -- the DARTS protocol (Liu et al., 2019) plus mixup."),
        epochs=600, batch_size=96, lr=0.025, lr_min=1e-8, weight_decay=3e-4, grad_clip=5.0, aux_weight=0.4,
        drop_path=0.2, augmentation=_DARTS_REGULARISED,
        macro=_frozen({"darts": {"channels": 36, "layers": 20, "auxiliary": True}}),
    ),
    "darts_original": TrainProtocol(
        name="darts_original",
        source=("DARTS evaluation as published (Liu et al., 2019, Sec. 3.3; redundancy paper App. B.3 says it "
                "is darts_eval without mixup): 20 cells, 36 channels, 600 epochs, batch 96, SGD LR 0.025 "
                "cosine to 0, momentum 0.9, weight decay 3e-4, cutout 16, drop path 0.2, auxiliary weight "
                "0.4, gradient clip 5."),
        epochs=600, batch_size=96, lr=0.025, lr_min=0.0, weight_decay=3e-4, grad_clip=5.0, aux_weight=0.4,
        drop_path=0.2, augmentation=Augmentation(crop_padding=4, flip=True, cutout=16),
        macro=_frozen({"darts": {"channels": 36, "layers": 20, "auxiliary": True}}),
    ),
    "shu_plain": TrainProtocol(
        name="shu_plain",
        source=("Architectures paper (Shu et al., 2020) App. A.3 default setting with no regularisation "
                "(App. A.4, used for the convergence study of Sec. 4): L=20 cells, SGD LR 0.025, momentum "
                "0.9, weight decay 3e-4, batch size 80, 600 epochs (CIFAR), cosine annealing to zero; "
                "App. A.1: pad 4 + random crop, horizontal flip, normalisation."),
        epochs=600, batch_size=80, lr=0.025, lr_min=0.0, weight_decay=3e-4,
        augmentation=Augmentation(crop_padding=4, flip=True),
        macro=_frozen({"darts": {"channels": 36, "layers": 20, "auxiliary": False}}),
    ),
    "shu_regularized": TrainProtocol(
        name="shu_regularized",
        source=("Architectures paper App. A.3 + A.4 (Sec. 5, Table 1): the shu_plain setting plus cutout 16, "
                "auxiliary tower at the 2L/3-th cell with weight 0.4, drop path linearly increased to 0.2."),
        epochs=600, batch_size=80, lr=0.025, lr_min=0.0, weight_decay=3e-4, aux_weight=0.4, drop_path=0.2,
        augmentation=Augmentation(crop_padding=4, flip=True, cutout=16),
        macro=_frozen({"darts": {"channels": 36, "layers": 20, "auxiliary": True}}),
    ),
    "singlepath": TrainProtocol(
        name="singlepath",
        source=("Single-path paper Sec. 3.3 and App. A.2 Table 1: batch size 256, SGD momentum 0.9, LR 0.025 "
                "cosine-annealed to 5e-5 over 250 epochs, weight decay 3e-4 excluding BN, DARTS-like "
                "augmentation (4-pixel shift, horizontal flip, normalisation), no other regularisation; "
                "small NB201 networks: 2 cells per stage, 32 channels."),
        epochs=250, batch_size=256, lr=0.025, lr_min=5e-5, weight_decay=3e-4, weight_decay_on_bn=False,
        augmentation=Augmentation(crop_padding=4, flip=True),
        macro=_frozen({"nb201": {"channels": 32, "cells_per_stage": 2}}),
    ),
    "nb101": TrainProtocol(
        name="nb101",
        source=("NAS-Bench-101 (Ying et al., 2019, Sec. 2.3) as run by its code (google-research/nasbench, "
                "lib/config.py and lib/model_builder.py): RMSProp (decay 0.9, momentum 0.9, epsilon 1.0), base LR "
                "0.1 scaled by the 2 TPU shards to 0.2, cosine decay by step to 0, L2 weight decay 1e-4, batch size "
                "256, 108 epochs, standard CIFAR augmentation (pad-4 random crop, horizontal flip); network: stem "
                "128 channels, 3 stacks of 3 cells. TensorFlow's RMSProp adds epsilon inside the square root and "
                "starts its mean square at 1; torch's RMSprop (eps outside the root, start 0) differs slightly."),
        epochs=108, batch_size=256, lr=0.2, lr_min=0.0, momentum=0.9, weight_decay=1e-4, lr_per_step=True,
        optimizer="rmsprop", rmsprop_alpha=0.9, rmsprop_eps=1.0,
        augmentation=Augmentation(crop_padding=4, flip=True),
        macro=_frozen({"nb101": {"stem_channels": 128, "stacks": 3, "cells_per_stack": 3}}),
    ),
    "shu_tiny_imagenet": TrainProtocol(
        name="shu_tiny_imagenet",
        source=("Architectures paper (Shu et al., 2020) Table 1, Tiny-ImageNet-200 column: the shu_regularized setting "
                "(App. A.3-A.4: L=20 cells, SGD LR 0.025 cosine to zero, momentum 0.9, weight decay 3e-4, batch "
                "size 80, cutout 16, auxiliary tower at the 2L/3-th cell with weight 0.4, drop path linearly "
                "increased to 0.2) for 300 epochs, the first convolution at stride 2 (64x64 -> 32x32); App. A.1: "
                "zero padding 4 and random crop back to 64x64, horizontal flip, normalisation."),
        epochs=300, batch_size=80, lr=0.025, lr_min=0.0, weight_decay=3e-4, aux_weight=0.4, drop_path=0.2,
        augmentation=Augmentation(crop_padding=4, flip=True, cutout=16),
        macro=_frozen({"darts": {"channels": 36, "layers": 20, "auxiliary": True, "stem_stride": 2}}),
    ),
    "darts_imagenet_mobile": DecayProtocol(
        name="darts_imagenet_mobile",
        source=("DARTS (Liu et al., 2019) Sec. 3.3 ImageNet mobile setting, as released in cnn/train_imagenet.py "
                "(github.com/quark0/darts at f276dd346a09ae3160f8e3aca5c7b193fda1da37, run with --auxiliary as its "
                "README says): 14 cells, 48 initial channels, 250 epochs, batch 128, SGD LR 0.1 decayed by 0.97 "
                "every epoch, momentum 0.9, weight decay 3e-5, label smoothing 0.1, auxiliary weight 0.4, gradient "
                "clip 5, no drop path; random-resized crop 224, horizontal flip, colour jitter 0.4/0.4/0.4/0.2; "
                "evaluation on resize 256 / centre crop 224. Selection paper App. A.8 (Table 5) follows it."),
        epochs=250, batch_size=128, lr=0.1, lr_min=0.0, weight_decay=3e-5, grad_clip=5.0, label_smoothing=0.1,
        aux_weight=0.4, augmentation=Augmentation(flip=True), eval_batch_size=256,
        macro=_frozen({"darts": {"variant": "imagenet", "channels": 48, "layers": 14, "auxiliary": True}}),
        schedule="exponential", gamma=0.97,
    ),
    "redundancy_imagenet": DecayProtocol(
        name="redundancy_imagenet",
        source=("Redundancy paper (Wan et al., 2022) App. B.3, ImageNet (Table 2b), 'identical to Chen et al. "
                "(2021b)' (DrNAS): 14 cells, 48 initial channels, SGD LR 0.5 with linear annealing, 250 epochs, "
                "weight decay 3e-5, momentum 0.9, auxiliary weight 0.4, cutout 16, drop path 0, gradient clip 5, "
                "label smoothing 0.1, no mixup, batch size 768. The linear schedule is DrNAS's released adjust_lr "
                "(xiangning-chen/DrNAS DARTS-space/train_imagenet.py at a0e93283e5599dabd5f4e710b0847ec696c8d6d8): 5 "
                "warm-up epochs (batch > 256), a smaller slope over the last 5; that script has no cutout, the "
                "paper's list does, and this protocol follows the paper."),
        epochs=250, batch_size=768, lr=0.5, lr_min=0.0, weight_decay=3e-5, grad_clip=5.0, label_smoothing=0.1,
        aux_weight=0.4, augmentation=Augmentation(flip=True, cutout=16), eval_batch_size=256,
        macro=_frozen({"darts": {"variant": "imagenet", "channels": 48, "layers": 14, "auxiliary": True}}),
        schedule="linear", warmup=5, tail=5,
    ),
    "cpu_small": TrainProtocol(
        name="cpu_small",
        source=("nasaudit's quick CPU protocol (not from a paper): the NB201 recipe (SGD Nesterov 0.9, LR 0.1 "
                "cosine to 0 per step, weight decay 5e-4) for 10 epochs at batch 64 on tiny networks, random "
                "crop only (the embedded digits must not be mirrored)."),
        epochs=10, batch_size=64, lr=0.1, lr_min=0.0, nesterov=True, weight_decay=5e-4, lr_per_step=True,
        augmentation=Augmentation(crop_padding=4),
        macro=_frozen({
            "nb201": {"channels": 8, "cells_per_stage": 1},
            "darts": {"channels": 8, "layers": 5, "auxiliary": False},
            "nb101": {"stem_channels": 16, "stacks": 3, "cells_per_stack": 1},
        }),
    ),
}


def make_optimizer(params: Any, protocol: TrainProtocol) -> torch.optim.Optimizer:
    """The protocol's optimiser over ``params`` (tensors or parameter groups), at learning rate ``protocol.lr``.

    ``"sgd"``: momentum SGD (optionally Nesterov). ``"rmsprop"``: RMSProp with smoothing ``rmsprop_alpha``,
    ``rmsprop_eps`` and ``momentum``, the NAS-Bench-101 optimiser (see the ``nb101`` protocol).
    """
    import torch

    if protocol.optimizer == "sgd":
        return torch.optim.SGD(params, lr=protocol.lr, momentum=protocol.momentum, nesterov=protocol.nesterov)
    if protocol.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=protocol.lr, alpha=protocol.rmsprop_alpha, eps=protocol.rmsprop_eps,
                                   momentum=protocol.momentum)
    raise ConfigError(f"unknown optimizer {protocol.optimizer!r} in protocol {protocol.name!r}; "
                      f"choose from {list(OPTIMIZERS)}")


def get_protocol(protocol: str | TrainProtocol) -> TrainProtocol:
    """The protocol named ``protocol`` (a ``TrainProtocol`` passes through)."""
    if isinstance(protocol, TrainProtocol):
        return protocol
    if protocol not in PROTOCOLS:
        from nasaudit.registry import unknown_name_message

        raise ConfigError(unknown_name_message("training protocol", protocol, sorted(PROTOCOLS)))
    return PROTOCOLS[protocol]
