"""Read YAML keeping where each value sits, so spec errors can name their line and column."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from nasaudit.errors import ConfigError

Location = tuple[int, int]  # 1-based line and column
PathKey = tuple[str | int, ...]


def load_yaml_with_locations(path: Path) -> tuple[Any, dict[PathKey, Location]]:
    """Parse a YAML file; return its data and the (line, column) of every mapping key and list item."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"spec file not found: {path}") from None
    except OSError as err:
        raise ConfigError(f"cannot read spec file {path}: {err.strerror}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    locations: dict[PathKey, Location] = {}
    if root is not None:
        _walk(root, (), locations)
    return data, locations


def _walk(node: yaml.Node, prefix: PathKey, out: dict[PathKey, Location]) -> None:
    out.setdefault(prefix, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, key_node.value)
            out[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*prefix, index), out)


def locate(locations: dict[PathKey, Location], loc: Sequence[str | int]) -> Location | None:
    """The location of ``loc`` or of its nearest ancestor present in the file."""
    key = tuple(loc)
    while key:
        if key in locations:
            return locations[key]
        key = key[:-1]
    return locations.get(())
