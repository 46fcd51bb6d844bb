"""One seed of each weight-sharing training on the embedded digits: finals inside the searched (reduced) space,
a ranking of the fixed set per ranked epoch, the same numbers for the same seed, and resuming from checkpoints."""

from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.errors import ConfigError
from nasaudit.resources import embedded_benchmark_path
from nasaudit.weight_sharing.base import WeightSharingMethod, get_method, ranked_epochs, training_rows
from nasaudit.weight_sharing.jobs import WSJob, make_jobs
from nasaudit.weight_sharing.setup import WSSetup
from nasaudit.weight_sharing.training import run_training, search_space

OPS = ("none", "avg_pool_3x3")  # the embedded table's space: skip_connect, nor_conv_1x1, nor_conv_3x3
TABLE = pd.read_csv(embedded_benchmark_path())["ArchitectureString"].tolist()


def setup(**changes: object) -> WSSetup:
    values: dict[str, object] = {"space": "nb201", "mask": OPS, "within": tuple(TABLE[:40]),
                                 "epochs": 2, "rank_archs": tuple(TABLE[:12]), "rank_images": 100}
    return WSSetup(**{**values, **changes})  # type: ignore[arg-type]


#: the methods' own settings, tiny
SETTINGS = {"spos_evolution": {"evolution_budget": 6}, "enas": {"controller_steps": 1, "controller_batch": 2,
                                                                "derive_samples": 4}, "darts_pt": {"tune_epochs": 0}}


def methods(*names: str) -> list[WeightSharingMethod]:
    return [get_method(name, SETTINGS.get(name)) for name in names]


@pytest.mark.parametrize("training, names", [("spos", ["spos_evolution"]), ("enas", ["enas"]),
                                                ("gdas", ["gdas"]), ("darts", ["darts_alpha", "darts_pt"])])
def test_each_training_ranks_and_derives_members(tmp_path, training: str, names: list[str]) -> None:
    space = search_space(setup())
    first = run_training(training, methods(*names), setup(), seed=1, work_dir=tmp_path / "a")
    assert set(first.finals) == set(names)
    assert all(space.contains(arch) for arch in first.finals.values())
    assert first.rank_epochs == [1, 2] and all(len(s) == 12 for s in first.rank_scores)
    again = run_training(training, methods(*names), setup(), seed=1, work_dir=tmp_path / "b")
    assert again.finals == first.finals and again.rank_scores == first.rank_scores


def test_a_resumed_darts_seed_gives_the_same_outcome(tmp_path) -> None:
    first = run_training("darts", methods("darts_alpha"), setup(), seed=0, work_dir=tmp_path)
    resumed = run_training("darts", methods("darts_alpha"), setup(), seed=0, work_dir=tmp_path)  # every epoch checkpointed
    assert resumed.finals == first.finals and resumed.rank_scores == first.rank_scores
    assert resumed.seconds < first.seconds


def test_jobs_group_methods_by_training_and_ignore_the_work_folder() -> None:
    grouped = training_rows(["darts_pt", "spos_evolution", "darts_alpha"])
    assert grouped == {"darts": ["darts_pt", "darts_alpha"], "spos": ["spos_evolution"]}
    chosen = methods("darts_pt", "spos_evolution", "darts_alpha")
    jobs = make_jobs("x", chosen, setup(), [0, 1], None)
    assert [(job.training, job.methods) for job in jobs[::2]] == [("darts", ("darts_pt", "darts_alpha")),
                                                                 ("spos", ("spos_evolution",))]
    assert len({j.job_id for j in jobs}) == 4
    elsewhere = WSJob(jobs[0].experiment, jobs[0].training, jobs[0].methods, 0, jobs[0].setup, "/somewhere",
                      settings=jobs[0].settings)
    assert elsewhere.job_id == jobs[0].job_id
    assert make_jobs("x", chosen, setup(epochs=3), [0], None)[0].job_id != jobs[0].job_id


def test_settings_are_checked_before_compute() -> None:
    with pytest.raises(ConfigError, match="epochs must be a positive"):
        setup(epochs=0)
    with pytest.raises(ConfigError, match="does not use"):
        run_training("spos", methods("enas"), setup(), seed=0)
    with pytest.raises(ConfigError, match=r"^enas\.controller_steps: Input should be greater than or equal to 1"):
        get_method("enas", {"controller_steps": 0})
    with pytest.raises(ConfigError, match=r"^gdas\.tune_epochs: unknown setting of gdas; valid: none$"):
        get_method("gdas", {"tune_epochs": 1})
    assert ranked_epochs(50) == [1, 6, 12, 17, 23, 28, 34, 39, 45, 50] and ranked_epochs(3) == [1, 2, 3]
