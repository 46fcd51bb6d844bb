"""The error types users see. Each names what is wrong in words, never a deep traceback."""

from __future__ import annotations


class NasauditError(Exception):
    """Base class of every error nasaudit raises on purpose (bad input, bad config, missing data)."""


class ArchitectureError(NasauditError, ValueError):
    """A malformed or invalid architecture: bad string, unknown op, wrong wiring, not in the space."""


class SpaceError(NasauditError, ValueError):
    """A search-space request that cannot be honoured (unknown space, refused enumeration, bad restriction)."""


class DataError(NasauditError, ValueError):
    """A missing, corrupt or inconsistent data file (benchmark table, dataset, store)."""


class ConfigError(NasauditError, ValueError):
    """An invalid configuration or experiment spec."""


class TrainingError(NasauditError, RuntimeError):
    """A training run that cannot continue, e.g. a NaN or infinite loss."""


class ResultWarning(UserWarning):
    """A result that stands but deserves a caveat (e.g. a test on nearly identical samples); the audit's
    runner turns each one into a note of the section it arose in."""
