"""One registry helper for every named thing a user picks: spaces, strategies, protocols, datasets, executors,
evaluator kinds and studies.

``Registry("strategy")`` holds name -> entry; ``register`` is a decorator placed beside the definition (as
timm registers models); ``get`` raises the kind's error type with a did-you-mean suggestion for an unknown
name. Names are resolved to objects at the edges (CLI, spec) through these registries; inside, objects.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nasaudit.errors import ConfigError, NasauditError

T = TypeVar("T")


def unknown_name_message(what: str, name: object, known: list[str]) -> str:
    """``unknown strategy 'evolutoin' (did you mean 'evolution'?); known: ...`` (one line)."""
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {name!r}{hint}; known: {', '.join(known) or 'none'}"


class Registry(Generic[T]):
    """Named entries of one kind, in registration order; ``error`` is the exception type for unknown names."""

    def __init__(self, what: str, error: type[NasauditError] = ConfigError) -> None:
        self.what = what
        self.error = error
        self._entries: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}

    def add(self, name: str, entry: T, description: str = "") -> T:
        """Register ``entry`` under ``name`` (a name registers once)."""
        if name in self._entries:
            raise self.error(f"{self.what} {name!r} is already registered")
        self._entries[name] = entry
        self._descriptions[name] = description
        return entry

    def register(self, name: str, description: str = "") -> Callable[[T], T]:
        """Decorator form of ``add``."""

        def decorate(entry: T) -> T:
            return self.add(name, entry, description)

        return decorate

    def get(self, name: str) -> T:
        """The entry ``name``; an unknown name raises the registry's error with a suggestion."""
        if not isinstance(name, str) or name not in self._entries:
            raise self.error(unknown_name_message(self.what, name, self.names()))
        return self._entries[name]

    def describe(self, name: str) -> str:
        """The one-line description given at registration."""
        self.get(name)
        return self._descriptions[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
