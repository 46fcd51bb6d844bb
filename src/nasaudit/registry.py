"""One registry helper for every named thing a user picks: spaces, strategies, protocols, datasets, executors,
evaluator kinds and studies.

``Registry("strategy")`` holds name -> entry; ``register`` is a decorator placed beside the definition (as
timm registers models); ``get`` raises the kind's error type with a did-you-mean suggestion for an unknown
name. Names are resolved to objects at the edges (CLI, spec) through these registries; inside, objects.

Users' plugins (``nasaudit.plugins``) register into the same registries when their module is imported: each
entry remembers the plugin that registered it (``origin``), a registry's ``check`` (its contract, given where
the registry is defined) refuses an entry that breaks it, and a name the registry does not hold first loads
the installed plugins (entry points, ``NASAUDIT_PLUGINS``) before it is reported unknown.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nasaudit import plugins
from nasaudit.errors import ConfigError, NasauditError

T = TypeVar("T")


def unknown_name_message(what: str, name: object, known: list[str]) -> str:
    """``unknown strategy 'evolutoin' (did you mean 'evolution'?); known: ...`` (one line)."""
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {name!r}{hint}; known: {', '.join(known) or 'none'}"


class Registry(Generic[T]):
    """Named entries of one kind, in registration order; ``error`` is the exception type for unknown names.

    ``check(name, entry)`` is the kind's contract: it returns why an entry breaks it (one line) or None, and
    runs on every registration, the package's own included."""

    def __init__(self, what: str, error: type[NasauditError] = ConfigError,
                 check: Callable[[str, T], str | None] | None = None) -> None:
        self.what = what
        self.error = error
        self.check = check
        self._entries: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}
        self._origins: dict[str, str | None] = {}

    def add(self, name: str, entry: T, description: str = "") -> T:
        """Register ``entry`` under ``name`` (a name registers once; a plugin imported again after its file
        changed replaces its own entries)."""
        origin = plugins.loading()
        if name in self._entries and (origin is None or self._origins[name] != origin):
            known = self._origins[name]
            by = f"by plugin {known!r}" if known else "by nasaudit"
            raise self.error(f"{self.what} {name!r} is already registered {by}")
        if not isinstance(name, str) or not name:
            raise self.error(f"a {self.what} needs a non-empty name, got {name!r}")
        problem = self.check(name, entry) if self.check is not None else None
        if problem:
            raise self.error(f"{self.what} {name!r} breaks the contract: {problem}")
        self._entries[name] = entry
        self._descriptions[name] = description
        self._origins[name] = origin
        plugins.note(self.what, name)
        return entry

    def origin(self, name: str) -> str | None:
        """The plugin that registered ``name``, or None for the package's own entries."""
        self.get(name)
        return self._origins[name]

    def register(self, name: str, description: str = "") -> Callable[[T], T]:
        """Decorator form of ``add``."""

        def decorate(entry: T) -> T:
            return self.add(name, entry, description)

        return decorate

    def get(self, name: str) -> T:
        """The entry ``name``; an unknown name raises the registry's error with a suggestion."""
        if isinstance(name, str) and name not in self._entries:
            plugins.load_installed()  # an installed plugin may define it
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
