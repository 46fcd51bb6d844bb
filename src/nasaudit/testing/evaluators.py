"""``EvaluatorContract``: what every evaluator keeps (``nasaudit.evaluators.Evaluator``, the seam of the design).

One float64 score per architecture, aligned with the input and finite, higher is better (the contract can
check the form, not the direction: state it in your evaluator's docstring); the same architecture scores the
same wherever it sits in a batch and on every call; an empty batch scores nothing; ``space`` is exposed and
holds what is scored; an architecture of another space is refused with a ``NasauditError`` (one line).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nasaudit.errors import NasauditError
from nasaudit.evaluators import Evaluator


class EvaluatorContract:
    """Subclass and give the ``evaluator`` fixture to run the evaluator contract (give it ``scope="class"``
    when it is expensive to build). ``archs`` (12 samples of its space) and ``foreign_archs`` (samples of the
    registered spaces its space does not hold) may be overridden."""

    @pytest.fixture
    def evaluator(self) -> Evaluator:
        """The evaluator under test."""
        raise NotImplementedError("an EvaluatorContract subclass gives the `evaluator` fixture")

    @pytest.fixture
    def archs(self, evaluator: Evaluator) -> list[Any]:
        return list(dict.fromkeys(evaluator.space.sample_many(12, seed=0)))

    @pytest.fixture
    def foreign_archs(self, evaluator: Evaluator) -> list[Any]:
        from nasaudit.spaces import get_space, list_spaces

        space = evaluator.space
        out = []
        for name in list_spaces():
            out += [a for a in get_space(name).sample_many(5, seed=0) if not space.contains(a)][:1]
        return out

    def test_scores_are_float64_aligned_and_finite(self, evaluator: Evaluator, archs: list[Any]) -> None:
        scores = evaluator.evaluate(archs)
        assert isinstance(scores, np.ndarray) and scores.dtype == np.float64 and scores.shape == (len(archs),)
        assert np.isfinite(scores).all()

    def test_scores_are_deterministic_and_independent_of_the_batch(self, evaluator: Evaluator,
                                                                   archs: list[Any]) -> None:
        scores = evaluator.evaluate(archs)
        np.testing.assert_array_equal(evaluator.evaluate(archs), scores)
        np.testing.assert_array_equal(evaluator.evaluate(archs[::-1]), scores[::-1])
        np.testing.assert_array_equal(evaluator.evaluate(archs[3:4]), scores[3:4])
        np.testing.assert_array_equal(evaluator.evaluate([archs[0], archs[0]]), scores[[0, 0]])

    def test_space_is_exposed_and_an_empty_batch_scores_nothing(self, evaluator: Evaluator,
                                                                archs: list[Any]) -> None:
        from nasaudit.spaces.base import SearchSpace

        assert isinstance(evaluator, Evaluator) and isinstance(evaluator.space, SearchSpace)
        assert all(evaluator.space.contains(a) for a in archs)
        empty = evaluator.evaluate([])
        assert isinstance(empty, np.ndarray) and empty.shape == (0,) and empty.dtype == np.float64

    def test_foreign_architectures_are_refused_in_one_line(self, evaluator: Evaluator, archs: list[Any],
                                                           foreign_archs: list[Any]) -> None:
        assert foreign_archs, "no foreign architecture to try: override the `foreign_archs` fixture"
        for arch in foreign_archs:
            with pytest.raises(NasauditError) as caught:
                evaluator.evaluate([archs[0], arch])
            assert str(caught.value) and "\n" not in str(caught.value)
