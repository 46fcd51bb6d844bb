"""Ground truth: benchmarks that answer ``query(archs, metric, dataset)`` and act as evaluators."""

from nasaudit.benchmarks.official import load_official
from nasaudit.benchmarks.tabular import TabularBenchmark, TabularEvaluator

__all__ = ["TabularBenchmark", "TabularEvaluator", "load_official"]
