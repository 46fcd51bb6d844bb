"""Make the toy job functions importable by name here and in spawned worker processes (which inherit
``sys.path``); pytest's importlib mode does not put test folders on the path."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
