"""Hostile YAML files give one-line ``ConfigError`` quickly (issue R2 2/7, items 6 and 7)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from nasaudit.errors import ConfigError
from nasaudit.yamlio import MAX_YAML_BYTES, load_yaml_with_locations, locate, read_yaml

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "spec.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _one_line_error(path: Path, match: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=match) as info:
        load_yaml_with_locations(path)
    assert "\n" not in str(info.value)
    assert time.perf_counter() - started < 30  # a guard against hangs, not a speed assertion


def test_valid_file_keeps_data_and_locations(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffoutput: run\nanalyses:\n  - {kind: x, n: 3}\n  - kind: y\n")
    data, locations = load_yaml_with_locations(path)
    assert data == {"output": "run", "analyses": [{"kind": "x", "n": 3}, {"kind": "y"}]}
    assert locations[("analyses", 1, "kind")] == (4, 5) and locate(locations, ("analyses", 0, "n", 7)) == (3, 15)
    assert read_yaml(path) == data and load_yaml_with_locations(_write(tmp_path, "")) == (None, {})


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    assert len(ALIAS_BOMB) < 800
    _one_line_error(_write(tmp_path, ALIAS_BOMB), r"aliases .* not supported \(line 2")


@pytest.mark.parametrize(("text", "line"), [("[" * 30_000 + "]" * 30_000, 1), ("a:\n" + "".join(
    " " * i + f"k{i}:\n" for i in range(1, 200)), 64), ("{" * 100_000, 1)], ids=["brackets", "block", "unclosed"])
def test_deep_nesting_is_refused(tmp_path: Path, text: str, line: int) -> None:
    _one_line_error(_write(tmp_path, text), f"nested deeper than 64 levels at line {line}")


@pytest.mark.parametrize(("text", "lines"), [("a: 1\nb: 2\na: 3\n", "1 and 3"), ("x:\n  - {k: 1, k: 2}\n", "2 and 2"),
                                             ("1: a\n'1': b\n1: c\n", "1 and 3")])
def test_duplicate_keys_name_both_lines(tmp_path: Path, text: str, lines: str) -> None:
    _one_line_error(_write(tmp_path, text), f"duplicate key .* at lines {lines}")


@pytest.mark.parametrize(("content", "match"), [
    ("output: caf\u00e9\n".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 on line 1\)"),
    ("output: run\n".encode("utf-16"), "binary or UTF-16"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary or UTF-16"),
    (b"a: [1, 2\n", "invalid YAML at line 2"),
    (b"? [a, b]\n: 1\n", "invalid YAML"),
    (b"a: !!python/object/apply:os.system [echo hi]\n", "invalid YAML"),
    (b"--- a\n--- b\n", "invalid YAML"),
])
def test_malformed_files(tmp_path: Path, content: bytes, match: str) -> None:
    _one_line_error(_write(tmp_path, content), match)


def test_oversized_and_missing_files(tmp_path: Path) -> None:
    _one_line_error(_write(tmp_path, "a: " + "x" * MAX_YAML_BYTES + "\n"), "over the 1048576-byte limit")
    _one_line_error(tmp_path / "nope.yaml", "spec file not found")
    _one_line_error(tmp_path, "is a folder")


def test_random_byte_mutations_only_raise_config_error(tmp_path: Path) -> None:
    valid = b"output: run\nseeds: [0, 1, 2]\nanalyses:\n  - {kind: ranking, evaluator: ws, top: [5, 10]}\n  - kind: x\n"
    rng = np.random.default_rng(0)
    alphabet = np.frombuffer(b"[]{}:,-&*!|>?'\"#%@` \n\t\x00\xff\xc3abc01", dtype=np.uint8)
    for _ in range(300):
        data = bytearray(valid)
        for _ in range(int(rng.integers(1, 6))):
            pos = int(rng.integers(0, len(data)))
            op = int(rng.integers(0, 3))
            if op == 0:
                data[pos] = int(rng.choice(alphabet))
            elif op == 1:
                data.insert(pos, int(rng.choice(alphabet)))
            else:
                del data[pos]
        try:
            load_yaml_with_locations(_write(tmp_path, bytes(data)))
        except ConfigError as err:
            assert "\n" not in str(err)
