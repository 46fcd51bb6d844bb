"""Named sets of architectures for the ablations of the architectures and redundancy papers.

Each generator returns an ``ArchSet``: a name, the space every member validates in (what
``build_network`` / ``train_arch`` need), the members and a tidy description table with one row per
member (its unique ``label``, its string ``arch`` and the facts that define it).

* ``random_variant_set``: random connection / operation variants of base cells (architectures paper
  App. A.2, Sec. 4.1, Table 2), each base cell with its own stream derived from ``(seed, cell)``.
* ``shape_adaptation_set``: widest-shallowest and narrowest-deepest rewirings (Sec. 5, Table 1).
* ``switch_off_set``: operations switched off one by one in order of operation importance, high-first
  and low-first (redundancy paper Sec. 3 finding #1, Fig. 5).
* ``cell_swap_set``: reduce <- normal, normal <- reduce, all-skip normal and reduce cells (Fig. 6).
* ``primskip_group_set`` and ``primskip_edit_set``: PrimSkip group samples (Fig. 10b) and the minimal
  PrimSkip edits of published cells (Table 2a).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from nasaudit.analysis.cell_shape import (
    DARTS_INPUTS,
    DISABLED_OP,
    cell_shape,
    random_connection_variants,
    random_operation_variants,
)
from nasaudit.analysis.primskip import minimal_primskip_edit
from nasaudit.errors import DataError, SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.constraints import PRIMSKIP_GROUPS, SKIP_OP, PrimSkip
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.spaces.nb201 import NB201Arch, NB201Space

VariantKind = Literal["connection", "operation"]
SwitchOrder = Literal["high", "low"]


@dataclass(frozen=True)
class ArchSet:
    """A named set of architectures of ``space`` and its description table (one row per member, same order)."""

    name: str
    space: SearchSpace
    archs: tuple[Any, ...]
    table: pd.DataFrame

    def named(self) -> dict[str, Any]:
        """The members by their ``label``."""
        return dict(zip(self.table["label"], self.archs, strict=True))


def _make(name: str, space: SearchSpace, rows: list[tuple[Any, dict[str, Any]]]) -> ArchSet:
    for arch, _ in rows:
        space.validate(arch)
    table = pd.DataFrame([{"label": info["label"], "arch": str(arch), **{k: v for k, v in info.items()
                                                                         if k != "label"}}
                          for arch, info in rows])
    if table["label"].duplicated().any():
        raise SpaceError(f"architecture set {name!r} has duplicate labels")
    return ArchSet(name, space, tuple(arch for arch, _ in rows), table)


def _darts_space(space: SearchSpace, what: str) -> DartsSpace:
    if not isinstance(space, DartsSpace):
        raise SpaceError(f"{what} is defined for DARTS spaces, not {space.name!r}")
    return space


def _shape_columns(genotype: DartsGenotype, cell_types: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cell_type in cell_types:
        shape = cell_shape(genotype, cell_type)
        out[f"{cell_type}_width"], out[f"{cell_type}_depth"] = shape.width, shape.depth
    return out


def _check_cell_types(cell_types: Sequence[str]) -> list[str]:
    types = list(dict.fromkeys(cell_types))
    if not types or any(c not in CELL_TYPES for c in types):
        raise SpaceError(f"cell_types must be a non-empty subset of {list(CELL_TYPES)}, got {list(cell_types)}")
    return types


# ------------------------------------------------------------------ random variants (App. A.2)
def random_variant_set(space: SearchSpace, bases: Mapping[str, DartsGenotype], n: int, seed: SeedLike,
                       kind: VariantKind = "connection", cell_types: Sequence[str] = ("normal",)) -> ArchSet:
    """Each base genotype and ``n`` random ``kind`` variants of its ``cell_types`` cells (App. A.2).

    Connection variants keep every node's ops and draw each edge's source uniformly from the earlier
    nodes (two different ones, as the space requires); operation variants keep the wiring and draw each
    op uniformly from the space's ops. Every base cell has its own stream derived from ``(seed, cell)``.
    Variants are labelled ``<base>/C1 .. Cn`` in ascending width and descending depth of the first of
    ``cell_types`` (Table 2's order); the base is ``<base>/original``.
    """
    darts = _darts_space(space, "random cell variants")
    types = _check_cell_types(cell_types)
    if kind not in ("connection", "operation"):
        raise SpaceError(f"kind must be 'connection' or 'operation', got {kind!r}")
    rows: list[tuple[Any, dict[str, Any]]] = []
    for base_name, base in bases.items():
        per_type: dict[str, list[DartsCell]] = {}
        for cell_type in types:
            cell = base.cell(cell_type)
            per_type[cell_type] = (random_connection_variants(cell, n, seed) if kind == "connection"
                                   else random_operation_variants(cell, n, seed, ops=darts.ops))
        variants = []
        for k in range(n):
            genotype = base
            for cell_type in types:
                genotype = genotype.replace(cell_type, per_type[cell_type][k])
            variants.append(genotype)
        key = types[0]
        variants.sort(key=lambda g: (cell_shape(g, key).width, -cell_shape(g, key).depth))
        rows.append((base, {"label": f"{base_name}/original", "base": base_name, "variant": 0, "kind": "original",
                            **_shape_columns(base, types)}))
        rows.extend((g, {"label": f"{base_name}/C{k}", "base": base_name, "variant": k, "kind": kind,
                         **_shape_columns(g, types)}) for k, g in enumerate(variants, start=1))
    return _make(f"random_{kind}_variants", darts, rows)


# ------------------------------------------------------------------ width / depth adaptations (Sec. 5)
def _rewire_node(pair: Sequence[tuple[str, int]], target: tuple[int, int]) -> list[tuple[str, int]]:
    """Give the node's two edges the sources ``target``, keeping each op and moving as few edges as possible."""
    (op_a, src_a), (op_b, src_b) = pair
    if src_a in target:
        return [(op_a, src_a), (op_b, target[1] if src_a == target[0] else target[0])]
    if src_b in target:
        return [(op_a, target[1] if src_b == target[0] else target[0]), (op_b, src_b)]
    return [(op_a, target[0]), (op_b, target[1])]


def widest_shallowest(cell: DartsCell) -> DartsCell:
    """Every intermediate node takes both cell inputs (the SNAS connection pattern Sec. 5 applies):
    width ``n_nodes * c``, depth 2. Ops stay with their node; as few edges as possible move."""
    edges: list[tuple[str, int]] = []
    for node in range(cell.n_nodes):
        edges.extend(_rewire_node(cell.edges[2 * node:2 * node + 2], DARTS_INPUTS))
    return DartsCell(tuple(edges), cell.concat)


def narrowest_deepest(cell: DartsCell) -> DartsCell:
    """A chain: node 2 takes both inputs, node 3 takes node 2 and one input (the one it already uses, else
    input 1), every later node its two predecessors: width 1.5c, depth ``n_nodes + 1`` (for two or more
    nodes). Ops stay with their node; as few edges as possible move."""
    edges: list[tuple[str, int]] = []
    for node in range(cell.n_nodes):
        pair = cell.edges[2 * node:2 * node + 2]
        if node == 0:
            target: tuple[int, int] = DARTS_INPUTS
        elif node == 1:
            used = [src for _, src in pair if src in DARTS_INPUTS]
            target = (used[0] if used else DARTS_INPUTS[1], 2)
        else:
            target = (node, node + 1)
        edges.extend(_rewire_node(pair, target))
    return DartsCell(tuple(edges), cell.concat)


def shape_adaptation_set(space: SearchSpace, bases: Mapping[str, DartsGenotype],
                         cell_types: Sequence[str] = CELL_TYPES) -> ArchSet:
    """Each base with its ``cell_types`` cells rewired widest-shallowest and narrowest-deepest (Sec. 5, Table 1:
    "the cells (including normal and reduction cell)"). Labels ``<base>/original``, ``/widest_shallowest``,
    ``/narrowest_deepest``; the adapted topologies of the paper's Fig. 25 are not in its text, so ops are
    kept on their node and the fewest edges are moved."""
    darts = _darts_space(space, "width/depth adaptations")
    types = _check_cell_types(cell_types)
    rows: list[tuple[Any, dict[str, Any]]] = []
    for base_name, base in bases.items():
        for label, adapt in (("original", None), ("widest_shallowest", widest_shallowest),
                             ("narrowest_deepest", narrowest_deepest)):
            genotype = base
            if adapt is not None:
                for cell_type in types:
                    genotype = genotype.replace(cell_type, adapt(base.cell(cell_type)))
            rows.append((genotype, {"label": f"{base_name}/{label}", "base": base_name, "adaptation": label,
                                    **_shape_columns(genotype, CELL_TYPES)}))
    return _make("shape_adaptations", darts, rows)


# ------------------------------------------------------------------ switching off operations (Fig. 5)
class DisabledOpsDartsSpace(DartsSpace):
    """A DARTS space whose cells may also carry ``none`` on any edge: the home of cells with switched-off
    operations (redundancy paper Fig. 5), so that ``build_network`` accepts them (``none`` outputs zeros)."""

    def selectable(self, cell_type: str, node: int, src: int) -> tuple[str, ...]:
        return (*super().selectable(cell_type, node, src), DISABLED_OP)


def with_disabled_ops(space: SearchSpace) -> SearchSpace:
    """``space`` extended so that any operation may be switched off (``none``): NB201 has ``none`` already."""
    if isinstance(space, NB201Space):
        if DISABLED_OP not in space.ops:
            raise SpaceError(f"space {space.name!r} has no 'none' op to switch operations off with")
        return space
    darts = _darts_space(space, "switching operations off")
    return DisabledOpsDartsSpace(n_nodes=darts.n_nodes, name=f"{darts.name}+none", edge_ops=darts.candidate_ops)


def _disable(arch: Any, positions: Sequence[Any]) -> Any:
    if isinstance(arch, NB201Arch):
        ops = list(arch.ops)
        for k in positions:
            ops[k] = DISABLED_OP
        return NB201Arch(tuple(ops))
    genotype: DartsGenotype = arch
    for cell_type, k in positions:
        cell = genotype.cell(cell_type)
        edges = list(cell.edges)
        edges[k] = (DISABLED_OP, edges[k][1])
        genotype = genotype.replace(cell_type, DartsCell(tuple(edges), cell.concat))
    return genotype


def switch_off_order(space: SearchSpace, oi: pd.DataFrame, arch: Any, order: SwitchOrder) -> list[Hashable]:
    """The active operations of ``arch`` in the order they are switched off: by OI descending (``high``)
    or ascending (``low``), ties in position order; operations without an OI (no neighbours) are left on."""
    if order not in ("high", "low"):
        raise DataError(f"order must be 'high' or 'low', got {order!r}")
    missing = [c for c in ("arch", "position", "primitive", "oi") if c not in oi.columns]
    if missing:
        raise DataError(f"the operation-importance table lacks column(s) {missing}")
    value = space.coerce(arch)
    rows = oi[oi["arch"] == str(value)]
    if rows.empty:
        raise DataError(f"the operation-importance table has no rows for architecture {value}")
    by_text = {str(p): p for p in space.positions(value)}
    unknown = sorted(set(rows["position"].astype(str)) - set(by_text))
    if unknown:
        raise DataError(f"positions {unknown} of the importance table are not positions of {value}")
    active = rows[(rows["primitive"] != DISABLED_OP) & rows["oi"].notna()].copy()
    active["_rank"] = [list(by_text).index(str(p)) for p in active["position"]]
    ranked = active.sort_values(["oi", "_rank"], ascending=[order == "low", True], kind="stable")
    return [by_text[str(p)] for p in ranked["position"]]


def switch_off_set(space: SearchSpace, oi: pd.DataFrame, arch: Any, max_disabled: int | None = None,
                   orders: Sequence[SwitchOrder] = ("high", "low")) -> ArchSet:
    """``arch`` with 1, 2, ... of its operations switched off in OI order, high-first and low-first
    (redundancy paper Fig. 5), up to ``max_disabled`` (default: until half of the active operations remain).

    "Switching off" is what the paper does, "disable the operations by zeroing them": the op becomes
    ``none`` (zeros), not ``skip_connect``; the set's space is ``with_disabled_ops(space)``. ``oi`` is an
    ``operation_importance`` table covering ``arch``. Labels ``original`` and ``<order>/<k>``.
    """
    value = space.coerce(arch)
    ranked = {order: switch_off_order(space, oi, value, order) for order in orders}
    n_active = len(next(iter(ranked.values()))) if ranked else 0
    limit = n_active // 2 if max_disabled is None else max_disabled
    if not 0 <= limit <= n_active:
        raise DataError(f"max_disabled must be between 0 and the {n_active} active operations, got {limit}")
    rows: list[tuple[Any, dict[str, Any]]] = [(value, {"label": "original", "order": "original", "n_disabled": 0,
                                                       "disabled": "", "disabled_oi": np.nan})]
    oi_of = {str(p): float(v) for p, v in zip(oi.loc[oi["arch"] == str(value), "position"],
                                               oi.loc[oi["arch"] == str(value), "oi"], strict=True)}
    for order, positions in ranked.items():
        for k in range(1, limit + 1):
            rows.append((_disable(value, positions[:k]), {
                "label": f"{order}/{k}", "order": order, "n_disabled": k,
                "disabled": "; ".join(str(p) for p in positions[:k]), "disabled_oi": oi_of[str(positions[k - 1])]}))
    return _make("switch_off", with_disabled_ops(space), rows)


# ------------------------------------------------------------------ cell swaps (Fig. 6)
def all_skip(cell: DartsCell) -> DartsCell:
    """The cell with every operation set to ``skip_connect`` (wiring kept), redundancy paper Fig. 6."""
    return DartsCell(tuple((SKIP_OP, src) for _, src in cell.edges), cell.concat)


def cell_swap_set(space: SearchSpace, bases: Mapping[str, DartsGenotype]) -> ArchSet:
    """Each base and its four Fig. 6 derivatives: ``red<-nor`` (reduce cell set to the normal cell),
    ``nor<-red``, ``nor<-skip`` and ``red<-skip`` (all operations of that cell set to skip connections)."""
    darts = _darts_space(space, "cell swaps")
    rows: list[tuple[Any, dict[str, Any]]] = []
    for base_name, base in bases.items():
        derived = {
            "original": base,
            "red<-nor": DartsGenotype(base.normal, base.normal),
            "nor<-red": DartsGenotype(base.reduce, base.reduce),
            "nor<-skip": base.replace("normal", all_skip(base.normal)),
            "red<-skip": base.replace("reduce", all_skip(base.reduce)),
        }
        rows.extend((g, {"label": f"{base_name}/{label}", "base": base_name, "derivation": label})
                    for label, g in derived.items())
    return _make("cell_swaps", darts, rows)


# ------------------------------------------------------------------ PrimSkip (Fig. 10b, Table 2a)
def primskip_group_set(space: SearchSpace, n_per_group: int, seed: SeedLike,
                       groups: Sequence[str] = PRIMSKIP_GROUPS) -> ArchSet:
    """``n_per_group`` uniform samples of each PrimSkip group (Fig. 10b), drawn in group order from ``seed``
    exactly as ``primskip_study`` draws them. Labels ``<group>/<k>``."""
    if n_per_group < 1:
        raise DataError(f"n_per_group must be at least 1, got {n_per_group}")
    rng = as_generator(seed)
    rows: list[tuple[Any, dict[str, Any]]] = []
    for group in groups:
        for k, arch in enumerate(PrimSkip(space, group).sample_many(n_per_group, rng), start=1):
            rows.append((arch, {"label": f"{group}/{k}", "group": group}))
    return _make("primskip_groups", space, rows)


def primskip_edit_set(space: SearchSpace, bases: Mapping[str, DartsGenotype]) -> ArchSet:
    """Each base and its minimal PrimSkip edit (Table 2a "Original" / "Edited", ``minimal_primskip_edit``)."""
    darts = _darts_space(space, "PrimSkip edits")
    rows: list[tuple[Any, dict[str, Any]]] = []
    for base_name, base in bases.items():
        edit = minimal_primskip_edit(base)
        rows.append((base, {"label": f"{base_name}/original", "base": base_name, "edited": False,
                            "edit_distance": 0, "changes": ""}))
        rows.append((edit.edited, {"label": f"{base_name}/edited", "base": base_name, "edited": True,
                                   "edit_distance": edit.distance, "changes": "; ".join(edit.changes)}))
    return _make("primskip_edits", darts, rows)
