"""Read YAML safely, keeping where each value sits, so spec errors can name their line and column; read JSON
documents of data files with a bounded nesting depth (``loads_json``).

The reader is bounded before and while parsing (hardening issue R2 2/7, items 6 and 7): files over
``MAX_YAML_BYTES`` are refused unread, the text must be UTF-8 (binary, Latin-1 and UTF-16 files are one-line
errors), aliases are refused (a few hundred bytes of nested aliases expand to gigabytes), nesting deeper than
``MAX_YAML_DEPTH`` is refused, and a key repeated in one mapping is an error naming both lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from nasaudit.errors import ConfigError, DataError

Location = tuple[int, int]  # 1-based line and column
PathKey = tuple[str | int, ...]

#: the largest YAML file read (specs are a few kilobytes)
MAX_YAML_BYTES = 1 << 20
#: the deepest nesting of mappings and lists accepted
MAX_YAML_DEPTH = 64
#: the deepest nesting of objects and arrays accepted in a JSON data file (benchmark records nest a few levels)
MAX_JSON_DEPTH = 64

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses aliases and nesting deeper than ``MAX_YAML_DEPTH`` while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ConfigError(f"YAML aliases (*name) are not supported (line {mark.line + 1}, "
                              f"column {mark.column + 1})")
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            raise ConfigError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels at line {mark.line + 1}")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _read_text(path: Path) -> str:
    """The file's text: bounded in size, UTF-8 (a UTF-8 byte-order mark is dropped), not binary."""
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {size} bytes is over the {MAX_YAML_BYTES}-byte limit of a YAML file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"spec file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a YAML file") from None
    except OSError as err:
        raise ConfigError(f"cannot read spec file {path}: {err.strerror}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        raise ConfigError(f"{path} is binary or UTF-16, not a UTF-8 YAML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise ConfigError(f"{path} is not UTF-8 text (byte 0x{raw[err.start]:02x} on line {line}); "
                          "save it as UTF-8") from None
    return text.removeprefix("\ufeff")


def _check_duplicates(node: yaml.Node) -> None:
    """Refuse a scalar key that appears twice in one mapping, naming both lines."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode):
                    line, key = key_node.start_mark.line + 1, (key_node.tag, key_node.value)
                    if key in seen:
                        raise ConfigError(f"duplicate key {key_node.value!r} at lines {seen[key]} and {line}")
                    seen[key] = line
                stack.extend((key_node, value_node))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _parse(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """The data and root node of YAML ``text`` read with the bounded loader; errors are one ConfigError line
    starting with ``source``."""
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_duplicates(root)
        return loader.construct_document(root), root
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None
    except ConfigError as err:  # an alias, too deep, a duplicate key
        raise ConfigError(f"{source}: {err}") from None
    except (RecursionError, ValueError, TypeError, OverflowError) as err:  # e.g. an unhashable mapping key
        raise ConfigError(f"{source}: unreadable YAML value ({type(err).__name__}: {err})") from None
    finally:
        loader.dispose()


def load_yaml_with_locations(path: Path) -> tuple[Any, dict[PathKey, Location]]:
    """Parse a YAML file safely; return its data and the (line, column) of every mapping key and list item."""
    path = Path(path)
    data, root = _parse(_read_text(path), str(path))
    locations: dict[PathKey, Location] = {}
    if root is not None:
        _walk(root, (), locations)
    return data, locations


def loads_yaml(text: str, source: str) -> Any:
    """The data of YAML ``text`` given inline (a command-line value), bounded and safe as a file is; ``source``
    names it in errors."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{source}: {len(text)} characters is over the {MAX_YAML_BYTES}-byte limit of YAML")
    return _parse(text, source)[0]


def read_yaml(path: str | Path) -> Any:
    """The data of a YAML file read with the bounded, safe reader of ``load_yaml_with_locations``."""
    return load_yaml_with_locations(Path(path))[0]


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


def loads_json(text: str | bytes, source: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a JSON document of a data file (a benchmark record, a result file); ``source`` names it in errors.

    Nesting deeper than ``max_depth`` is refused before parsing (``json.loads`` would recurse 100k levels into a
    ``RecursionError``), and text that is not UTF-8 or not JSON is one ``DataError`` naming ``source``.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(f"{source} is not UTF-8 text (byte {err.start})") from None
    depth = 0
    for match in _JSON_BRACKETS.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > max_depth:
            raise DataError(f"{source} nests JSON deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise DataError(f"{source} is not valid JSON ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
                        ) from None
