"""PrimSkip constraint (redundancy paper Sec. 4, App. D): membership, sizes, uniform spread."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from nasaudit.errors import SpaceError
from nasaudit.spaces import get_space
from nasaudit.spaces.constraints import PRIMSKIP_GROUPS, PrimSkip


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
@pytest.mark.parametrize("group", PRIMSKIP_GROUPS)
def test_samples_satisfy_their_group_and_are_reproducible(space_name, group):
    space = get_space(space_name)
    constraint = PrimSkip(space, group)
    samples = constraint.sample_many(300, 11)
    assert samples == constraint.sample_many(300, 11)
    for arch in samples:
        space.validate(arch)
        assert constraint.satisfied(arch)


def test_nb201_group_sizes_match_enumeration():
    space = get_space("nb201")
    archs = list(space.enumerate())
    for group, size in {"random": 5**6, "skip": 5**5, "prim": 3**6, "primskip": 2**5}.items():
        constraint = PrimSkip(space, group)
        assert constraint.size == size
        assert sum(constraint.satisfied(a) for a in archs) == size


def test_nb201_primskip_samples_cover_the_whole_group():
    constraint = PrimSkip(get_space("nb201"), "primskip")
    seen = set(constraint.sample_many(2_000, 0))
    assert len(seen) == constraint.size == 32


def test_darts_primskip_structure_and_spread():
    space = get_space("darts")
    constraint = PrimSkip(space, "primskip")
    samples = constraint.sample_many(3_000, 5)
    for arch in samples:
        for cell in (arch.normal, arch.reduce):
            assert cell.edges[:2] == (("skip_connect", 0), ("skip_connect", 1))
            assert all(op in ("sep_conv_3x3", "sep_conv_5x5") for op, _ in cell.edges[2:])
    # spread over all the freedom left: every input pair of nodes 3-5 and both prims on every free edge
    for node, n_pairs in ((1, 3), (2, 6), (3, 10)):
        pairs = Counter(tuple(sorted(src for _, src in a.normal.edges[2 * node:2 * node + 2])) for a in samples)
        assert len(pairs) == n_pairs
        assert min(pairs.values()) > 0.5 * len(samples) / n_pairs  # roughly uniform
    for k in range(2, 8):
        assert {a.reduce.edges[k][0] for a in samples} == {"sep_conv_3x3", "sep_conv_5x5"}
    assert constraint.size == (3 * 6 * 10 * 2**6) ** 2


def test_darts_group_membership_examples():
    space = get_space("darts")
    primskip = PrimSkip(space, "primskip")
    arch = primskip.sample(3)
    assert PrimSkip(space, "random").satisfied(arch)
    assert PrimSkip(space, "skip").satisfied(arch)
    assert PrimSkip(space, "prim").satisfied(arch)
    op, src = arch.normal.edges[5]
    broken = str(arch).replace(f"('{op}', {src})", f"('max_pool_3x3', {src})", 1)
    assert not primskip.satisfied(broken)
    assert PrimSkip(space, "skip").satisfied(broken)
    rewired = str(arch).replace("('skip_connect', 1)", "('sep_conv_3x3', 1)", 1)
    assert not primskip.satisfied(rewired)
    assert PrimSkip(space, "prim").satisfied(rewired)


def test_nb201_optima_belong_to_primskip(nb201_csv):
    """App. D: the optimal NB201 architecture of each dataset belongs to the PrimSkip group."""
    with nb201_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    constraint = PrimSkip(get_space("nb201"), "primskip")
    for column in ("CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs", "ImageNetTestAccuracy200Epochs"):
        best = max(rows, key=lambda r: float(r[column]))
        assert constraint.satisfied(best["ArchitectureString"]), column


def test_bad_requests():
    with pytest.raises(SpaceError, match="unknown PrimSkip group"):
        PrimSkip(get_space("nb201"), "skippy")
    with pytest.raises(SpaceError, match="lacks op"):
        PrimSkip(get_space("nb201").restrict(["nor_conv_3x3", "avg_pool_3x3"]), "primskip")
    with pytest.raises(SpaceError, match="lacks op"):
        PrimSkip(get_space("darts_s2"), "prim")
