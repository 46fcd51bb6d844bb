"""Architecture strings of every space under random mutation (issue R2 2/7, items 6 and 7).

A mutated string is either parsed into an architecture that round-trips through ``str``, or refused with
a one-line ``ArchitectureError``: never another exception, never a hang, never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

import numpy as np
import pytest

from nasaudit.errors import ArchitectureError
from nasaudit.spaces import SearchSpace, get_space
from nasaudit.spaces.base import MAX_ARCH_CHARS, MAX_ARCH_NESTING

SPACES = ("nb201", "darts", "darts_s3", "nb101")
#: characters that matter to the three formats, plus a few that never should
ALPHABET = [*"()[]{}|~+-,:='\"0123456789_ .\n\\", "\x00", "\u00e9", "none", "skip_connect", "output", "range(",
            "Genotype(", "10**9", "1e999", "-", "~0"]


def _mutate(text: str, rng: np.random.Generator) -> str:
    chars = list(text)
    for _ in range(int(rng.integers(1, 5))):
        pos = int(rng.integers(0, len(chars) + 1))
        kind = int(rng.integers(0, 4))
        if kind == 0 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif kind == 1:
            chars.insert(pos, str(rng.choice(ALPHABET)))
        elif kind == 2 and chars:
            chars[min(pos, len(chars) - 1)] = str(rng.choice(ALPHABET))
        else:  # move a slice: swaps inputs, ops and fields around
            a, b = sorted(int(x) for x in rng.integers(0, len(chars) + 1, size=2))
            piece, chars = chars[a:b], chars[:a] + chars[b:]
            at = int(rng.integers(0, len(chars) + 1))
            chars = chars[:at] + piece + chars[at:]
    return "".join(chars)


def _parse_or_refuse(space: SearchSpace, text: str) -> Hashable | None:
    try:
        arch = space.parse(text)
        space.validate(arch)
    except ArchitectureError as err:
        assert "\n" not in str(err).strip() or "\n" in text, f"multi-line error for {text!r}: {err}"
        return None
    return arch


@pytest.mark.parametrize("name", SPACES)
def test_valid_strings_round_trip(name: str) -> None:
    space = get_space(name)
    for arch in space.sample_many(50, seed=0):
        assert space.parse(str(arch)) == arch and str(space.parse(str(arch))) == str(arch)


@pytest.mark.parametrize("name", SPACES)
def test_mutated_strings_parse_and_round_trip_or_raise_architecture_error(name: str) -> None:
    space = get_space(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    valid = [str(a) for a in space.sample_many(20, seed=1)]
    parsed = refused = 0
    for i in range(1500):
        text = _mutate(valid[i % len(valid)], rng)
        arch = _parse_or_refuse(space, text)
        if arch is None:
            refused += 1
            continue
        parsed += 1
        assert space.parse(str(arch)) == arch
    assert refused > 0 and parsed > 0  # the mutations reach both sides of the parser


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("attack", ["long", "brackets", "unary", "binary", "nul", "not_a_string"])
def test_hostile_inputs_fail_fast_with_architecture_error(name: str, attack: str) -> None:
    space = get_space(name)
    text: object = {
        "long": "x" * (MAX_ARCH_CHARS + 1),
        "brackets": "Genotype(normal=" + "[" * (MAX_ARCH_NESTING + 1) + "]" * (MAX_ARCH_NESTING + 1) + ")",
        "unary": "Genotype(normal=[('none', " + "-" * 15_000 + "1)], normal_concat=[], reduce=[], reduce_concat=[])",
        "binary": "Genotype(normal=[('none', " + "+".join(["1"] * 9_000) + ")], normal_concat=[], reduce=[], "
                  "reduce_concat=[])",
        "nul": str(space.sample(seed=0))[:5] + "\x00" + str(space.sample(seed=0))[5:],
        "not_a_string": b"|none~0|",
    }[attack]
    started = time.perf_counter()
    with pytest.raises(ArchitectureError):
        space.parse(text)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 10  # a guard against hangs, not a speed assertion


@pytest.mark.parametrize("concat", ["range(0, 10**10)", "range(0, 10000000000)", "range(10**30)", "range(2, 6, 0)",
                                    "[2, 3, 4, 5] * 10**9", "list(range(2, 6))"])
def test_darts_concat_is_bounded(concat: str) -> None:
    edges = "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)] * 4"
    text = f"Genotype(normal={edges}, normal_concat={concat}, reduce={edges}, reduce_concat=range(2, 6))"
    with pytest.raises(ArchitectureError, match="normal"):
        get_space("darts").parse(text)
