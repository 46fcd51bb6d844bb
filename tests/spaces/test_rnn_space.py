"""RNN cell space (ENAS/DARTS; search-phase paper Sec. 3.2): published genotypes, the 32-cell reduced space, moves,
canonical keys and errors."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.spaces import RNNGenotype, RNNSpace, get_space, parse_rnn_genotype
from nasaudit.spaces.rnn import DARTS_V1, DARTS_V2, ENAS, loose_ends

# verbatim from quark0/darts rnn/genotypes.py (commit f276dd3)
OFFICIAL_V2 = ("Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), ('tanh', 2), "
               "('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))")
OFFICIAL_ENAS = """Genotype(
    recurrent = [
        ('tanh', 0),
        ('tanh', 1),
        ('relu', 1),
        ('tanh', 3),
        ('tanh', 3),
        ('relu', 3),
        ('relu', 4),
        ('relu', 7),
        ('relu', 8),
        ('relu', 8),
        ('relu', 8),
    ],
    concat = [2, 5, 6, 9, 10, 11]
)"""


def test_published_darts_cells_round_trip_verbatim() -> None:
    space = get_space("rnn")
    for text in (DARTS_V1, DARTS_V2, OFFICIAL_V2):
        arch = space.coerce(text)
        assert space.format(arch) == text and arch.concat == tuple(range(1, 9))
    v2 = parse_rnn_genotype(OFFICIAL_V2)
    assert v2.recurrent[0] == ("sigmoid", 0) and v2.recurrent[-1] == ("relu", 5)
    assert parse_rnn_genotype("genotypes.Genotype([('relu', 0)], [1])") == RNNGenotype((("relu", 0),), (1,))


def test_enas_cell_is_eleven_nodes_averaging_its_loose_ends() -> None:
    enas = parse_rnn_genotype(OFFICIAL_ENAS)
    assert enas == parse_rnn_genotype(ENAS) and enas.n_nodes == 11
    assert loose_ends(enas.recurrent) == enas.concat == (2, 5, 6, 9, 10, 11)
    assert not get_space("rnn").contains(enas)
    assert RNNSpace(n_nodes=11, output="loose_ends").contains(enas)


def test_sizes_follow_n_factorial_times_ops_to_the_n() -> None:
    assert get_space("rnn").size == math.factorial(8) * 4 ** 8
    reduced = get_space("rnn_reduced")
    listed = list(reduced.enumerate())
    assert reduced.size == len(listed) == len(set(listed)) == 32
    assert all(reduced.contains(a) for a in listed)
    with pytest.raises(SpaceError):
        get_space("rnn").enumerate()
    assert reduced.restrict(["tanh", "relu"]).size == 2 * 2 ** 2


def test_canonical_merges_exactly_the_isomorphic_cells() -> None:
    reduced = get_space("rnn_reduced")
    keys = {reduced.canonical(a) for a in reduced.enumerate()}
    assert len(keys) == 16 + 4 + 6  # chains, equal siblings, unordered pairs of distinct siblings
    swap_a = reduced.parse("Genotype(recurrent=[('relu', 0), ('tanh', 0)], concat=range(1, 3))")
    swap_b = reduced.parse("Genotype(recurrent=[('tanh', 0), ('relu', 0)], concat=range(1, 3))")
    chain = reduced.parse("Genotype(recurrent=[('relu', 0), ('tanh', 1)], concat=range(1, 3))")
    assert reduced.canonical(swap_a) == reduced.canonical(swap_b) != reduced.canonical(chain)
    space3 = RNNSpace(n_nodes=4)
    # same multiset of root paths, different trees: tanh and sigmoid share one relu parent, or not
    shared = space3.genotype([("relu", 0), ("relu", 0), ("tanh", 1), ("sigmoid", 1)])
    split = space3.genotype([("relu", 0), ("relu", 0), ("tanh", 1), ("sigmoid", 2)])
    assert space3.canonical(shared) != space3.canonical(split)


def test_neighbours_change_one_activation_or_one_predecessor() -> None:
    space = get_space("rnn")
    arch = parse_rnn_genotype(DARTS_V2)
    assert space.positions(arch) == list(range(1, 9))
    node5 = space.neighbours(arch, 5)
    assert len(node5) == 3 + 4  # three other activations, four other earlier nodes
    for n in node5:
        diff = [i for i in range(8) if n.recurrent[i] != arch.recurrent[i]]
        assert diff == [4]
    assert len(space.neighbours(arch)) == sum(3 + i - 1 for i in range(1, 9))
    assert len(space.neighbours(arch, 1)) == 3  # node 1 can only read node 0
    with pytest.raises(ArchitectureError, match="no operation at position 9"):
        space.neighbours(arch, 9)


def test_sampling_is_uniform_and_seeded() -> None:
    reduced = get_space("rnn_reduced")
    draws = reduced.sample_many(3200, seed=0)
    counts = {a: draws.count(a) for a in set(draws)}
    assert len(counts) == 32 and min(counts.values()) > 60 and max(counts.values()) < 145
    assert reduced.sample_many(5, seed=1) == reduced.sample_many(5, seed=1)


@pytest.mark.parametrize(("text", "message"), [
    ("Genotype(recurrent=[('relu', 0), ('tanh', 2)], concat=range(1, 3))", "node 2: predecessor 2"),
    ("Genotype(recurrent=[('relu', 0), ('none', 1)], concat=range(1, 3))", "activation 'none'"),
    ("Genotype(recurrent=[('relu', 0), ('tanh', -1)], concat=range(1, 3))", "negative predecessor"),
    ("Genotype(recurrent=[('relu', 0)], concat=range(1, 2))", "has 1 nodes"),
    ("Genotype(recurrent=[('relu', 0), ('tanh', 1)], concat=[2])", "averages all nodes"),
])
def test_non_members_are_refused_naming_the_problem(text: str, message: str) -> None:
    space = get_space("rnn_reduced")
    with pytest.raises(ArchitectureError, match=message):
        space.coerce(text)


@pytest.mark.parametrize(("text", "message"), [
    ("Genotype(normal=[], concat=[1])", "unknown RNN Genotype field 'normal'"),
    ("Genotype(recurrent=[('relu', 0)])", "missing field"),
    ("Genotype(recurrent=[('relu', 'a')], concat=[1])", "node 1"),
    ("Genotype(recurrent=[('relu', 0)], concat=range('a'))", "integer bounds"),
    ("Genotype(recurrent=x, concat=[1])", "not a literal list"),
])
def test_malformed_strings_are_architecture_errors(text: str, message: str) -> None:
    with pytest.raises(ArchitectureError, match=message):
        parse_rnn_genotype(text)


def test_graph_and_encoding() -> None:
    space = get_space("rnn")
    arch = space.parse(DARTS_V2)
    graph = space.to_networkx(arch)
    assert nx.is_directed_acyclic_graph(graph) and graph.number_of_nodes() == 10
    assert graph.edges[0, 1]["op"] == "sigmoid" and graph.in_degree(9) == 8
    node_graph = space.to_networkx(arch, form="node")
    assert sum(1 for _, d in node_graph.nodes(data=True) if d["label"] == "relu") == 3
    assert space.one_hot(arch).shape == (8 * (4 + 8),) and space.one_hot(arch).sum() == 16
