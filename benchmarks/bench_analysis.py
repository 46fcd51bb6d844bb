"""Time the search-space analyses on the real NB201 table and print their headline numbers.

Per dataset (CIFAR-10, CIFAR-100, ImageNet16-120): operation importance of the top 5% (one batched
evaluate), op usage over all N and masks, the PrimSkip study (50 per group) with where the optimum
falls, frequent subgraph mining of the top-5% important subgraphs (goal: under a minute), and a
surrogate fit on 200 random architectures (held-out Spearman on 200 fresh ones, OI agreement with the
table). Then cell width/depth of the published cells.

Usage: python benchmarks/bench_analysis.py [path/to/nats_tss_test_acc_200ep.csv] [--model gbt|ensemble]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasaudit.analysis.cell_shape import shape_table
from nasaudit.analysis.importance import importance_agreement, operation_importance
from nasaudit.analysis.op_usage import op_usage
from nasaudit.analysis.primskip import optimum_vs_groups, primskip_study
from nasaudit.analysis.published import REPORTED_SHAPES, published_genotype
from nasaudit.analysis.ranking import top_fraction
from nasaudit.analysis.subgraphs import important_subgraphs, mine_frequent_subgraphs
from nasaudit.truth.surrogate import SurrogateBenchmark, holdout_spearman
from nasaudit.truth.tabular import TabularBenchmark

DEFAULT_TABLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201" / "nats_tss_test_acc_200ep.csv"
DATASETS = ("cifar10", "cifar100", "imagenet16-120")


def timed(label: str, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    result = work(*args, **kwargs)
    print(f"  {label:<34} {time.perf_counter() - started:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("table", nargs="?", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--model", default="gbt", choices=["gbt", "ensemble"])
    args = parser.parse_args()

    bench = timed("load table", TabularBenchmark.from_file, args.table)
    for dataset in DATASETS:
        print(f"{dataset} (test accuracy stands in for validation accuracy)")
        truth = bench.evaluator("test_acc", dataset)
        scores = bench.scores("test_acc", dataset)
        archs, _ = top_fraction(bench.archs(), scores, 0.05)
        oi = timed(f"OI of top 5% ({len(archs)} archs)", operation_importance, truth, archs, units="percent")
        usage = timed("op usage (all N, 5 masks)", op_usage, bench.space, bench.archs(), scores)
        study = timed("PrimSkip study (4 x 50)", primskip_study, truth, n_per_group=50, seed=0)
        located = timed("optimum vs groups", optimum_vs_groups, bench.space, bench.archs(), scores, study)
        graphs = timed("important subgraphs", important_subgraphs, bench.space, oi)
        mined = timed("subgraph mining (min support 0.05)", mine_frequent_subgraphs, *graphs, seed=0)
        surrogate = timed(f"surrogate fit, 200 archs ({args.model})", SurrogateBenchmark.from_samples, truth,
                          n=200, seed=0, model=args.model)
        spearman = holdout_spearman(surrogate, truth, n=200, seed=1)
        oi_surrogate = timed("OI through the surrogate", operation_importance, surrogate, archs, units="percent")
        agreement = importance_agreement(oi, oi_surrogate)
        primskip = located.set_index("group").loc["primskip"]
        conv3 = usage[(usage["mask"] == "{}") & (usage["op"] == "nor_conv_3x3") & (usage["top_n"] == 500)]
        print(f"  -> {int(oi['important'].sum())}/{len(oi)} important operations; "
              f"top-500 using nor_conv_3x3: {conv3['usage'].iloc[0]:.2f}")
        print(f"  -> optimum {primskip['optimum_score']:.2f} in PrimSkip group: {primskip['optimum_in_group']}; "
              f"PrimSkip samples mean {primskip['sampled_mean']:.2f}, best {primskip['sampled_best']:.2f}")
        print(f"  -> {len(mined)} frequent subgraphs; top: {mined.iloc[0]['pattern']} "
              f"(support {mined.iloc[0]['support']:.3f}, ratio {mined.iloc[0]['ratio']:.2f})")
        print(f"  -> surrogate held-out Spearman {spearman:.3f}; OI vs table Spearman {agreement['spearman']:.3f}, "
              f"Pearson {agreement['pearson']:.3f}, important-flag agreement {agreement['important_agreement']:.3f}")
    shapes = shape_table({name: published_genotype(name) for name in REPORTED_SHAPES})
    shapes["reported"] = [REPORTED_SHAPES[name] for name in shapes["name"]]
    print(shapes[["name", "width", "depth", "reported"]].to_string(index=False))


if __name__ == "__main__":
    main()
