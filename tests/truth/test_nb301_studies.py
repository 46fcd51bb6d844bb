"""DARTS-space studies end to end on a folder in the exact NB301 results layout (the synthetic fixture of
conftest.py), through the ``nb301_surrogate`` evaluator kind: the held-out study beside NB301's figures, operation
importance with neighbours the training data never holds, and one-line errors for bad folders."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.errors import ConfigError, DataError

from .test_nb301_surrogate import FakeEnsemble


def _spec(tmp_path: Path, folder: Path, analyses: list[dict[str, Any]], beside: dict[str, Any] | None = None,
          **evaluator: Any) -> Any:
    """A DARTS audit with a GBT evaluator ``nb301`` (``evaluator`` overrides its fields) and ``beside`` (a tiny GIN)."""
    nb301 = {"kind": "nb301_surrogate", "path": str(folder), "n_estimators": 50, **evaluator}
    second = beside or {"kind": "nb301_surrogate", "path": str(folder), "model": "gin", "epochs": 3, "hidden": 8,
                        "layers": 2}
    data = {"name": "t", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "darts"},
            "evaluators": {"nb301": nb301, "beside": second}, "analyses": analyses}
    return spec_from_data(data, tmp_path)


def test_heldout_study_and_darts_studies_run_end_to_end(tmp_path: Path, nb301_folder: Path) -> None:
    analyses = [{"kind": "nb301_surrogate", "evaluator": "nb301", "beside": "beside"},
                {"kind": "importance", "evaluator": "nb301", "top": 0.01},
                {"kind": "subgraphs", "evaluator": "nb301", "top": 0.01, "min_support": 0.5},
                {"kind": "primskip", "evaluator": "beside", "samples": 5}]
    Runner(_spec(tmp_path, nb301_folder, analyses)).run()
    run = tmp_path / "run"
    table = pd.read_csv(run / "00-nb301_surrogate" / "nb301_surrogate.csv")
    assert list(table["source"][:2]) == ["ours (nb301)", "ours (beside)"]
    assert list(table["model"]) == ["gbt", "gin", "GIN", "XGB", "LGB"]
    # sparse Kendall tau may be NaN for the 3-epoch GIN: rounded to 0.1 %, its few predictions can all tie
    assert table.loc[:1, ["r2", "spearman", "kendall"]].notna().all().all()
    assert (run / "00-nb301_surrogate" / "heldout.png").stat().st_size > 0
    oi = pd.read_csv(run / "01-importance" / "importance.csv")
    assert len(oi) > 0 and oi["oi"].notna().all()  # neighbours outside the training data are scored
    assert (run / "02-subgraphs" / "section.json").is_file() and (run / "03-primskip" / "section.json").is_file()
    fits = list((run / "nb301_surrogates").iterdir())
    assert len(fits) == 2  # one saved fit per evaluator, read back by later studies and reruns


def test_two_runs_fit_and_report_byte_identically(tmp_path: Path, nb301_folder: Path) -> None:
    analyses = [{"kind": "nb301_surrogate", "evaluator": "nb301", "beside": "beside"},
                {"kind": "importance", "evaluator": "beside", "top": 0.005}]
    for name in ("a", "b"):  # separate run folders: each fits its own GBT and GIN
        spec = _spec(tmp_path / name, nb301_folder, analyses)
        Runner(spec).run()
    for table in ("00-nb301_surrogate/nb301_surrogate.csv", "00-nb301_surrogate/heldout_predictions.csv",
                  "01-importance/importance.csv"):
        assert (tmp_path / "a" / "run" / table).read_bytes() == (tmp_path / "b" / "run" / table).read_bytes()


def test_official_model_beside_ours(tmp_path: Path, nb301_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake nasbench301 package stands in for the optional extra (as tests/truth/test_official.py does for
    nats_bench): the official model is scored on the same test split, beside ours."""
    module = types.ModuleType("nasbench301")
    module.load_ensemble = lambda path: FakeEnsemble()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nasbench301", module)
    (tmp_path / "nb_models_1.0").mkdir()
    official = {"kind": "nb301_surrogate", "path": str(nb301_folder), "model": "official", "model_dir": "nb_models_1.0"}
    Runner(_spec(tmp_path, nb301_folder, [{"kind": "nb301_surrogate", "evaluator": "nb301", "beside": "beside"}],
                 beside=official)).run()
    table = pd.read_csv(tmp_path / "run" / "00-nb301_surrogate" / "nb301_surrogate.csv")
    assert list(table["model"][:2]) == ["gbt", "official"]
    predictions = pd.read_csv(tmp_path / "run" / "00-nb301_surrogate" / "heldout_predictions.csv")
    by_model = predictions.groupby("evaluator")["genotype"].apply(list)
    assert by_model["nb301"] == by_model["beside"]  # the same test split


def test_an_op_masked_darts_audit_draws_neighbours_inside_its_space(tmp_path: Path, nb301_folder: Path) -> None:
    spec = _spec(tmp_path, nb301_folder, [{"kind": "importance", "evaluator": "nb301", "top": 0.01}])
    kept = ["sep_conv_3x3", "skip_connect", "max_pool_3x3"]
    spec = spec_from_data({**spec.model_dump(mode="json", exclude={"base_dir"}), "space": {"name": "darts", "ops": kept}},
                          tmp_path)
    runner = Runner(spec)
    evaluator = runner.scored("nb301").evaluator
    assert set(evaluator.space.ops) == set(kept)
    genotype = runner.space.sample(0)
    ops = {op for g in evaluator.space.neighbours(genotype) for cell in (g.normal, g.reduce) for op, _ in cell.edges}
    assert ops <= set(kept) and evaluator.evaluate([genotype]).shape == (1,)


def test_a_missing_folder_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NB301 results folder not found"):
        _spec(tmp_path, tmp_path / "nowhere", [{"kind": "nb301_surrogate", "evaluator": "nb301"}])


def test_official_model_needs_its_folder(tmp_path: Path, nb301_folder: Path) -> None:
    with pytest.raises(ConfigError, match="model: official needs model_dir"):
        _spec(tmp_path, nb301_folder, [{"kind": "nb301_surrogate", "evaluator": "nb301"}], model="official")


def test_a_corrupt_result_file_is_one_data_error(tmp_path: Path, nb301_folder: Path) -> None:
    (nb301_folder / "rs" / "results_1.json").write_text('{"info": []}')
    with pytest.raises(DataError, match="not an NB301 result file") as caught:
        Runner(_spec(tmp_path, nb301_folder, [{"kind": "nb301_surrogate", "evaluator": "nb301"}])).run()
    assert "\n" not in str(caught.value)


def test_the_study_refuses_another_evaluator_kind(tmp_path: Path, nb301_folder: Path) -> None:
    data = {"name": "t", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "darts"},
            "evaluators": {"table": {"kind": "nb301_results", "path": str(nb301_folder)}},
            "analyses": [{"kind": "nb301_surrogate", "evaluator": "table"}]}
    with pytest.raises(ConfigError, match="reads evaluators of kind nb301_surrogate"):
        Runner(spec_from_data(data, tmp_path)).run()


def test_skip_links_and_the_worst_tail_on_darts(tmp_path: Path, nb301_folder: Path) -> None:
    """Fig. 8 (skip OI by residual link) rides with the importance study; App. A's worst 5% through ``tail``."""
    analyses = [{"kind": "importance", "evaluator": "nb301", "top": 0.01},
                {"kind": "importance", "evaluator": "nb301", "top": 0.01, "tail": "worst"},
                {"kind": "subgraphs", "evaluator": "nb301", "top": 0.01, "min_support": 0.5, "tail": "worst",
                 "sign": "negative"}]
    sections = Runner(_spec(tmp_path, nb301_folder, analyses)).run()
    run = tmp_path / "run"
    best, worst = (pd.read_csv(run / f"0{i}-importance" / "importance.csv") for i in (0, 1))
    assert set(best["cell"]) == set(worst["cell"]) == {"normal", "reduce"}
    assert best["score"].min() > worst["score"].max()  # the two ends of the 2,000 seeded samples
    links = pd.read_csv(run / "00-importance" / "skip_links.csv")
    assert set(links["link"]) <= {"in0", "in1", "other", "residual", "all"} and "all" in set(links["link"])
    all_skips = links[links["link"] == "all"].set_index("cell")["n_skips"]
    assert all_skips.to_dict() == best[best["primitive"] == "skip_connect"].groupby("cell").size().to_dict()
    assert (run / "00-importance" / "skip_links.png").stat().st_size > 0
    assert any(note.startswith("Paper (Sec. 4, Fig. 8") for note in sections[0].notes)
    claims = [note for note in sections[0].notes if note.startswith("Ours #")]  # Sec. 3's three findings, judged
    assert len(claims) == 3 and all(note.endswith(("holds.", "does not hold.")) for note in claims)
    assert not any(note.startswith("Ours #") for note in sections[1].notes)
    assert any(note.startswith("Paper (App. A, Fig. 11/12") for note in sections[1].notes)
    assert sections[1].settings["tail"] == "worst" and "worst 1%" in sections[1].summary
    assert any(note.startswith("Paper (App. A, Fig. 13") for note in sections[2].notes)
    assert "(OI <= -threshold) of 20 worst cells" in sections[2].summary
    assert (run / "02-subgraphs" / "subgraphs.csv").is_file()


def test_an_unknown_tail_is_refused(tmp_path: Path, nb301_folder: Path) -> None:
    with pytest.raises(ConfigError, match="tail"):
        _spec(tmp_path, nb301_folder, [{"kind": "importance", "evaluator": "nb301", "tail": "middle"}])


def test_cell_map_on_darts_maps_normal_and_reduce_cells_apart(tmp_path: Path, nb301_folder: Path) -> None:
    analyses = [{"kind": "cell_map", "evaluator": "nb301", "samples": 40, "perplexity": 5, "top": 0.1}]
    sections = Runner(_spec(tmp_path, nb301_folder, analyses)).run()
    folder = tmp_path / "run" / "00-cell_map"
    points = pd.read_csv(folder / "cell_map.csv")
    assert points.groupby("cell").size().to_dict() == {"normal": 40, "reduce": 40}
    assert points.groupby("cell")["top"].sum().to_dict() == {"normal": 4, "reduce": 4}
    spread = pd.read_csv(folder / "spread.csv")
    assert list(spread["cell"]) == ["normal", "reduce"] and (spread["ratio"] > 0).all()
    assert (folder / "cell_map.png").stat().st_size > 0
    assert sections[0].notes[0].startswith("Paper (Sec. 3, Fig. 2")
