"""Search spaces: architecture value types, registry, constraints and encodings."""

import functools

from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import DARTS_OPS, DartsCell, DartsGenotype, DartsSpace, darts_variant, parse_genotype
from nasaudit.spaces.nb101 import NB101_OPS, NB101Arch, NB101Space, nb101_hash, parse_nb101
from nasaudit.spaces.nb201 import NB201_OPS, NB201Arch, NB201Space, parse_nb201
from nasaudit.spaces.registry import get_space, list_spaces, register_space, space_description
from nasaudit.spaces.rnn import RNN_OPS, RNNGenotype, RNNSpace, parse_rnn_genotype, rnn_3node, rnn_reduced

register_space("nb201", "NAS-Bench-201 cell: 4 nodes, 6 edges, 5 ops (15,625 cells)")(NB201Space)
register_space("nb101", "NAS-Bench-101 cell: <=7 vertices, <=9 edges, 3 ops (423,624 unique cells)")(NB101Space)
register_space("darts", "DARTS normal+reduce cells: 4 intermediate nodes, 2 inputs each, 7 ops")(DartsSpace)
for _variant in ("s1", "s2", "s3", "s4"):
    register_space(
        f"darts_{_variant}",
        f"DARTS variant space {_variant.upper()} of Zela et al. (selection paper App. A.2)",
    )(functools.partial(darts_variant, _variant))
register_space("rnn", "ENAS/DARTS recurrent cell: 8 nodes, each 1 of 4 activations and 1 predecessor")(RNNSpace)
register_space("rnn_reduced", "search-phase paper's reduced RNN cell: 2 nodes, 4 activations (32)")(rnn_reduced)
register_space("rnn_3node", "search-phase paper's App. D.1 RNN cell: 3 nodes, 4 activations (384)")(rnn_3node)

__all__ = [
    "DARTS_OPS",
    "NB101_OPS",
    "NB201_OPS",
    "RNN_OPS",
    "DartsCell",
    "DartsGenotype",
    "DartsSpace",
    "NB101Arch",
    "NB101Space",
    "NB201Arch",
    "NB201Space",
    "RNNGenotype",
    "RNNSpace",
    "SearchSpace",
    "darts_variant",
    "get_space",
    "list_spaces",
    "nb101_hash",
    "parse_genotype",
    "parse_nb101",
    "parse_nb201",
    "parse_rnn_genotype",
    "register_space",
    "rnn_3node",
    "rnn_reduced",
    "space_description",
]
