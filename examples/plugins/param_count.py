"""An evaluator kind as a nasaudit plugin: a zero-cost proxy scoring an architecture by the number of
parameters of its network at initialisation, without any training.

Load it with ``plugins: [param_count.py]`` in a spec (``param_count.yaml`` beside this file) or with
``nasaudit compare --plugin examples/plugins/param_count.py --search-evaluator param_count ...``
(``docs/plugins.md``). Importing this module registers the evaluator kind ``param_count``.

Each architecture is built as the network its benchmark trains (``nasaudit.nn.networks.build_network``: the
NB201 macro network with 16 channels and 5 cells per stage by default, the DARTS or NB101 network for those
spaces) and scored by its parameter count in millions. Parameter count is the simplest baseline among the
zero-cost proxies of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021; their release
github.com/SamsungLabs/zero-cost-nas compares its proxies with it): bigger cells (3x3 convolutions rather than
pooling or skips) tend to train to higher accuracy on NAS-Bench-201.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from nasaudit.spaces.base import SearchSpace
from nasaudit.studies._base import Scored, StrictModel, StudyContext
from nasaudit.studies.evaluators import EVALUATOR_KINDS, EvaluatorKind

FAMILIES = ("nb201", "darts", "nb101")


class ParamCountSpec(StrictModel):
    """``macro`` overrides the network's macro settings (NB201: ``channels``, ``cells_per_stage``)."""

    kind: Literal["param_count"] = "param_count"
    num_classes: int = Field(10, ge=1, le=100_000)
    macro: dict[str, int] = Field(default_factory=dict)


class ParamCount:
    """Scores architectures of ``space`` by the parameters (millions) of their networks at initialisation."""

    def __init__(self, space: SearchSpace, spec: ParamCountSpec) -> None:
        self.space = space
        self.spec = spec
        self._memo: dict[str, float] = {}

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        from nasaudit.nn.networks import build_network, count_parameters

        out = []
        for arch in archs:
            key = self.space.format(arch)
            if key not in self._memo:
                network = build_network(arch, self.space, num_classes=self.spec.num_classes, **self.spec.macro)
                self._memo[key] = count_parameters(network) / 1e6
            out.append(self._memo[key])
        return np.asarray(out, dtype=np.float64)


def check(spec: ParamCountSpec, base_dir: Path, space: SearchSpace | None) -> list[tuple[tuple[str | int, ...], str]]:
    """A network is defined for the NB201, DARTS and NB101 families only."""
    if space is not None and space.family not in FAMILIES:
        return [(("kind",), f"param_count builds NB201, DARTS or NB101 networks, not {space.name!r} ones")]
    return []


def fingerprint(spec: ParamCountSpec, base_dir: Path) -> dict[str, Any]:
    """Everything the scores depend on: the settings (the audit adds this file's content hash)."""
    return spec.model_dump(mode="json")


def build(context: StudyContext, name: str, spec: ParamCountSpec) -> Scored:
    return Scored(ParamCount(context.space, spec), "parameters (millions) of the network at initialisation "
                  "(zero-cost proxy)", "fraction")


EVALUATOR_KINDS.add("param_count", EvaluatorKind(ParamCountSpec, check, fingerprint, build),
                    "zero-cost proxy: parameters of the network at initialisation (plugin example)")
