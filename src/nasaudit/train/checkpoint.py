"""Per-epoch checkpoints: write atomically, read safely, and refuse to resume a different run from the same folder.

Every saved state of nasaudit (checkpoints, saved supernets, search snapshots) is read by ``read_state``:
``torch.load(weights_only=True)``, so a file can hold only tensors and plain containers and no code runs, and a
corrupt, truncated or foreign file is one ``DataError`` naming the file. Applying a state that was read (a missing
key, a value of the wrong type, a tensor of another size) happens inside ``restoring``, which turns such a failure
into one ``DataError`` naming the file too (issue #22, item 13).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from nasaudit._atomic import atomic_open
from nasaudit.errors import ConfigError, DataError, NasauditError

CHECKPOINT_NAME = "checkpoint.pt"


def _brief(err: BaseException, limit: int = 300) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = " ".join(str(err).split())
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def read_state(path: str | Path, what: str = "checkpoint") -> dict[str, Any]:
    """The dict saved in ``path`` by ``torch.save`` (tensors and plain containers only: ``weights_only``).

    A missing, corrupt, truncated or foreign file (a pickle of other objects, not a torch file) or one that does
    not hold a dict is a one-line ``DataError`` naming ``path`` and ``what`` it should have been.
    """
    source = Path(path)
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of foreign files: the error says it
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:  # any failure to read means a missing, corrupt or foreign file
        raise DataError(f"cannot read {what} {source} ({_brief(err)})") from None
    if not isinstance(state, dict):
        raise DataError(f"{what} {source} holds a {type(state).__name__}, not a saved state")
    return state


@contextlib.contextmanager
def restoring(path: str | Path, what: str = "checkpoint") -> Iterator[None]:
    """Apply a state read from ``path`` inside this block: a missing key, a value of the wrong type or a tensor of
    the wrong size becomes one ``DataError`` naming the file (nasaudit's own errors pass through)."""
    try:
        yield
    except NasauditError:
        raise
    except Exception as err:  # the file parsed but does not fit: say which file, not where in torch
        raise DataError(f"{what} {path} does not fit this run ({_brief(err)}); delete it or use another "
                        "folder") from None


def save_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``folder/checkpoint.pt`` atomically (a temporary sibling, fsync, rename): a crash or a
    full disk never leaves half a file, and the previous checkpoint stays until the new one is complete."""
    with atomic_open(folder / CHECKPOINT_NAME, "wb") as handle:
        torch.save(state, handle)


def load_checkpoint(folder: Path, run_key: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state in ``folder`` if there is one; it must belong to the run described by ``run_key``.

    The caller applies it inside ``restoring(folder / CHECKPOINT_NAME)``.
    """
    path = folder / CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        state = read_state(path)
    except DataError as err:
        raise DataError(f"{err}; delete it to restart") from None
    if state.get("run") != run_key:
        raise ConfigError(
            f"checkpoint {path} belongs to a different run ({state.get('run')}), not {run_key}; "
            "use another checkpoint folder or delete it"
        )
    return state


def checkpointed_epochs(folder: Path | None) -> int:
    """The epochs the training loop's checkpoint in ``folder`` holds (the length of its ``history``; 0 without a
    folder or a checkpoint): what a method keeping its own state beside it resumes from."""
    if folder is None or not (folder / CHECKPOINT_NAME).is_file():
        return 0
    return len(read_state(folder / CHECKPOINT_NAME).get("history", []))
