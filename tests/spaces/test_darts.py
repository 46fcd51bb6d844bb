"""DARTS space: published genotypes, exact size, wiring rules, moves, variants S1-S4."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.spaces import DartsCell, DartsSpace, darts_variant, get_space, parse_genotype

# Published genotypes, verbatim as their authors' repositories print them.
DARTS_V1 = (  # DARTS (Liu et al., 2019), first order; quark0/darts cnn/genotypes.py
    "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
    "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"
)
DARTS_V2 = (  # DARTS second order, the 2.76% / 3.3M CIFAR-10 cell
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
PC_DARTS = """Genotype(
    normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0),
            ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6),
    reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0),
            ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))"""
PDARTS = (
    "Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0),('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3',0), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), "
    "reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), "
    "('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))"
)
NESTED_V2 = """genotypes.Genotype(
    normal=[[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], [('sep_conv_3x3', 0), ('sep_conv_3x3', 1)],
            [('sep_conv_3x3', 1), ('skip_connect', 0)], [('skip_connect', 0), ('dil_conv_3x3', 2)]],
    normal_concat=[2, 3, 4, 5],
    reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)], [('skip_connect', 2), ('max_pool_3x3', 1)],
            [('max_pool_3x3', 0), ('skip_connect', 2)], [('skip_connect', 2), ('max_pool_3x3', 1)]],
    reduce_concat=[2, 3, 4, 5])"""
PUBLISHED = [DARTS_V1, DARTS_V2, PC_DARTS, PDARTS, NESTED_V2]


def test_exact_size():
    space = get_space("darts")
    per_cell = 1 * 3 * 6 * 10 * 7**8  # C(2,2) C(3,2) C(4,2) C(5,2) input pairs, 7 ops on each of 8 edges
    assert space.cell_count("normal") == per_cell == 1_037_664_180
    assert space.size == per_cell**2


def test_exact_size_matches_brute_force_on_a_small_space():
    space = DartsSpace(ops=["skip_connect", "sep_conv_3x3"], n_nodes=2)
    cells = list(space.enumerate_cells("normal"))
    assert len(cells) == len(set(cells)) == space.cell_count("normal") == 1 * 4 * 3 * 4
    all_cells = set()
    for pair2, pair3 in itertools.product(itertools.product(range(2), repeat=2), itertools.product(range(3), repeat=2)):
        for ops in itertools.product(space.ops, repeat=4):
            cell = DartsCell(((ops[0], pair2[0]), (ops[1], pair2[1]), (ops[2], pair3[0]), (ops[3], pair3[1])), (2, 3))
            if space.contains(parse_genotype(str(_pair(cell)))):
                all_cells.add(cell.sorted())
    assert len(all_cells) == space.cell_count("normal")


def _pair(cell):
    from nasaudit.spaces import DartsGenotype

    return DartsGenotype(cell, cell)


@pytest.mark.parametrize("text", PUBLISHED)
def test_published_genotypes_parse_validate_and_round_trip(text):
    space = get_space("darts")
    arch = space.parse(text)
    space.validate(arch)
    printed = str(arch)
    assert space.parse(printed) == arch
    assert str(space.parse(printed)) == printed


def test_canonical_print_is_byte_identical():
    assert str(parse_genotype(DARTS_V2)) == DARTS_V2
    assert str(parse_genotype(DARTS_V1)) == DARTS_V1


def test_nested_and_flat_forms_are_the_same_genotype():
    space = get_space("darts")
    assert space.canonical(parse_genotype(NESTED_V2)) == space.canonical(parse_genotype(DARTS_V2))
    assert parse_genotype(NESTED_V2).normal.sorted() == parse_genotype(DARTS_V2).normal.sorted()


def _edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (_edit(DARTS_V2, "('dil_conv_3x3', 2)", "('conv_9x9', 2)"), "unknown op 'conv_9x9'"),
        (_edit(DARTS_V2, ", ('dil_conv_3x3', 2)]", "]"), "7 edges"),
        (_edit(DARTS_V2, "('dil_conv_3x3', 2)], normal", "('dil_conv_3x3', 2), ('sep_conv_3x3', 0), "
                                                           "('sep_conv_3x3', 1)], normal"), "10 edges"),
        (_edit(DARTS_V2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "self-loop"),
        (_edit(DARTS_V2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', 7)"), "cycle"),
        (_edit(DARTS_V2, "('skip_connect', 0), ('dil_conv_3x3', 2)", "('skip_connect', 2), ('dil_conv_3x3', 2)"),
         "inputs must differ"),
        (_edit(DARTS_V2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', -1)"), "negative"),
        (_edit(DARTS_V2, "normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]"), "concatenates"),
        (DARTS_V2[:-20], "not valid Genotype"),
        ("Genotype(normal=[], normal_concat=[2, 3, 4, 5])", "missing field"),
        ("Genome(normal=[])", "must be a call 'Genotype"),
        (_edit(DARTS_V2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', '2')"), "pair"),
        (_edit(DARTS_V2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', 2, 3)"), "pair"),
        (_edit(DARTS_V2, "reduce_concat", "reduce_kontakt"), "unknown Genotype field"),
        (_edit(DARTS_V2, "normal_concat=[2, 3, 4, 5]", "normal_concat=__import__('os')"), "normal_concat"),
        ("", "not valid Genotype"),
    ],
)
def test_malformed_genotypes_raise_one_clear_error(text, fragment):
    with pytest.raises(ArchitectureError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        get_space("darts").coerce(text)


def test_whitespace_variants_parse_to_the_same_genotype():
    spaced = DARTS_V2.replace(", ", " ,\n   ").replace("(", "( ")
    assert parse_genotype(spaced) == parse_genotype(DARTS_V2)


def test_sampling_is_valid_reproducible_and_sorted():
    space = get_space("darts")
    samples = space.sample_many(200, 7)
    assert samples == space.sample_many(200, 7)
    assert samples != space.sample_many(200, 8)
    for arch in samples:
        space.validate(arch)
    # uniform over input pairs: node 5 sees all 10 pairs of its 5 possible inputs
    pairs = {tuple(src for _, src in a.normal.edges[6:8]) for a in samples}
    assert len(pairs) == 10


def test_neighbours_swap_primitives_and_rewire_inputs_within_constraints():
    space = get_space("darts")
    arch = parse_genotype(DARTS_V2)
    position = ("normal", 7)  # ('dil_conv_3x3', 2) into node 5, whose other edge comes from node 0
    moves = space.neighbours(arch, position)
    swaps = [m for m in moves if m.normal.edges[7][1] == 2]
    rewires = [m for m in moves if m.normal.edges[7][1] != 2]
    assert {m.normal.edges[7][0] for m in swaps} == set(space.ops) - {"dil_conv_3x3"}
    assert sorted(m.normal.edges[7][1] for m in rewires) == [1, 3, 4]  # not 0 (taken), not 2 (current)
    assert all(m.normal.edges[7][0] == "dil_conv_3x3" for m in rewires)
    for m in moves:
        space.validate(m)
        assert m.reduce == arch.reduce
    assert len(space.neighbours(arch)) == sum(len(space.neighbours(arch, p)) for p in space.positions(arch))
    with pytest.raises(ArchitectureError, match="position"):
        space.neighbours(arch, ("normal", 8))


def test_canonical_key_ignores_edge_order_and_concat_order():
    space = get_space("darts")
    arch = parse_genotype(DARTS_V2)
    swapped = parse_genotype(DARTS_V2.replace("('sep_conv_3x3', 1), ('skip_connect', 0)",
                                              "('skip_connect', 0), ('sep_conv_3x3', 1)"))
    assert swapped != arch
    assert space.canonical(swapped) == space.canonical(arch)
    assert space.canonical(arch) != space.canonical(parse_genotype(DARTS_V1))


def test_canonical_key_treats_reduction_skips_as_strided_ops():
    space = get_space("darts")
    base = parse_genotype(DARTS_V2)
    # in a normal cell skip(0) is the identity, so skip(0)+skip(1) equals in0+in1 written either way
    normal_key = space.canonical(base).split(";")[0]
    assert "in0" in normal_key
    reduce_key = space.canonical(base).split(";")[1]
    assert "max_pool_3x3/2(in0)" in reduce_key


def test_graph_forms():
    space = get_space("darts")
    arch = parse_genotype(DARTS_V2)
    graph = space.to_networkx(arch, "edge", cell="normal")
    assert graph.number_of_nodes() == 7
    assert graph.number_of_edges() == 8 + 4
    assert graph.edges[2, 5]["op"] == "dil_conv_3x3"
    node_graph = space.to_networkx(arch, "node", cell="reduce")
    assert nx.is_directed_acyclic_graph(node_graph)
    labels = [d["label"] for _, d in node_graph.nodes(data=True)]
    assert labels.count("input") == 2 and labels.count("output") == 1 and labels.count("max_pool_3x3") == 5 and labels.count("skip_connect") == 3


def test_one_hot_shape():
    space = get_space("darts")
    vec = space.one_hot(parse_genotype(DARTS_V2))
    assert vec.shape == (2 * 14 * 7,) and vec.sum() == 16


def test_enumeration_refused_for_the_full_space_but_works_when_small():
    with pytest.raises(SpaceError, match="enumeration limit"):
        get_space("darts").enumerate()
    small = DartsSpace(ops=["sep_conv_3x3"], n_nodes=2)
    archs = list(small.enumerate())
    assert len(archs) == small.size == (1 * 3) ** 2


def test_restrict_and_custom_spaces():
    space = get_space("darts").restrict(["sep_conv_3x3", "skip_connect"])
    assert space.ops == ("sep_conv_3x3", "skip_connect")
    assert space.cell_count() == 180 * 2**8
    custom = DartsSpace(ops=["sep_conv_3x3", "skip_connect", "avg_pool_3x3"], n_nodes=5, name="darts5")
    arch = custom.sample(0)
    custom.validate(arch)
    assert len(arch.normal.edges) == 10 and arch.normal.concat == (2, 3, 4, 5, 6)
    assert not get_space("darts").contains(arch)
    with pytest.raises(SpaceError, match="unknown op"):
        DartsSpace(ops=["sep_conv_3x3", "warp_drive"])
    with pytest.raises(SpaceError, match="at least one"):
        DartsSpace(n_nodes=0)


@pytest.mark.parametrize("name", ["darts_s1", "darts_s2", "darts_s3", "darts_s4"])
def test_variant_spaces(name):
    space = get_space(name)
    arch = space.sample(0)
    space.validate(arch)
    assert "none" not in space.ops
    if name == "darts_s1":
        # per-edge op sets: the edge 0 -> node 2 of the normal cell offers skip_connect or dil_conv_3x3
        assert space.selectable("normal", 0, 0) == ("skip_connect", "dil_conv_3x3")
    else:
        assert space.cell_count("normal") == 180 * 2**8
    if name == "darts_s4":
        assert "noise" in space.ops
    if name == "darts_s3":
        assert "none" in space.candidate_ops["normal"][0]


def test_s1_rejects_ops_outside_an_edges_pair():
    space = darts_variant("s1")
    arch = space.sample(1)
    bad = arch.normal.edges[0][1]
    text = str(arch).replace(f"('{arch.normal.edges[0][0]}', {bad})", f"('avg_pool_3x3', {bad})", 1)
    with pytest.raises(ArchitectureError, match="allowed there"):
        space.coerce(text)
    with pytest.raises(SpaceError, match="unknown DARTS variant"):
        darts_variant("s9")
