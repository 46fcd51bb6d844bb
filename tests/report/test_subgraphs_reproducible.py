"""``subgraphs.png`` is byte-identical whatever ``PYTHONHASHSEED`` is (issue R2 2/7, item 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_DRAW = """
import sys
from pathlib import Path
import pandas as pd
from nasaudit.report.figures_analysis import plot_subgraphs
mined = pd.DataFrame({"pattern": ["c_{k-2} -sep_conv_3x3-> n0; c_{k-1} -skip_connect-> n0; n0 -max_pool_3x3-> n1",
                                  "a -x-> b; a -y-> c; a -z-> d; b -x-> e; c -x-> e; d -y-> e"],
                      "support": [0.5, 0.25], "rank": [1, 2]})
plot_subgraphs(mined, Path(sys.argv[1]))
"""


def test_subgraphs_png_does_not_depend_on_hash_seed(tmp_path: Path) -> None:
    images = []
    for seed in ("1", "4"):  # two seeds that ordered the nodes of a layer differently before the fix
        out = tmp_path / f"subgraphs-{seed}.png"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", _DRAW, str(out)], env=env, check=True, timeout=120)
        images.append(out.read_bytes())
    assert images[0][:8] == b"\x89PNG\r\n\x1a\n" and images[0] == images[1]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
