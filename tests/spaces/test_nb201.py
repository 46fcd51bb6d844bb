"""NB201 space: official string format, enumeration, canonical classes, moves, restriction."""

from __future__ import annotations

import csv
import subprocess
import sys

import networkx as nx
import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.spaces import NB201Arch, NB201Space, get_space, parse_nb201

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_every_table_string_round_trips_and_matches_the_benchmark_key(nb201_csv):
    with nb201_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 15_625
    space = NB201Space()
    for row in rows:
        arch = parse_nb201(row["ArchitectureString"])
        assert str(arch) == row["ArchitectureString"]
        assert space.canonical(arch) == row["UniqueString"]


def test_enumeration_size_and_canonical_classes():
    space = get_space("nb201")
    archs = list(space.enumerate())
    assert len(archs) == space.size == 15_625
    assert len(set(archs)) == 15_625
    assert len({space.canonical(a) for a in archs}) == 6_466


@pytest.mark.parametrize(
    ("ops", "size"),
    [
        (["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"], 4**6),  # single-path paper: w/o Zero
        (["none", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"], 4**6),
        (["nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"], 3**6),
        (["nor_conv_3x3"], 1),
    ],
)
def test_restrict_sizes(ops, size):
    space = NB201Space().restrict(ops)
    assert space.size == size
    assert len(list(space.enumerate())) == size
    assert all(op in ops for a in space.sample_many(20, 0) for op in a.ops)


def test_restrict_rejects_unknown_or_empty_ops():
    with pytest.raises(SpaceError, match="unknown op"):
        NB201Space().restrict(["conv_9x9"])
    with pytest.raises(SpaceError, match="empty"):
        NB201Space().restrict([])


def test_restricted_space_rejects_masked_ops():
    space = NB201Space().restrict(["skip_connect", "nor_conv_3x3"])
    assert not space.contains(BEST_C10.replace("skip_connect", "none"))
    assert space.contains(BEST_C10)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "3 node groups"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "3 node groups"),
        ("|conv_9x9~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "unknown op"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "2 incoming"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~3|", "cycle"),
        ("|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "self-loop"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "from node 1"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~", "must look"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2", "must look"),
        ("|nor_conv_3x3~0| + |nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "whitespace"),
        (" " + BEST_C10, "whitespace at position 0"),
        (BEST_C10 + "\n", "whitespace"),
        ("|nor_conv_3x3|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "op~input"),
    ],
)
def test_malformed_strings_raise_one_clear_error(text, fragment):
    with pytest.raises(ArchitectureError, match=fragment):
        parse_nb201(text)


def test_validate_rejects_wrong_values():
    space = NB201Space()
    with pytest.raises(ArchitectureError, match="6 ops"):
        space.validate(NB201Arch(("none",) * 5))
    with pytest.raises(ArchitectureError, match="not an NB201"):
        space.validate("not an arch")


def test_neighbours_are_all_single_op_swaps():
    space = NB201Space()
    arch = parse_nb201(BEST_C10)
    neighbours = space.neighbours(arch)
    assert len(neighbours) == 6 * 4
    assert len(set(neighbours)) == 24
    for other in neighbours:
        assert sum(a != b for a, b in zip(arch.ops, other.ops, strict=True)) == 1
    edge3 = space.neighbours(arch, position=3)
    assert {n.ops[3] for n in edge3} == {"none", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
    with pytest.raises(ArchitectureError, match="position"):
        space.neighbours(arch, position=6)


def test_mutate_returns_a_neighbour_reproducibly():
    space = NB201Space()
    arch = parse_nb201(BEST_C10)
    assert space.mutate(arch, 3) == space.mutate(arch, 3)
    assert space.mutate(arch, 3) in space.neighbours(arch)


def test_graph_forms():
    space = NB201Space()
    arch = parse_nb201(BEST_C10)
    edge_graph = space.to_networkx(arch, "edge")
    assert edge_graph.number_of_nodes() == 4 and edge_graph.number_of_edges() == 6
    assert edge_graph.edges[0, 3]["op"] == "skip_connect"
    node_graph = space.to_networkx(arch, "node")
    assert nx.is_directed_acyclic_graph(node_graph)
    assert node_graph.number_of_nodes() == 4 + 6
    assert sorted(d["label"] for _, d in node_graph.nodes(data=True) if d["label"] not in {"add"}) == sorted(
        ["input", "output", *arch.ops]
    )


def test_one_hot_is_exact():
    space = NB201Space()
    vec = space.one_hot(parse_nb201(BEST_C10))
    assert vec.shape == (30,) and vec.sum() == 6


def test_canonical_groups_known_equivalences():
    space = NB201Space()
    # node 1 feeds nothing that reaches the output except through 'none': the op on edge 0->1 is irrelevant
    a = parse_nb201("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = parse_nb201("|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert space.canonical(a) == space.canonical(b)
    c = parse_nb201("|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert space.canonical(a) != space.canonical(c)


def test_same_seed_same_samples_across_processes():
    code = "from nasaudit.spaces import get_space; print([str(a) for a in get_space('nb201').sample_many(5, 123)])"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
    assert runs.pop().strip() == str([str(a) for a in NB201Space().sample_many(5, 123)])
