"""A weight-sharing method defined in one file outside the package (``examples/plugins/random_supernet.py``)
registers itself when imported and runs in the fair comparison beside a shipped method: its own rows in the
summary (cost column, equal-cost columns), its ranking and rank-disorder panel, its finals; and the seam refuses
a method that breaks its rules in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.cli.main import main
from nasaudit.errors import ConfigError
from nasaudit.plugins import ENV
from nasaudit.spaces import get_space
from nasaudit.weight_sharing.base import WS_METHODS, WeightSharingMethod, get_method, training_rows

from .conftest import write_compare_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "random_supernet.py"



@pytest.fixture(autouse=True)
def _own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a plugin lists it in NASAUDIT_PLUGINS (for worker processes): restored after each test."""
    monkeypatch.delenv(ENV, raising=False)


def test_a_method_in_one_file_runs_in_the_comparison_beside_a_shipped_one(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    run_spec(load_spec(write_compare_spec(
        tmp_path, ["random", "random_supernet", "spos_evolution"],
        {"spos_evolution": {"evolution_budget": 4}, "random_supernet": {"derive_samples": 6}},
        epochs=2, seeds=2, rank_images=50, plugins=("random_supernet.py",))))  # the spec's plugins: list imports the file, which registers it
    assert WS_METHODS.get("random_supernet").__name__ == "RandomSupernet"
    assert training_rows(["random_supernet", "spos_evolution"]) == {"random_supernet": ["random_supernet"],
                                                                    "spos": ["spos_evolution"]}
    folder = tmp_path / "run" / "00-compare"
    summary = pd.read_csv(folder / "summary.csv").set_index("strategy")
    assert summary.index.tolist() == ["random", "random_supernet", "spos_evolution"]
    row = summary.loc["random_supernet"]
    assert bool(row["weight_sharing"]) and row["seeds"] == 2 and 0 < row["mean"] <= 100
    assert "2 supernet epochs (8 channels, 1 cell(s) per stage, batch 64) + 6 supernet queries" in row["cost"]
    assert "multiply-adds per seed" in row["cost"]
    assert row["equal_cost_queries"] >= 1 and 0 <= row["p_gt_random_at_equal_cost"] <= 1
    # counted work: the same single-path training as SPOS (one path per step), plus its own queries
    assert row["cost_in_trainings"] > 0
    ranking = pd.read_csv(folder / "ws_ranking.csv").set_index("method")
    assert set(ranking.index) == {"random_supernet", "spos"} and ranking.loc["random_supernet", "seeds"] == 2
    assert -1 <= ranking.loc["random_supernet", "tau_mean"] <= 1
    epochs = pd.read_csv(folder / "ws_epochs.csv")
    assert sorted(set(epochs.loc[epochs["method"] == "random_supernet", "epoch"])) == [1, 2]
    assert (folder / "rank_disorder.png").is_file()
    finals = pd.read_csv(folder / "finals.csv")
    mine = finals[finals["strategy"] == "random_supernet"]
    assert len(mine) == 2 and mine["truth"].notna().all()
    space = get_space("nb201")
    assert all(space.contains(space.parse(arch)) for arch in mine["arch"])
    paired = pd.read_csv(folder / "with_without_ws.csv")  # its counterpart without sharing: random search
    assert paired["with_ws"].tolist() == ["random_supernet"] and paired["policy"].tolist() == ["random"]


def test_a_method_in_one_file_runs_in_the_comparison_from_the_command_line(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["compare", "-t", "embedded", "-m", "test_acc", "--ops", "skip_connect,nor_conv_1x1,nor_conv_3x3",
              "--budget", "5", "--seeds", "1", "--within-truth", "-s", "random,random_supernet", "--ws-epochs", "1",
              "--plugin", str(EXAMPLE), "-o", str(tmp_path / "out")])
    assert (done.value.code or 0) == 0, capsys.readouterr().err
    summary = pd.read_csv(tmp_path / "out" / "00-compare" / "summary.csv").set_index("strategy")
    assert summary.index.tolist() == ["random", "random_supernet"] and summary.loc["random_supernet", "weight_sharing"]
    assert "1 supernet epochs" in summary.loc["random_supernet", "cost"]
    assert pd.read_csv(tmp_path / "out" / "00-compare" / "ws_ranking.csv")["method"].tolist() == ["random_supernet"]


def test_the_seam_refuses_a_method_that_breaks_its_rules() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        type("Again", (WeightSharingMethod,), {"name": "darts_alpha", "description": "x",
                                               "families": ("nb201",)})
    with pytest.raises(ConfigError, match="trains differently"):
        type("OtherDarts", (WeightSharingMethod,), {"name": "other_darts", "description": "x",
                                                    "families": ("nb201",), "training": "darts"})
    with pytest.raises(ConfigError, match="needs a name, a description and families"):
        type("Bare", (WeightSharingMethod,), {"name": "bare"})
    # DARTS-PT overrides only its selection and cost, and shares DARTS's training (one job per seed)
    assert training_rows(["darts_alpha", "darts_pt", "gdas"]) == {"darts": ["darts_alpha", "darts_pt"],
                                                                 "gdas": ["gdas"]}
    assert "other_darts" not in WS_METHODS and "bare" not in WS_METHODS
    assert get_method("gdas").check(get_space("nb101")) == "gdas is defined on ['nb201', 'darts'] spaces, not 'nb101'"
    assert get_method("spos_evolution").check(get_space("nb101"), reduced=True) is None
    assert "within the truth's architectures" in get_method("gdas").check(get_space("darts"), reduced=True)


def test_a_user_methods_seeds_are_keyed_by_its_source_and_the_shipped_ones_keep_their_ids() -> None:
    from dataclasses import replace

    from nasaudit.jobs.provenance import file_sha256
    from nasaudit.plugins import load_plugins
    from nasaudit.weight_sharing.base import source_digests
    from nasaudit.weight_sharing.jobs import WSJob, make_jobs
    from nasaudit.weight_sharing.setup import WSSetup

    load_plugins([str(EXAMPLE)], confined=False)
    assert source_digests(["random_supernet", "spos_evolution"]) == (file_sha256(EXAMPLE),)
    setup = WSSetup(space="nb201", epochs=1)
    mine, shipped = make_jobs("x", [get_method("random_supernet"), get_method("spos_evolution")], setup, [0], None)
    assert mine.code == (file_sha256(EXAMPLE),) and shipped.code == ()
    assert replace(mine, code=("edited",)).job_id != mine.job_id  # an edited plugin retrains its seeds
    assert WSJob("x", "spos", ("spos_evolution",), 0, setup.to_options(),
                 settings={"spos_evolution": {"evolution_budget": 100}}).job_id == shipped.job_id
