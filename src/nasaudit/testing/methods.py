"""``MethodContract``: what every weight-sharing method keeps (``nasaudit.weight_sharing.base``).

The method is registered under its name with a description, the space families it is defined on and its
training; its settings model (``settings_model``, a ``MethodSettings``) builds with its defaults and refuses a bad
or unknown setting in one ``ConfigError`` line naming the method and the setting; ``check(space)`` accepts a
space of those families and refuses any other in one line; a tiny seed of its training
(``nasaudit.weight_sharing.training.run_training``, the job the fair comparison runs) derives a final
architecture inside the space searched (a reduced ``SubsetSpace`` of the truth's classes; the whole space for a
method that does not search reduced spaces of that family, ``reduced_families``) and scores the ranked
architectures with the shared weights after each ranked epoch, the same numbers for the same seed; its counted
cost is a positive number.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

#: the ops the embedded benchmark trained (NB201 without none and avg_pool_3x3)
EMBEDDED_MASK = ("avg_pool_3x3", "none")
#: the cells the tiny seed ranks with the shared weights
RANKED = 8


def embedded_cells(n: int) -> list[str]:
    """The first ``n`` cells of the embedded benchmark (NB201 on three ops), as strings."""
    import pandas as pd

    from nasaudit.resources import embedded_benchmark_path

    return pd.read_csv(embedded_benchmark_path())["ArchitectureString"].tolist()[:n]


class MethodContract:
    """Subclass and give the ``method_name`` fixture (the registered name) to run the method contract.

    ``setup`` (default: NB201 on the embedded benchmark's three ops, searched within 30 of its cells, one epoch
    of the tiny supernet on the embedded digits, 8 ranked cells) may be overridden for a method defined on other
    families, and ``settings`` (default: none, the method's defaults) to make its own settings tiny; keep the seed
    to a few seconds.
    """

    @pytest.fixture
    def method_name(self) -> str:
        raise NotImplementedError("a MethodContract subclass gives the `method_name` fixture")

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def method(self, method_name: str, settings: dict[str, Any]) -> Any:
        from nasaudit.weight_sharing.base import get_method

        return get_method(method_name, settings)

    @pytest.fixture
    def setup(self) -> Any:
        from nasaudit.weight_sharing.setup import WSSetup

        cells = embedded_cells(30)
        return WSSetup(space="nb201", mask=EMBEDDED_MASK, within=tuple(cells), epochs=1,
                       rank_archs=tuple(cells[:RANKED]), rank_images=64, batch_size=128, val_fraction=0.3)

    def test_registered_with_name_description_families_and_training(self, method_name: str, method: Any) -> None:
        from nasaudit.weight_sharing.base import WS_METHODS, WeightSharingMethod

        assert method_name in WS_METHODS and isinstance(method, WeightSharingMethod)
        assert method.name == method_name and isinstance(method.description, str) and method.description
        assert method.families and set(method.families) <= {"nb201", "darts", "nb101", "rnn"}
        assert isinstance(method.training, str) and method.training

    def test_settings_model_builds_its_defaults_and_refuses_a_bad_setting_in_one_line(self, method_name: str
                                                                                       ) -> None:
        from nasaudit.errors import ConfigError
        from nasaudit.weight_sharing.base import WS_METHODS, MethodSettings, get_method

        model = WS_METHODS.get(method_name).settings_model
        assert issubclass(model, MethodSettings)
        assert isinstance(get_method(method_name).settings, model)  # every setting has a valid default
        # an unknown setting, and each setting given a list of lists (no setting's type)
        bad: list[tuple[str, Any]] = [("no_such_setting", 1), *((field, [[]]) for field in model.model_fields)]
        for field, value in bad:
            with pytest.raises(ConfigError) as refused:
                get_method(method_name, {field: value})
            line = str(refused.value)
            assert line.startswith(f"{method_name}.{field}: ") and "\n" not in line, line

    def test_check_accepts_its_families_and_refuses_others_in_one_line(self, method: Any) -> None:
        from nasaudit.spaces import get_space, list_spaces

        for name in list_spaces():
            space = get_space(name)
            answer = method.check(space)
            if space.family in method.families:
                assert answer is None, f"{method.name} refuses {name!r}, a space of a family it names: {answer}"
            else:
                assert isinstance(answer, str) and answer and "\n" not in answer

    def test_a_tiny_seed_derives_a_member_and_ranks_reproducibly(self, method: Any, setup: Any,
                                                                 tmp_path: Path) -> None:
        from dataclasses import replace

        from nasaudit.spaces import get_space
        from nasaudit.weight_sharing.training import run_training, search_space

        if get_space(setup.space).family not in method.reduced_families:
            setup = replace(setup, within=())  # it does not search within a reduced space: the whole one
        space = search_space(setup)
        first = run_training(method.training, [method], setup, seed=1, work_dir=tmp_path / "a")
        assert set(first.finals) == {method.name} and isinstance(first.finals[method.name], str)
        assert space.contains(first.finals[method.name])
        assert first.rank_epochs and first.rank_epochs[-1] == setup.epochs
        assert len(first.rank_scores) == len(first.rank_epochs)
        assert all(len(scores) == len(setup.ranked) for scores in first.rank_scores)
        assert all(math.isfinite(s) for scores in first.rank_scores for s in scores)
        again = run_training(method.training, [method], setup, seed=1, work_dir=tmp_path / "b")
        assert again.finals == first.finals and again.rank_scores == first.rank_scores

    def test_cost_is_counted_and_described(self, method: Any, setup: Any) -> None:
        cost = method.cost(setup)
        assert isinstance(cost, float) and math.isfinite(cost) and cost > 0
        from nasaudit.spaces import get_space

        family = get_space(setup.space).family
        described = method.describe_cost(setup, family)
        assert isinstance(described, str) and described and "\n" not in described
