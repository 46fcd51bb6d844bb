"""DrNAS (``methods/drnas.py``) in the fair comparison at tiny size: its own training, a final cell by concentration
inside the searched space, and DARTS's counted work (a Dirichlet draw still runs every candidate)."""

from __future__ import annotations

from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.setup import WSSetup


def test_drnas_runs_in_the_comparison_and_costs_what_darts_costs(runs_in_comparison) -> None:
    runs_in_comparison("drnas")
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    assert get_method("drnas").cost(setup) == get_method("darts_alpha").cost(setup)


def test_the_kl_regulariser_is_a_setting_of_the_method(runs_in_comparison) -> None:
    """The release's ``reg_type kl`` as ``weight_sharing.methods.drnas.reg``: the search runs with it, and a bad
    value is one line naming the setting."""
    import pytest

    from nasaudit.errors import ConfigError

    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    assert get_method("drnas").search_config(setup).drnas_reg == "l2"
    assert get_method("drnas", {"reg": "kl"}).search_config(setup).drnas_reg == "kl"
    with pytest.raises(ConfigError, match="reg"):
        get_method("drnas", {"reg": "l1"})
    runs_in_comparison("drnas", settings={"drnas": {"reg": "kl"}})
