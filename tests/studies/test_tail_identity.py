"""The ``tail`` field of the importance and subgraphs studies and the ``sign`` of subgraphs (redundancy paper App. A):
the defaults keep the identity of stored results, other values make a new one, and anything else is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nasaudit.jobs.job import identity
from nasaudit.studies import study_entry


@pytest.mark.parametrize("kind", ["importance", "subgraphs"])
def test_best_tail_leaves_the_identity_as_before(kind: str) -> None:
    spec = study_entry(kind).spec
    best, worst = spec(evaluator="truth"), spec(evaluator="truth", tail="worst")
    assert best.tail == "best" and "tail" not in identity(best)
    assert identity(worst) == {**identity(best), "tail": "worst"}
    with pytest.raises(ValidationError, match="tail"):
        spec(evaluator="truth", tail="middle")


def test_any_sign_leaves_the_subgraphs_identity_as_before() -> None:
    spec = study_entry("subgraphs").spec
    assert "sign" not in identity(spec(evaluator="truth"))
    assert identity(spec(evaluator="truth", sign="negative"))["sign"] == "negative"
