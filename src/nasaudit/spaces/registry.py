"""Search spaces registered by name, in the style of a model registry (``get_space("nb201")``)."""

from __future__ import annotations

from collections.abc import Callable

from nasaudit.errors import SpaceError
from nasaudit.registry import Registry
from nasaudit.spaces.base import SearchSpace


def space_contract(name: str, entry: object) -> str | None:
    """Why ``entry`` cannot be the space ``name`` (a zero-argument factory: a SearchSpace class or function)."""
    return None if callable(entry) else f"expected a zero-argument factory of a SearchSpace, got {entry!r}"


SPACES: Registry[Callable[[], SearchSpace]] = Registry("search space", SpaceError, check=space_contract)


def register_space(name: str, description: str) -> Callable[[Callable[[], SearchSpace]], Callable[[], SearchSpace]]:
    """Decorator: register a zero-argument factory under ``name``."""
    return SPACES.register(name, description)


def get_space(name: str) -> SearchSpace:
    """A fresh instance of the registered space ``name``."""
    return SPACES.get(name)()


def list_spaces() -> list[str]:
    """Names of all registered spaces, sorted."""
    from nasaudit.plugins import load_installed

    load_installed()  # installed plugins' names too (loaded once per process)
    return SPACES.names()


def space_description(name: str) -> str:
    """One-line description of a registered space."""
    return SPACES.describe(name)
