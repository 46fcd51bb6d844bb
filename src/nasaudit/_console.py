"""The one console that messages and progress bars share (standard error), so that the bars of nested long
steps (an audit's studies, a study's seeds, a seed's epochs) stack on one live display instead of fighting."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@lru_cache(maxsize=1)
def stderr_console() -> Console:
    """The process's console on standard error (bars are drawn only when it is a terminal)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)
