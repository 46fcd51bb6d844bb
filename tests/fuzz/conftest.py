"""Make ``cli_errors`` (the one-error-line check the hostile-input tests share) importable here; pytest's
importlib mode does not put test folders on the path."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
