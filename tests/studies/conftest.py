"""Register the training-dynamics study kinds before the audit spec builds its schema from the registry."""

from __future__ import annotations

import importlib

for _name in ("arch_sets", "dynamics", "cell_drawing"):
    importlib.import_module(f"nasaudit.studies.{_name}")
