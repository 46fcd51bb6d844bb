"""Published cells and the numbers the papers report for them (used as reference values by tests and the CLI).

Genotypes as released with DARTS (``genotypes.py``: NASNet, AmoebaNet, DARTS_V2), SNAS (mild constraint),
ENAS, BANANAS and DrNAS. DARTS_PT is ``darts_pt_s5_3`` of the DARTS-PT release (Wang et al., 2021,
github.com/ruocwang/darts-pt ``sota/cnn/genotypes.py`` at a5393d5c9731a6eff0bc379f3153bf24a2ab8ec5, DARTS
space); NoisyDARTS is ``noisy_darts_a`` of the NoisyDARTS release (Chu et al., 2020,
github.com/xiaomi-automl/NoisyDARTS ``genotypes.py`` at 9885bdf94e98d4eb2c811018d0ff1240ffdec771). The
redundancy paper (App. E, Figs. 19-24) draws these cells without naming the release variable. DARTS_PT
is the one of the four DARTS-space cells of its release whose PrimSkip edit distance is Table 2a's 2 (the
others give 3, 4 and 5) and whose op counts match Fig. 22; NoisyDARTS is its release's first cell
(Gaussian additive noise, sigma 0.2), whose op counts match Fig. 21 and whose edit distance is Table 2a's 4.

GAEA cells (Li et al., 2021, GAEA PC-DARTS), released by the GAEA authors in github.com/determined-ai/determined:
GAEA is the cell searched on ImageNet, the genotype of ``examples/nas/gaea_pytorch/eval/model_def.py``
(``GAEAEvalTrial.build_model_from_config``, at 015903fced1aec196fbb3e22fe2853b46a35af73, whose README calls
it "the best architecture found for ImageNet from our paper"), equal to ``pcdartseedartsimagenet156`` of
``examples/experimental/trial/gaea_nas/genotypes.py`` (at ea939dbeb1150f93b001ae3c33ced5bdee6b6757);
GAEA_C10 is the cell searched on CIFAR-10, ``pcdartseedartscifar103103`` of that file. Their mobile-setting
ImageNet networks have Table 2b's 5.6M (GAEA(ImageNet)) and 5.3M (GAEA(C10)) parameters. The redundancy
paper's "GAEA" (Table 2a, Fig. 19) is the ImageNet cell: it is the one of the two that is already
PrimSkip-compliant (Sec. 4: edit distance 0; GAEA_C10 needs 2 edits), and its reduce cell's only
operations outside {s3, s5, skip} are the two max_pool_3x3 and one dil_conv_5x5 that Fig. 19 shows.

Not shipped, for want of an exact released genotype: NAS-BOWL (Ru et al., 2021; Fig. 20, Table 2a edit
distance 2) and the DARTS-PT release's SDARTS-RS+PT and SGAS+PT cells (Figs. 23-24, Table 2a edit distances
4 and 3), which its ``genotypes.py`` does not contain.
``REPORTED_SHAPES``: (width in c, depth) of the normal cells, architectures paper
Fig. 1. ``REPORTED_EDIT_DISTANCES``: redundancy paper Table 2a. ``REPORTED_IMAGENET_PARAMS``: redundancy
paper Table 2b (millions of parameters of the ImageNet network, taken there from the original papers).
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
    "GAEA": "Genotype(normal=[('skip_connect', 1), ('skip_connect', 0), ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), "
            "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_5x5', 3), ('sep_conv_5x5', 2)], "
            "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 1), "
            "('dil_conv_5x5', 2), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_5x5', 1), "
            "('max_pool_3x3', 2)], reduce_concat=range(2, 6))",
    "GAEA_C10": "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 2), "
                "('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('sep_conv_3x3', 0), ('dil_conv_3x3', 4)], "
                "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_5x5', 0), "
                "('sep_conv_5x5', 2), ('dil_conv_3x3', 3), ('sep_conv_5x5', 2), ('sep_conv_5x5', 4), "
                "('sep_conv_3x3', 1)], reduce_concat=range(2, 6))",
}

#: (width in units of c, depth) of the normal cells, architectures paper Sec. 3.2 / Fig. 1
REPORTED_SHAPES: dict[str, tuple[float, int]] = {
    "NASNet": (5.0, 2), "AmoebaNet": (4.0, 4), "ENAS": (5.0, 2), "DARTS_V2": (3.5, 3), "SNAS": (4.0, 2),
}
#: edit distance to PrimSkip compliance, redundancy paper Table 2a
REPORTED_EDIT_DISTANCES: dict[str, int] = {"DARTS_V2": 1, "BANANAS": 1, "DrNAS": 1, "GAEA": 0, "DARTS_PT": 2,
                                           "NoisyDARTS": 4}
#: millions of parameters of the mobile-setting ImageNet network (C=48, 14 cells), redundancy paper Table 2b; its
#: SNAS row (4.3) does not match the shipped mild-constraint cell (3.9) and its DrNAS row is a cell searched on ImageNet
REPORTED_IMAGENET_PARAMS: dict[str, float] = {"DARTS_V2": 4.7, "GAEA_C10": 5.3, "GAEA": 5.6}


def published_genotype(name: str) -> DartsGenotype:
    """A published genotype by name (architectures paper Fig. 1, redundancy paper Table 2a)."""
    if name not in _GENOTYPES:
        raise ArchitectureError(f"no published genotype {name!r}; known: {published_names()}")
    return parse_genotype(_GENOTYPES[name])


def published_names() -> list[str]:
    """Names of the published genotypes shipped here (see ``published_genotype``)."""
    return list(_GENOTYPES)
