"""DrNAS (``methods/drnas.py``) in the fair comparison at tiny size: its own training, a final cell by concentration
inside the searched space, and DARTS's counted work (a Dirichlet draw still runs every candidate)."""

from __future__ import annotations

import pandas as pd

from nasaudit.spaces import get_space
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.setup import WSSetup


def test_drnas_runs_in_the_comparison_and_costs_what_darts_costs(tiny_compare) -> None:
    folder = tiny_compare(["drnas"])
    summary = pd.read_csv(folder / "summary.csv").set_index("strategy")
    assert bool(summary.loc["drnas", "weight_sharing"]) and 0 < summary.loc["drnas", "mean"] <= 100
    assert pd.read_csv(folder / "ws_ranking.csv")["method"].tolist() == ["drnas"]
    finals = pd.read_csv(folder / "finals.csv")
    space = get_space("nb201")
    assert all(space.contains(space.parse(a)) for a in finals.loc[finals["strategy"] == "drnas", "arch"])
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    assert get_method("drnas").cost(setup) == get_method("darts_alpha").cost(setup)


def test_the_kl_regulariser_is_a_setting_of_the_method(tiny_compare) -> None:
    """The release's ``reg_type kl`` as ``weight_sharing.methods.drnas.reg``: the search runs with it, and a bad
    value is one line naming the setting."""
    import pytest

    from nasaudit.errors import ConfigError

    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    assert get_method("drnas").search_config(setup).drnas_reg == "l2"
    assert get_method("drnas", {"reg": "kl"}).search_config(setup).drnas_reg == "kl"
    with pytest.raises(ConfigError, match="reg"):
        get_method("drnas", {"reg": "l1"})
    folder = tiny_compare(["drnas"], {"drnas": {"reg": "kl"}})
    assert 0 < pd.read_csv(folder / "summary.csv").set_index("strategy").loc["drnas", "mean"] <= 100
