"""Files shipped inside the package: the embedded mini-benchmark and the default audit spec."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nasaudit.errors import DataError

EMBEDDED_BENCHMARK = "nb201_digits_mini.csv"
DEFAULT_SPEC = "default_audit.yaml"


def _resource(name: str) -> Path:
    path = Path(str(resources.files(__name__).joinpath(name)))
    if not path.is_file():
        raise DataError(f"packaged file {name} is missing from {path.parent}; reinstall nasaudit")
    return path


def embedded_benchmark_path() -> Path:
    """The embedded mini-benchmark: NB201 cells trained on scikit-learn's digits (see its .meta.json)."""
    return _resource(EMBEDDED_BENCHMARK)


def table_path(value: str | Path) -> Path:
    """A benchmark table given by path, or ``"embedded"`` for the shipped mini-benchmark."""
    return embedded_benchmark_path() if str(value) == "embedded" else Path(value)


def default_spec_path() -> Path:
    """The spec ``nasaudit run`` runs when given none."""
    return _resource(DEFAULT_SPEC)
