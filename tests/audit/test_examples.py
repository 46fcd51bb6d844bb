"""Every spec in ``examples/`` is valid: the only problems allowed are the users' own files and folders
(benchmark files, dataset folders) that a fresh checkout does not have."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasaudit.audit.spec import validate_spec
from nasaudit.yamlio import read_yaml

FOLDER = Path(__file__).parents[2] / "examples"
EXAMPLES = sorted([*FOLDER.glob("*.yaml"), *FOLDER.glob("plugins/*.yaml")])  # plugins/: specs loading user code
USERS_FILES = ("not found", "an existing folder", "needs data_root", "install")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid_but_for_the_users_files(path: Path) -> None:
    _, problems = validate_spec(read_yaml(path), path.parent)
    others = [f"{loc}: {message}" for loc, message in problems if not any(k in message for k in USERS_FILES)]
    assert not others


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 20
