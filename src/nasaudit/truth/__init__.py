"""Ground truth: benchmarks that answer ``query(archs, metric, dataset)`` and act as evaluators."""

from nasaudit.truth.official import load_official
from nasaudit.truth.surrogate import SurrogateBenchmark
from nasaudit.truth.tabular import TabularBenchmark, TabularEvaluator

__all__ = ["SurrogateBenchmark", "TabularBenchmark", "TabularEvaluator", "load_official"]
