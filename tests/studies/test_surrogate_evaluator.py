"""The surrogate evaluator kind is any predictor of PREDICTORS fit once (issue #27): gp and rf surrogates as the
search evaluator of compare on the embedded table, an unknown model one line at spec check, a predictor registered
by the test usable as ``model:`` with its identity in the result key, ``ensemble`` the BANANAS ensemble."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.errors import ConfigError
from nasaudit.predictors import PREDICTORS, SpacePredictor
from nasaudit.spaces import get_space
from nasaudit.studies.evaluators import definition

OPS = ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]  # the embedded table's space
TRUTH = {"kind": "table", "path": "embedded", "metric": "test_acc"}


def _spec(tmp_path: Path, models: list[str]) -> dict:
    evaluators = {"truth": TRUTH, **{m: {"kind": "surrogate", "fit_on": "truth", "samples": 12, "model": m}
                                     for m in models}}
    return {"name": "s", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "nb201", "ops": OPS},
            "evaluators": evaluators,
            "analyses": [{"kind": "compare", "evaluator": m, "truth": "truth", "strategies": ["random"], "budget": 3,
                          "seeds": 1, "within_truth": True} for m in models]}


@pytest.mark.parametrize("model", ["gp", "rf"])
def test_gp_and_rf_surrogates_search_and_say_what_a_query_was(tmp_path: Path, model: str) -> None:
    Runner(spec_from_data(_spec(tmp_path, [model]), tmp_path)).run()
    summary = pd.read_csv(tmp_path / "run" / "00-compare" / "summary.csv")
    assert summary["mean"].between(50, 100).all()  # the finals scored by the truth table (%)
    assert (summary["cost"] == f"3 queries of {model} ({model} surrogate, fit once on 12 queries of truth)").all()


def test_an_unknown_model_is_one_line_at_spec_check(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Runner(spec_from_data(_spec(tmp_path, ["gpp"]), tmp_path)).run()
    message = str(err.value)
    assert "unknown surrogate model 'gpp' (did you mean 'gp'?); known: bananas, ensemble, gbt, gp, rf" in message
    assert "\n" not in message and not (tmp_path / "run" / "00-compare").exists()


@pytest.fixture
def ridge(monkeypatch: pytest.MonkeyPatch) -> str:
    """A predictor registered by the test (factory of the space only), gone after it."""
    for part in ("_entries", "_descriptions", "_origins"):
        monkeypatch.setattr(PREDICTORS, part, dict(getattr(PREDICTORS, part)))

    def ridge_predictor(space: object) -> SpacePredictor:
        from sklearn.linear_model import Ridge

        return SpacePredictor(space, lambda seed: Ridge(alpha=1.0))  # type: ignore[arg-type]

    PREDICTORS.add("test_ridge", ridge_predictor, "ridge regression (test)")
    return "test_ridge"


def test_a_registered_predictor_is_a_model_and_its_identity_is_in_the_key(tmp_path: Path, ridge: str) -> None:
    spec = spec_from_data(_spec(tmp_path, [ridge]), tmp_path)
    key = definition(spec.evaluators, ridge, tmp_path)
    assert key["model"] == ridge and key["predictor"]["factory"].endswith("ridge_predictor")
    assert key["predictor"]["module"] == __name__ and len(key["predictor"]["sha256"]) == 64
    Runner(spec).run()
    summary = pd.read_csv(tmp_path / "run" / "00-compare" / "summary.csv")
    assert (summary["cost"] == f"3 queries of {ridge} ({ridge} surrogate, fit once on 12 queries of truth)").all()
    from nasaudit.truth.surrogate import SurrogateBenchmark

    with pytest.raises(ConfigError, match=r"^predictor 'test_ridge' takes no settings \['encoding'\]"):
        SurrogateBenchmark(get_space("nb201"), model=ridge, encoding="onehot")


def test_the_shipped_predictors_leave_the_key_as_it_was(tmp_path: Path) -> None:
    spec = spec_from_data(_spec(tmp_path, ["gbt", "ensemble"]), tmp_path)
    for model in ("gbt", "ensemble"):
        key = definition(spec.evaluators, model, tmp_path)
        assert set(key) == {"kind", "fit_on", "model", "samples"}  # no seed unless set, no predictor identity
    data = _spec(tmp_path, ["rf"])
    data["evaluators"]["rf"]["seed"] = 3
    assert definition(spec_from_data(data, tmp_path).evaluators, "rf", tmp_path)["seed"] == 3


def test_ensemble_is_the_bananas_predictor() -> None:
    from nasaudit.truth.surrogate import SurrogateBenchmark

    space = get_space("nb201").restrict(OPS)
    archs = space.sample_many(20, 0)
    scores = np.array([a.ops.count("nor_conv_3x3") for a in archs], dtype=float)
    fits = [SurrogateBenchmark(space, model=m, seed=1, epochs=20).fit(archs, scores) for m in ("ensemble", "bananas")]
    assert np.array_equal(fits[0].evaluate(archs), fits[1].evaluate(archs))
    assert np.array_equal(fits[0].predict_std(archs), fits[1].predict_std(archs))
