"""Per-epoch checkpoints: write atomically, and refuse to resume a different run from the same folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from nasaudit.errors import ConfigError, DataError

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``folder/checkpoint.pt`` via a temporary file, so a crash never leaves half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (CHECKPOINT_NAME + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, folder / CHECKPOINT_NAME)


def load_checkpoint(folder: Path, run_key: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state in ``folder`` if there is one; it must belong to the run described by ``run_key``."""
    path = folder / CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any failure to read means a corrupt or foreign file
        raise DataError(f"cannot read checkpoint {path} ({type(err).__name__}: {err}); delete it to restart") from None
    if state.get("run") != run_key:
        raise ConfigError(
            f"checkpoint {path} belongs to a different run ({state.get('run')}), not {run_key}; "
            "use another checkpoint folder or delete it"
        )
    return state
