"""Published cells and the numbers the papers report for them (used as reference values by tests and the CLI).

Genotypes as released with DARTS (``genotypes.py``: NASNet, AmoebaNet, DARTS_V2), SNAS (mild constraint),
ENAS, BANANAS and DrNAS. DARTS_PT is ``darts_pt_s5_3`` of the DARTS-PT release (Wang et al., 2021,
github.com/ruocwang/darts-pt ``sota/cnn/genotypes.py``, DARTS space); NoisyDARTS is ``noisy_darts_a`` of
the NoisyDARTS release (Chu et al., 2020, github.com/xiaomi-automl/NoisyDARTS ``genotypes.py``). The
redundancy paper (App. E, Figs. 21-22) draws these cells without naming the release variable. DARTS_PT
is the one of the four DARTS-space cells of its release whose PrimSkip edit distance is Table 2a's 2 (the
others give 3, 4 and 5) and whose op counts match Fig. 22; NoisyDARTS is its release's first cell
(Gaussian additive noise, sigma 0.2), whose op counts match Fig. 21 and whose edit distance is Table 2a's 4.
``REPORTED_SHAPES``: (width in c, depth) of the normal cells, architectures paper
Fig. 1. ``REPORTED_EDIT_DISTANCES``: redundancy paper Table 2a.
"""

from __future__ import annotations

from nasaudit.errors import ArchitectureError
from nasaudit.spaces.darts import DartsGenotype, parse_genotype

_GENOTYPES: dict[str, str] = {
    "NASNet": "Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), "
              "('sep_conv_3x3', 0), ('avg_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 0), "
              "('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5, 6], "
              "reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0), ('max_pool_3x3', 1), ('sep_conv_7x7', 0), "
              "('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('skip_connect', 3), ('avg_pool_3x3', 2), "
              "('sep_conv_3x3', 2), ('max_pool_3x3', 1)], reduce_concat=[4, 5, 6])",
    "AmoebaNet": "Genotype(normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), "
                 "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), "
                 "('skip_connect', 1), ('skip_connect', 0), ('avg_pool_3x3', 1)], normal_concat=[4, 5, 6], "
                 "reduce=[('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_7x7', 2), "
                 "('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), "
                 "('conv_7x1_1x7', 0), ('sep_conv_3x3', 5)], reduce_concat=[3, 4, 6])",
    "ENAS": "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 1), ('sep_conv_5x5', 1), ('skip_connect', 0), "
            "('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('avg_pool_3x3', 1), "
            "('sep_conv_5x5', 1), ('avg_pool_3x3', 0)], normal_concat=[2, 3, 4, 5, 6], "
            "reduce=[('sep_conv_5x5', 0), ('avg_pool_3x3', 1), ('sep_conv_3x3', 1), ('avg_pool_3x3', 1), "
            "('avg_pool_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_5x5', 4), ('avg_pool_3x3', 1), "
            "('sep_conv_3x3', 5), ('sep_conv_5x5', 0)], reduce_concat=[2, 3, 6])",
    "DARTS_V2": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
                "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
    "SNAS": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('dil_conv_3x3', 1), "
            "('skip_connect', 1), ('skip_connect', 0), ('skip_connect', 0), ('sep_conv_3x3', 1)], "
            "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 1), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('dil_conv_5x5', 2)], reduce_concat=range(2, 6))",
    "BANANAS": "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_5x5', 2), ('sep_conv_5x5', 0), "
               "('skip_connect', 0), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
               "normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', 1), ('max_pool_3x3', 0), "
               "('max_pool_3x3', 0), ('sep_conv_3x3', 1), ('dil_conv_3x3', 2), ('sep_conv_5x5', 3), "
               "('sep_conv_5x5', 4), ('sep_conv_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
    "DrNAS": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), "
             "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('dil_conv_5x5', 3)], "
             "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2), "
             "('max_pool_3x3', 0), ('dil_conv_5x5', 3), ('dil_conv_5x5', 2), ('dil_conv_5x5', 3), "
             "('sep_conv_5x5', 4)], reduce_concat=range(2, 6))",
    "DARTS_PT": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 2), ('sep_conv_3x3', 1), "
                "('skip_connect', 3)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), "
                "('sep_conv_5x5', 1), ('max_pool_3x3', 1), ('skip_connect', 2), ('dil_conv_5x5', 1), "
                "('max_pool_3x3', 3), ('sep_conv_5x5', 2), ('skip_connect', 3)], reduce_concat=range(2, 6))",
    "NoisyDARTS": "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
                  "('dil_conv_3x3', 2), ('dil_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4), "
                  "('dil_conv_3x3', 3)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
                  "('dil_conv_5x5', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('skip_connect', 2), "
                  "('skip_connect', 3), ('skip_connect', 2), ('dil_conv_5x5', 4)], reduce_concat=range(2, 6))",
}

#: (width in units of c, depth) of the normal cells, architectures paper Sec. 3.2 / Fig. 1
REPORTED_SHAPES: dict[str, tuple[float, int]] = {
    "NASNet": (5.0, 2), "AmoebaNet": (4.0, 4), "ENAS": (5.0, 2), "DARTS_V2": (3.5, 3), "SNAS": (4.0, 2),
}
#: edit distance to PrimSkip compliance, redundancy paper Table 2a
REPORTED_EDIT_DISTANCES: dict[str, int] = {"DARTS_V2": 1, "BANANAS": 1, "DrNAS": 1, "DARTS_PT": 2, "NoisyDARTS": 4}


def published_genotype(name: str) -> DartsGenotype:
    """A published genotype by name (architectures paper Fig. 1, redundancy paper Table 2a)."""
    if name not in _GENOTYPES:
        raise ArchitectureError(f"no published genotype {name!r}; known: {published_names()}")
    return parse_genotype(_GENOTYPES[name])


def published_names() -> list[str]:
    """Names of the published genotypes shipped here (see ``published_genotype``)."""
    return list(_GENOTYPES)
