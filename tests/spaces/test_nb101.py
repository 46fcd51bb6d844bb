"""NB101 space: JSON string format, validation, ModelSpec pruning, the benchmark's graph hash, counting,
enumeration, sampling and moves."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.spaces.nb101 import (
    NB101_OPS,
    NB101_SIZE,
    ONE_HOT_LENGTH,
    NB101Arch,
    NB101Space,
    nb101_hash,
    parse_nb101,
    prune_spec,
)

C3, C1, MP = NB101_OPS
IN, OUT = "input", "output"

# Real (spec, hash) pairs published with NAS-Bench-101 data.
# 1) First record of the NB101 dataset: AlbertiPot/nar, data/nasbench101_vertice_example.json
#    ("module_adjacency", "module_operations", "unique_hash"); the same cell and hash appear in the
#    NNI v1.7 NAS-benchmark example output (id 4, 'hash': '00005c142e6f48ac74fdcf73e3439874').
FIRST_RECORD = (
    [[0, 1, 0, 0, 1, 1, 0],
     [0, 0, 1, 0, 0, 0, 0],
     [0, 0, 0, 1, 0, 0, 1],
     [0, 0, 0, 0, 0, 1, 0],
     [0, 0, 0, 0, 0, 1, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 0]],
    [IN, C3, MP, C3, C3, C1, OUT],
    "00005c142e6f48ac74fdcf73e3439874",
)
# 2) The Inception-like cell of the NB101 README/colab, with its graph hash as used by
#    google-research/google-research unified_functional_hashing/nasbench/python/evaluator_test.py
#    (original_matrix/original_ops with graph_hash "28cfc787...").
INCEPTION_QUERY = (
    [[0, 1, 1, 1, 0, 1, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 1, 0, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 0]],
    [IN, C1, C3, C3, C3, MP, OUT],
    "28cfc7874f6d200472e1a9dcd8650aa0",
)
#    The NB101 colab (google-research/nasbench NASBench.ipynb, "Basic usage") queries the cell above and
#    the API answers with this differently ordered module_adjacency/module_operations: same class.
INCEPTION_STORED = (
    [[0, 1, 1, 1, 1, 0, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 1, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 0]],
    [IN, C3, C1, MP, C3, C3, OUT],
    "28cfc7874f6d200472e1a9dcd8650aa0",
)
# 3) The smallest cell (input -> output, 2 vertices, 1 edge) with the official hash asserted by the
#    cell_dag_nas suite of sci_modeling_bench (tests/suites/design_bench/cell_dag_nas,
#    test_decode_matches_official_hash: num_vertices == 2, num_edges == 1).
SMALLEST = ([[0, 1], [0, 0]], [IN, OUT], "043721b9c7fe8c5fad811d47d83132ec")


def arch_of(spec: tuple) -> NB101Arch:
    return NB101Arch.from_spec(spec[0], spec[1])


# ------------------------------------------------------------------------------ string format
def test_string_is_one_json_line_and_round_trips_exactly():
    space = NB101Space()
    for arch in [*space.sample_many(50, 3), arch_of(FIRST_RECORD), arch_of(SMALLEST)]:
        text = str(arch)
        assert "\n" not in text
        assert json.loads(text) == {"matrix": [list(r) for r in arch.matrix], "ops": list(arch.ops)}
        assert parse_nb101(text) == arch
        assert space.coerce(text) == arch


def test_from_spec_accepts_lists_and_numpy_arrays():
    matrix, ops, _ = FIRST_RECORD
    expected = NB101Arch.from_spec(matrix, ops)
    assert NB101Arch.from_spec(np.array(matrix), np.array(ops)) == expected
    assert NB101Arch.from_spec(np.array(matrix, dtype=bool), ops) == expected
    assert hash(expected) == hash(NB101Arch.from_spec(np.array(matrix, dtype=np.int64), tuple(ops)))


# ------------------------------------------------------------------------------ malformed input
CHAIN3 = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


def chain(n: int) -> list[list[int]]:
    return [[int(j == i + 1) for j in range(n)] for i in range(n)]


@pytest.mark.parametrize(
    ("matrix", "ops", "message"),
    [
        ([[0, 1, 0], [0, 0, 1]], [IN, C3, OUT], "square"),
        ([[0, 1], [0, 0, 1]], [IN, OUT], "square"),
        ([[1, 1], [0, 0]], [IN, OUT], "self-loop"),
        ([[0, 1, 0], [0, 0, 1], [0, 1, 0]], [IN, C3, OUT], "backward edge 2->1"),
        ([[0, 2], [0, 0]], [IN, OUT], "entry \\[0\\]\\[1\\] is 2"),
        ([[0, 0.5], [0, 0]], [IN, OUT], "0 or 1"),
        ([["0", "1"], ["0", "0"]], [IN, OUT], "0 or 1"),
        ([[0]], [IN], "at least 2 vertices"),
        (chain(8), [IN, *[C3] * 6, OUT], "8 vertices after pruning; at most 7"),
        (CHAIN3, [IN, OUT], "3 vertices but 2 ops"),
        (CHAIN3, [IN, "conv5x5", OUT], "unknown op 'conv5x5' at vertex 1"),
        (CHAIN3, [IN, OUT, OUT], "unknown op 'output' at vertex 1"),
        (CHAIN3, [C3, C3, OUT], "vertex 0 must be labelled 'input'"),
        (CHAIN3, [IN, C3, C3], "vertex 2 \\(the last\\) must be labelled 'output'"),
        (CHAIN3, [IN, 3, OUT], "must be a string"),
        (CHAIN3, "input", "list of op names"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [IN, C3, OUT], "no path"),
    ],
)
def test_malformed_specs_raise_a_clear_architecture_error(matrix, ops, message):
    with pytest.raises(ArchitectureError, match=message):
        NB101Arch.from_spec(matrix, ops)


def test_more_than_nine_edges_after_pruning_is_rejected():
    dense = np.triu(np.ones((7, 7), dtype=int), k=1)  # 21 edges, every vertex on a path
    with pytest.raises(ArchitectureError, match="21 edges after pruning; at most 9"):
        NB101Arch.from_spec(dense, [IN, *[C3] * 5, OUT])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]', "not valid JSON at position"),
        ('{"matrix": [[0, 1], [0, 0]]}', 'exactly the keys "matrix" and "ops"'),
        ('{"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"], "hash": 1}', "exactly the keys"),
        ("[[0, 1], [0, 0]]", "exactly the keys"),
        ('{"matrix": [[0, 1], [1, 0]], "ops": ["input", "output"]}', "upper-triangular"),
    ],
)
def test_malformed_strings_raise_a_clear_architecture_error(text, message):
    with pytest.raises(ArchitectureError, match=message):
        parse_nb101(text)
    assert not NB101Space().contains(text)


def test_parse_rejects_non_strings():
    with pytest.raises(ArchitectureError, match="must be a string"):
        parse_nb101(42)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ pruning
def test_pruning_drops_a_vertex_without_a_path_to_the_output():
    matrix = [[0, 1, 1, 0],   # 0 -> 1, 0 -> 2
              [0, 0, 0, 1],   # 1 -> output
              [0, 0, 0, 0],   # 2 is a dead end
              [0, 0, 0, 0]]
    pruned, ops = prune_spec(matrix, [IN, C3, MP, OUT])
    assert pruned.tolist() == CHAIN3
    assert ops == [IN, C3, OUT]


def test_pruning_drops_a_vertex_unreachable_from_the_input():
    matrix = [[0, 0, 1, 0],   # 0 -> 2
              [0, 0, 1, 0],   # 1 has no input, feeds 2
              [0, 0, 0, 1],
              [0, 0, 0, 0]]
    arch = NB101Arch.from_spec(matrix, [IN, C1, MP, OUT])
    assert arch == NB101Arch(((0, 1, 0), (0, 0, 1), (0, 0, 0)), (IN, MP, OUT))


def test_pruning_can_leave_only_input_and_output_and_brings_edge_counts_under_the_limit():
    isolated = np.zeros((7, 7), dtype=int)
    isolated[0, 6] = 1
    isolated[1, 2] = isolated[2, 3] = 1  # a chain hanging off nothing
    assert NB101Arch.from_spec(isolated, [IN, *[C3] * 5, OUT]) == arch_of(SMALLEST)
    raw = np.zeros((7, 7), dtype=int)
    for i, j in itertools.combinations(range(1, 6), 2):
        raw[i, j] = int(i <= 3)  # 9 edges among vertices 1-3 and from them, none reachable from the input
    raw[0, 4] = raw[4, 5] = raw[5, 6] = 1
    assert raw.sum() == 12
    assert NB101Arch.from_spec(raw, [IN, C1, C1, C1, C3, MP, OUT]) == NB101Arch.from_spec(chain(4), [IN, C3, MP, OUT])


def test_validate_rejects_unpruned_or_hand_built_values():
    space = NB101Space()
    unpruned = NB101Arch(((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0), (0, 0, 0, 0)), (IN, C3, MP, OUT))
    with pytest.raises(ArchitectureError, match="1 vertex\\(es\\) not on any input->output path"):
        space.validate(unpruned)
    with pytest.raises(ArchitectureError, match="tuple of tuples"):
        space.validate(NB101Arch([[0, 1], [0, 0]], (IN, OUT)))  # type: ignore[arg-type]
    with pytest.raises(ArchitectureError, match="not an NB101 architecture"):
        space.validate("not an arch")  # type: ignore[arg-type]
    assert not space.contains(unpruned)


# ------------------------------------------------------------------------------ the graph hash
@pytest.mark.parametrize("spec", [FIRST_RECORD, INCEPTION_QUERY, INCEPTION_STORED, SMALLEST])
def test_hash_matches_published_nasbench101_hashes(spec):
    arch = arch_of(spec)
    assert nb101_hash(arch) == spec[2]
    assert NB101Space().canonical(arch) == spec[2]


def random_isomorph(arch: NB101Arch, rng: np.random.Generator) -> NB101Arch:
    """The same cell with its interior vertices renumbered in a random topological order."""
    graph = NB101Space().to_networkx(arch, form="node")
    priority = {v: rng.random() for v in graph}
    priority[0], priority[arch.n_vertices - 1] = -1.0, 2.0
    order = list(nx.lexicographical_topological_sort(graph, key=priority.__getitem__))
    position = {v: k for k, v in enumerate(order)}
    matrix = np.zeros((arch.n_vertices, arch.n_vertices), dtype=int)
    for i, j in arch.edges():
        matrix[position[i], position[j]] = 1
    return NB101Arch.from_spec(matrix, [arch.ops[v] for v in order])


def test_isomorphic_renumberings_share_the_hash_and_relabelled_cells_do_not():
    rng = np.random.default_rng(0)
    renumbered = 0
    for arch in NB101Space(sampling="uniform").sample_many(200, 11):
        twin = random_isomorph(arch, rng)
        renumbered += twin != arch
        assert nb101_hash(twin) == nb101_hash(arch)
        if arch.n_vertices > 2:
            other = NB101_OPS[(NB101_OPS.index(arch.ops[1]) + 1) % 3]  # changes the multiset of ops
            changed = NB101Arch(arch.matrix, (IN, other, *arch.ops[2:]))
            assert nb101_hash(changed) != nb101_hash(arch)
    assert renumbered > 50


# ------------------------------------------------------------------------------ size and enumeration
def test_default_size_is_the_published_count():
    # 423,624 unique cells: Ying et al. (2019); search-phase paper Sec. 3.2 and App. A.2
    assert NB101Space().size == NB101_SIZE == 423_624


@pytest.mark.parametrize(("max_vertices", "size"), [(2, 1), (3, 7), (4, 91), (5, 2_532), (6, 64_542)])
def test_reduced_space_sizes_match_the_search_phase_paper(max_vertices, size):
    # search-phase paper App. D.3, Table 6: n=4 (91), n=5 (2.5K), n=6 (64K), n=7 (423K)
    assert NB101Space(max_vertices=max_vertices).size == size


def brute_force_hashes(max_vertices: int, ops: tuple[str, ...]) -> set[str]:
    """NB101's generate_graphs: every full DAG and labeling up to ``max_vertices``, deduplicated by hash."""
    hashes = set()
    for n in range(2, max_vertices + 1):
        slots = list(itertools.combinations(range(n), 2))
        for bits in itertools.product((0, 1), repeat=len(slots)):
            matrix = np.zeros((n, n), dtype=int)
            for (i, j), bit in zip(slots, bits, strict=True):
                matrix[i, j] = bit
            full = all(matrix[v].any() for v in range(n - 1)) and all(matrix[:, v].any() for v in range(1, n))
            if not full or matrix.sum() > 9:
                continue
            for labels in itertools.product(ops, repeat=n - 2):
                hashes.add(nb101_hash(NB101Arch.from_spec(matrix, [IN, *labels, OUT])))
    return hashes


@pytest.mark.parametrize(("max_vertices", "ops"), [(5, NB101_OPS), (5, (C3, MP)), (4, (C1,))])
def test_enumeration_is_one_cell_per_hash_exactly_as_nb101_generates_them(max_vertices, ops):
    space = NB101Space(max_vertices=max_vertices).restrict(ops)
    archs = list(space.enumerate())
    hashes = [nb101_hash(a) for a in archs]
    assert len(archs) == len(set(hashes)) == space.size
    assert set(hashes) == brute_force_hashes(max_vertices, ops)
    assert all(space.contains(a) for a in archs)
    assert archs == list(space.enumerate())


def test_enumeration_of_six_vertex_space_is_complete_and_unique():
    space = NB101Space(max_vertices=6)
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 64_542
    assert {a.n_vertices for a in archs} == {2, 3, 4, 5, 6}


def test_edge_limit_and_restriction_sizes_are_consistent():
    assert NB101Space(max_edges=1).size == 1  # only input -> output
    assert NB101Space(max_vertices=3, max_edges=2).size == 4  # 1 + the 3 chains
    narrowed = NB101Space(max_vertices=5, max_edges=5)
    assert narrowed.size == len({nb101_hash(a) for a in narrowed.enumerate()}) < NB101Space(max_vertices=5).size
    full = NB101Space()
    assert full.restrict([C3]).size < full.restrict([C3, MP]).size < full.size


def test_bad_space_settings_raise_space_errors():
    with pytest.raises(SpaceError, match="max_vertices"):
        NB101Space(max_vertices=8)
    with pytest.raises(SpaceError, match="max_edges"):
        NB101Space(max_edges=10)
    with pytest.raises(SpaceError, match="unknown op"):
        NB101Space().restrict(["conv5x5"])
    with pytest.raises(SpaceError, match="empty"):
        NB101Space().restrict([])
    with pytest.raises(SpaceError, match="sampling"):
        NB101Space(sampling="gaussian")  # type: ignore[arg-type]


def test_space_limits_and_restricted_ops_are_enforced_by_validate():
    small = NB101Space(max_vertices=5, max_edges=6)
    with pytest.raises(ArchitectureError, match="7 vertices; space 'nb101' allows 5"):
        small.validate(arch_of(FIRST_RECORD))
    seven_edges = np.array(chain(5))
    seven_edges[0, 2] = seven_edges[0, 3] = seven_edges[1, 4] = 1
    with pytest.raises(ArchitectureError, match="7 edges; space 'nb101' allows 6"):
        small.validate(NB101Arch.from_spec(seven_edges, [IN, C3, C3, C3, OUT]))
    with pytest.raises(ArchitectureError, match="op 'maxpool3x3' at vertex 2 is not in space"):
        NB101Space().restrict([C3, C1]).validate(arch_of(FIRST_RECORD))


# ------------------------------------------------------------------------------ sampling
SAMPLE_SCRIPT = (
    "from nasaudit.spaces.nb101 import NB101Space\n"
    "print('\\n'.join(str(a) for a in NB101Space().sample_many(25, 1234)))\n"
)


def test_sampling_is_reproducible_across_processes():
    here = "\n".join(str(a) for a in NB101Space().sample_many(25, 1234))
    there = subprocess.run([sys.executable, "-c", SAMPLE_SCRIPT], capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here
    assert NB101Space().sample(7) == NB101Space().sample(7)
    assert NB101Space().sample_many(25, 1) != NB101Space().sample_many(25, 2)


@pytest.mark.parametrize("space", [NB101Space(), NB101Space(max_vertices=4, max_edges=4),
                                   NB101Space().restrict([C1, MP]),
                                   NB101Space(max_vertices=5, max_edges=6, sampling="uniform")])
def test_samples_are_valid_members(space):
    samples = space.sample_many(300, 5)
    assert len(samples) == 300
    assert all(space.contains(a) for a in samples)
    assert len({a.n_vertices for a in samples}) > 1


def reference_rejection_sample(rng: np.random.Generator) -> NB101Arch:
    """NB101 colab's random_spec, written with networkx: coin-flip upper triangle, prune, reject."""
    while True:
        matrix = np.triu(rng.integers(2, size=(7, 7)), k=1)
        graph = nx.DiGraph(matrix)
        if not nx.has_path(graph, 0, 6):
            continue
        keep = [v for v in range(7) if nx.has_path(graph, 0, v) and nx.has_path(graph, v, 6)]
        if matrix[np.ix_(keep, keep)].sum() <= 9:
            return NB101Arch.from_spec(matrix[np.ix_(keep, keep)], [IN, *[C3] * (len(keep) - 2), OUT])


def test_spec_sampling_follows_nb101s_rejection_distribution():
    ours = np.bincount([a.n_vertices for a in NB101Space().sample_many(3_000, 0)], minlength=8)
    rng = np.random.default_rng(1)
    reference = np.bincount([reference_rejection_sample(rng).n_vertices for _ in range(3_000)], minlength=8)
    assert np.abs(ours / 3_000 - reference / 3_000).max() < 0.04


def test_uniform_sampling_draws_every_cell_equally_often():
    space = NB101Space(max_vertices=4, sampling="uniform")
    hashes = [nb101_hash(a) for a in space.sample_many(9_100, 8)]
    counts = np.unique(hashes, return_counts=True)[1]
    assert len(counts) == space.size == 91
    assert counts.min() > 60 and counts.max() < 140  # 100 expected, about 4 standard deviations
    assert all(space.contains(a) for a in space.sample_many(200, 9))
    uniform7 = NB101Space(sampling="uniform").sample_many(500, 2)
    assert np.mean([a.n_vertices == 7 for a in uniform7]) > 0.7  # 359,082 of 423,624 cells
    assert NB101Space(sampling="uniform").restrict([C3]).sampling == "uniform"


# ------------------------------------------------------------------------------ moves
def test_neighbours_of_the_first_record():
    space = NB101Space()
    arch = arch_of(FIRST_RECORD)
    moves = space.neighbours(arch)
    assert len(moves) == 5 * 2 + 2  # op swaps; 9 edges allow no addition; removable: 0->5 and 2->6
    removed = {tuple(sorted(set(arch.edges()) - set(m.edges()))) for m in moves if m.n_edges == 8}
    assert removed == {((0, 5),), ((2, 6),)}


def test_neighbours_are_valid_one_step_changes_and_symmetric():
    space = NB101Space()
    for arch in space.sample_many(40, 21):
        moves = space.neighbours(arch)
        assert len(moves) == len(set(moves))
        by_position = [m for p in space.positions(arch) for m in space.neighbours(arch, p)]
        assert by_position == moves
        for move in moves:
            assert space.contains(move)
            assert move.n_vertices == arch.n_vertices
            op_changes = sum(a != b for a, b in zip(move.ops, arch.ops, strict=True))
            slot_changes = int(np.abs(move.array() - arch.array()).sum())
            assert op_changes + slot_changes == 1
            assert arch in space.neighbours(move)


def test_neighbours_respect_restriction_and_edge_limit():
    space = NB101Space(max_edges=7).restrict([C3, C1])
    arch = NB101Arch.from_spec(chain(4), [IN, C3, C1, OUT])
    moves = space.neighbours(arch)
    assert all(MP not in m.ops for m in moves)
    additions = [m for m in moves if m.n_edges == 4]
    assert len(additions) == 3  # 0->2, 0->3, 1->3
    assert len(moves) == 2 + 3


def test_bad_position_raises_and_the_dead_end_cell_grows():
    space = NB101Space()
    arch = arch_of(FIRST_RECORD)
    with pytest.raises(ArchitectureError, match="no operation at position"):
        space.neighbours(arch, ("node", 0))
    assert space.neighbours(arch_of(SMALLEST)) == []
    assert len(space.mutate(arch_of(SMALLEST), 0).ops) == len(arch_of(SMALLEST).ops) + 1
    with pytest.raises(SpaceError, match="cannot grow"):
        NB101Space(max_vertices=2).mutate(arch_of(SMALLEST), 0)
    assert space.mutate(arch, 3) == space.mutate(arch, 3)
    assert space.mutate(arch, 3) in space.neighbours(arch)


def test_positions_are_interior_nodes_and_all_slots():
    positions = NB101Space().positions(NB101Arch.from_spec(CHAIN3, [IN, C3, OUT]))
    assert positions == [("node", 1), ("edge", 0, 1), ("edge", 0, 2), ("edge", 1, 2)]


# ------------------------------------------------------------------------------ graphs and encodings
def test_networkx_forms():
    space = NB101Space()
    arch = arch_of(INCEPTION_STORED)
    node = space.to_networkx(arch, form="node")
    assert nx.is_directed_acyclic_graph(node)
    assert [node.nodes[v]["label"] for v in node] == list(arch.ops)
    assert sorted(node.edges) == arch.edges()
    edge = space.to_networkx(arch, form="edge")
    assert all(data["op"] == arch.ops[j] for _, j, data in edge.edges(data=True))
    assert edge.edges[4, 5]["op"] == C3 and edge.edges[5, 6]["op"] == OUT
    with pytest.raises(ArchitectureError, match="graph form"):
        space.to_networkx(arch, form="both")  # type: ignore[arg-type]


def test_one_hot_pads_small_cells_before_the_output():
    space = NB101Space()
    vector = space.one_hot(NB101Arch.from_spec(CHAIN3, [IN, MP, OUT]))
    assert vector.shape == (ONE_HOT_LENGTH,) == (36,)
    slots = list(itertools.combinations(range(7), 2))
    adjacency = {slots[k] for k in np.flatnonzero(vector[:21])}
    assert adjacency == {(0, 1), (1, 6)}
    assert vector[21:].reshape(5, 3).tolist()[0] == [0, 0, 1]
    assert vector[24:].sum() == 0
    full = space.one_hot(arch_of(FIRST_RECORD))
    assert full[:21].sum() == 9 and full[21:].sum() == 5
    assert not np.array_equal(full, space.one_hot(arch_of(INCEPTION_QUERY)))


def test_describe_reports_limits():
    summary = NB101Space(max_vertices=5).describe()
    assert summary == {"name": "nb101", "ops": list(NB101_OPS), "size": 2_532, "max_vertices": 5,
                       "max_edges": 9, "sampling": "spec"}
