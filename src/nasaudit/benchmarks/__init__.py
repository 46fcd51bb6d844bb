"""Ground truth: benchmarks that answer ``query(archs, metric, dataset)`` and act as evaluators."""

from nasaudit.benchmarks.official import load_official
from nasaudit.benchmarks.surrogate import SurrogateBenchmark
from nasaudit.benchmarks.tabular import TabularBenchmark, TabularEvaluator

__all__ = ["SurrogateBenchmark", "TabularBenchmark", "TabularEvaluator", "load_official"]
