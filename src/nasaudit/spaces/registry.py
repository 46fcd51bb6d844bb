"""Search spaces registered by name, in the style of a model registry (``get_space("nb201")``)."""

from __future__ import annotations

from collections.abc import Callable

from nasaudit.errors import SpaceError
from nasaudit.spaces.base import SearchSpace

_FACTORIES: dict[str, tuple[Callable[[], SearchSpace], str]] = {}


def register_space(name: str, description: str) -> Callable[[Callable[[], SearchSpace]], Callable[[], SearchSpace]]:
    """Decorator: register a zero-argument factory under ``name``."""

    def decorate(factory: Callable[[], SearchSpace]) -> Callable[[], SearchSpace]:
        if name in _FACTORIES:
            raise SpaceError(f"search space {name!r} is already registered")
        _FACTORIES[name] = (factory, description)
        return factory

    return decorate


def get_space(name: str) -> SearchSpace:
    """A fresh instance of the registered space ``name``."""
    try:
        factory, _ = _FACTORIES[name]
    except KeyError:
        raise SpaceError(f"unknown search space {name!r}; known: {', '.join(list_spaces())}") from None
    return factory()


def list_spaces() -> list[str]:
    """Names of all registered spaces, sorted."""
    return sorted(_FACTORIES)


def space_description(name: str) -> str:
    """One-line description of a registered space."""
    get_space(name)  # raises the clear error for unknown names
    return _FACTORIES[name][1]
