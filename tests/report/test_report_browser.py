"""The report opens in headless Chromium: every section is there and every figure decodes."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")


def test_report_renders_in_chromium(tmp_path, nb201_csv):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(f"""
name: browser-check
output: run
evaluators:
  c10: {{kind: table, path: {nb201_csv}, metric: test_acc, dataset: cifar10}}
analyses:
  - {{kind: compare, evaluator: c10, strategies: [random, evolution], budget: 10, seeds: 3}}
  - {{kind: op_usage, evaluator: c10}}
  - {{kind: cell_shape}}
""")
    report = run_spec(load_spec(spec_file))
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom",
         report.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    for key in ("00-compare", "01-op_usage", "02-cell_shape"):
        assert f'id="{key}"' in dom
    body = re.search(r'<body[^>]*data-figures="(\d+)"[^>]*data-figures-rendered="(\d+)"', dom)
    assert body is not None, "the report's load handler did not run"
    assert int(body.group(1)) >= 3 and body.group(1) == body.group(2)
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1200,2400",
                    report.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000
