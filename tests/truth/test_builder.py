"""The benchmark builder: selection, jobs, export readable by TabularBenchmark, seed agreement, CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.cli.main import main
from nasaudit.errors import ArchitectureError, ConfigError, DataError
from nasaudit.jobs.job import JobResult
from nasaudit.jobs.provenance import package_version
from nasaudit.jobs.store import ResultStore
from nasaudit.spaces import get_space
from nasaudit.truth import TabularBenchmark
from nasaudit.truth.builder import (
    ARCH_COLUMN,
    BuildSpec,
    TrainJob,
    benchmark_table,
    build_benchmark,
    build_jobs,
    build_progress,
    check_build,
    export_benchmark,
    read_metadata,
    seed_agreement,
    select_architectures,
)

TWO_OPS = ("skip_connect", "nor_conv_3x3")


def fake_train(job: TrainJob) -> JobResult:
    """A deterministic stand-in for training: more 3x3 convs, higher accuracy; the seed adds a little."""
    convs = job.arch.count("nor_conv_3x3")
    return JobResult(metrics={"test_acc": 50.0 + 5.0 * convs + 0.5 * job.seed, "val_acc": 40.0 + convs,
                              "params": 100 * convs, "flops": 1000 * convs, "train_seconds": 1.0 + job.seed},
                     curves={"val_acc": [10.0, 40.0 + convs]})


def test_selection_all_unique_and_seeded_samples() -> None:
    space = get_space("nb201").restrict(TWO_OPS)
    everything = select_architectures(BuildSpec(ops=TWO_OPS))
    assert everything == list(space.enumerate()) and len(everything) == 64
    unique = select_architectures(BuildSpec(ops=TWO_OPS, unique=True))
    keys = [space.canonical(a) for a in unique]
    assert len(set(keys)) == len(keys) == len({space.canonical(a) for a in everything})
    sample = select_architectures(BuildSpec(sample=20, sample_seed=3))
    assert len(set(sample)) == 20
    assert sample == select_architectures(BuildSpec(sample=20, sample_seed=3))
    assert sample != select_architectures(BuildSpec(sample=20, sample_seed=4))
    classes = select_architectures(BuildSpec(sample=10, unique=True, sample_seed=0))
    assert len({get_space("nb201").canonical(a) for a in classes}) == 10
    with pytest.raises(ConfigError, match="cannot sample 65 distinct"):
        select_architectures(BuildSpec(ops=TWO_OPS, sample=65))


def test_spec_checks_and_round_trip() -> None:
    spec = BuildSpec(ops=TWO_OPS, sample=5, seeds=(0, 2), options={"channels": 4}, runtime={"device": "cpu"})
    assert BuildSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert "runtime" not in spec.to_dict()
    with pytest.raises(ConfigError, match="seeds"):
        BuildSpec(seeds=(1, 1))
    with pytest.raises(ConfigError, match="not a JSON value"):
        BuildSpec(options={"channels": {4}})
    nested = BuildSpec(options={"channels": [4]})  # nested JSON is a valid option; the network refuses it
    with pytest.raises(ConfigError, match="channels"):
        check_build(nested)


def test_jobs_are_architecture_major_and_deterministic() -> None:
    spec = BuildSpec(ops=TWO_OPS, sample=3, seeds=(0, 1, 2))
    jobs = build_jobs(spec)
    assert len(jobs) == 9 and len({j.job_id for j in jobs}) == 9
    assert [j.seed for j in jobs[:3]] == [0, 1, 2] and len({j.arch for j in jobs[:3]}) == 1
    assert [j.job_id for j in jobs] == [j.job_id for j in build_jobs(spec)]
    assert build_jobs(BuildSpec(ops=TWO_OPS, sample=3, seeds=(0, 1, 2), runtime={"device": "cpu"}))[0].job_id \
        == jobs[0].job_id


def test_build_export_load_and_query(tmp_path: Path) -> None:
    spec = BuildSpec(ops=TWO_OPS, seeds=(0, 1))
    with ResultStore(tmp_path / "runs.db") as store:
        summary = build_benchmark("two_ops", spec, store, fn=fake_train, progress=False, command="nasaudit x")
        assert (summary.done, summary.complete) == (128, True)
        assert build_progress("two_ops", store) == {"total": 128, "done": 128, "failed": 0, "missing": 0}
        table = export_benchmark("two_ops", store, tmp_path / "two_ops.csv")
        again = build_benchmark("two_ops", spec, store, fn=fake_train, progress=False)
        assert (again.skipped, again.done) == (128, 0)
    convs = table["ArchitectureString"].str.count("nor_conv_3x3").to_numpy()
    np.testing.assert_allclose(table["test_acc"], 50.25 + 5.0 * convs)
    np.testing.assert_allclose(table["test_acc_seed1"] - table["test_acc_seed0"], 0.5)
    np.testing.assert_allclose(table["test_acc_std"], np.sqrt(0.125))
    np.testing.assert_allclose(table["params"], 100 * convs)
    np.testing.assert_allclose(table["train_seconds"], 1.5)
    assert "params_seed0" not in table and "train_seconds_std" not in table

    bench = TabularBenchmark.from_file(tmp_path / "two_ops.csv")
    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|"
    assert len(bench) == 64
    assert bench.query([arch], "test_acc")[0] == pytest.approx(50.25 + 15.0)
    assert bench.evaluator("test_acc").evaluate([arch, arch]).tolist() == [65.25, 65.25]

    meta = read_metadata(tmp_path / "two_ops.csv")
    assert meta["build_command"] == "nasaudit x" and meta["package_version"] == package_version()
    assert meta["spec"] == spec.to_dict() and meta["architectures"] == 64
    assert meta["seed_agreement"]["kendall_tau"] == {"0-1": pytest.approx(1.0)}


def test_parquet_export(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        build_benchmark("p", BuildSpec(ops=TWO_OPS, sample=4), store, fn=fake_train, progress=False)
        export_benchmark("p", store, tmp_path / "p.parquet")
    assert len(TabularBenchmark.from_file(tmp_path / "p.parquet")) == 4


def test_incomplete_builds_need_partial_and_names_keep_their_spec(tmp_path: Path) -> None:
    spec = BuildSpec(ops=TWO_OPS, sample=4, seeds=(0, 1))
    with ResultStore(tmp_path / "runs.db") as store:
        build_benchmark("b", spec, store, fn=fake_train, progress=False)
        first_arch = build_jobs(spec)[0].arch
        with store.engine.begin() as conn:  # drop one run, as if it had never finished
            conn.exec_driver_sql("DELETE FROM training_runs WHERE arch = ? AND seed = 1", (first_arch,))
        with pytest.raises(DataError, match="incomplete: 1 of 4 architectures"):
            benchmark_table("b", store)
        partial = export_benchmark("b", store, tmp_path / "b.csv", partial=True)
        assert len(partial) == 3 and first_arch not in set(partial["ArchitectureString"])
        assert read_metadata(tmp_path / "b.csv")["architectures_left_out"] == 1
        with pytest.raises(ConfigError, match="already exists in the store"):
            build_benchmark("b", BuildSpec(ops=TWO_OPS, sample=5), store, fn=fake_train, progress=False)
        with pytest.raises(DataError, match="no benchmark build named 'nope'"):
            export_benchmark("nope", store, tmp_path / "x.csv")


def test_seed_agreement_values() -> None:
    table = pd.DataFrame({"test_acc_seed0": [1.0, 2.0, 3.0, 4.0], "test_acc_seed1": [1.0, 2.0, 4.0, 3.0],
                          "test_acc_seed2": [4.0, 3.0, 2.0, 1.0]})
    agreement = seed_agreement(table)
    assert agreement.kendall_tau == {"0-1": pytest.approx(4 / 6), "0-2": pytest.approx(-1.0),
                                     "1-2": pytest.approx(-4 / 6)}
    assert agreement.mean_tau == pytest.approx((4 / 6 - 1 - 4 / 6) / 3)
    means = table.mean(axis=1)
    assert agreement.minimum == pytest.approx(means.min()) and agreement.maximum == pytest.approx(means.max())
    assert agreement.mean_seed_std == pytest.approx(table.std(axis=1, ddof=1).mean())
    with pytest.raises(DataError, match="at least two per-seed columns"):
        seed_agreement(table[["test_acc_seed0"]])


# ------------------------------------------------------------------ real training through the CLI
TRAIN_ARGS = ["--ops", "skip_connect,nor_conv_1x1", "--sample", "4", "--sample-seed", "1", "-O", "epochs=1",
              "-O", "channels=4", "--no-progress"]


def run_main(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return int(done.value.code or 0)


@pytest.fixture(scope="module")
def killed_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`bench build` with 2 local workers killed midway (its whole process group), then rerun to the end."""
    folder = tmp_path_factory.mktemp("bench")
    db = str(folder / "runs.db")
    command = [sys.executable, "-m", "nasaudit.cli.main", "bench", "build", "tiny", *TRAIN_ARGS, "--seeds", "2",
               "--store", db, "--executor", "processes", "--workers", "2"]
    log = folder / "killed_build.log"
    with log.open("w") as output:
        driver = subprocess.Popen(command, start_new_session=True, stdout=output, stderr=subprocess.STDOUT)
    with ResultStore(db) as store:
        deadline = time.time() + 240
        while len(store.done_ids()) < 2 and driver.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):  # the group is gone if the build already ended
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
        finished_before_kill = len(store.done_ids())
    code = run_main("bench", "build", "tiny", *TRAIN_ARGS, "--seeds", "2", "--store", db,
                    "--executor", "processes", "--workers", "2")
    return {"db": db, "folder": folder, "before": finished_before_kill, "code": code, "log": log.read_text()}


def test_killed_build_reruns_only_the_missing_runs(killed_build: dict, capsys: pytest.CaptureFixture) -> None:
    assert killed_build["code"] == 0
    assert 2 <= killed_build["before"] < 8, killed_build["log"]
    with ResultStore(killed_build["db"]) as store:
        runs = store.runs()
        assert build_progress("tiny", store) == {"total": 8, "done": 8, "failed": 0, "missing": 0}
        command = store.load_build("tiny")["command"]
    assert len(runs) == 8 and (runs.status == "done").all() and (runs.attempts == 1).all()
    assert runs.worker.nunique() >= 2  # worker processes of the killed run, then fresh ones
    assert command.endswith("-m nasaudit.cli.main bench build tiny " + " ".join(TRAIN_ARGS)
                            + f" --seeds 2 --store {killed_build['db']} --executor processes --workers 2")
    assert run_main("bench", "status", "--store", killed_build["db"]) == 0
    assert "tiny" in capsys.readouterr().out


def test_ray_build_fills_the_same_store_and_the_export_answers_queries(killed_build: dict) -> None:
    pytest.importorskip("ray")
    db, out = killed_build["db"], killed_build["folder"] / "tiny3.csv"
    # the same architectures with a third seed: on Ray only the 4 new runs are trained
    assert run_main("bench", "build", "tiny3", *TRAIN_ARGS, "--seeds", "3", "--store", db,
                    "--executor", "ray", "--workers", "2", "--out", str(out)) == 0
    with ResultStore(db) as store:
        runs = store.runs()
    assert len(runs) == 12 and (runs.status == "done").all()
    assert runs[runs.seed == 2].worker.isin(runs[runs.seed < 2].worker).sum() == 0  # Ray workers, new pids
    bench = TabularBenchmark.from_file(out)
    table = pd.read_csv(out)
    assert len(bench) == 4 and {"test_acc_seed0", "test_acc_seed1", "test_acc_seed2", "params", "flops",
                                "train_seconds"} <= set(table.columns)
    scores = bench.query(table["ArchitectureString"].tolist(), "test_acc")
    np.testing.assert_allclose(scores, table[["test_acc_seed0", "test_acc_seed1", "test_acc_seed2"]].mean(axis=1))
    assert ((scores >= 0) & (scores <= 100)).all() and (table["params"] > 0).all()
    meta = read_metadata(out)
    assert meta["build_command"] and meta["package_version"] == package_version()
    assert meta["spec"]["seeds"] == [0, 1, 2] and meta["spec"]["options"] == {"channels": 4, "epochs": 1}
    assert set(meta["seed_agreement"]["kendall_tau"]) == {"0-1", "0-2", "1-2"}


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = str(tmp_path / "runs.db")
    assert run_main("bench", "export", "nothing", "--store", db, "--out", str(tmp_path / "t.csv")) == 2
    assert "no benchmark build named 'nothing'" in capsys.readouterr().err
    assert run_main("bench", "build", "x", "--store", db, "--executor", "gpu", "--no-progress") == 2
    assert "unknown executor 'gpu'" in capsys.readouterr().err
    assert run_main("bench", "build", "x", "--store", db, "-O", "oops", "--no-progress") == 2
    assert "key=value" in capsys.readouterr().err


def test_a_single_seed_build_exports_with_its_sidecar(tmp_path: Path) -> None:
    """Regression (R2 1/7 bug 7): one seed is a valid build; the sidecar says the agreement is unknown."""
    with ResultStore(tmp_path / "s.db") as store:
        build_benchmark("one", BuildSpec(ops=TWO_OPS, sample=4, seeds=(0,)), store, fn=fake_train, progress=False)
        table = export_benchmark("one", store, tmp_path / "one.csv")
    meta = json.loads((tmp_path / "one.csv.meta.json").read_text())
    assert len(table) == 4 and meta["seed_agreement"] is None
    assert "unknown" in meta["seed_agreement_note"]


@pytest.mark.parametrize(("change", "fragment"), [
    ({"options": {"epochs": -1}}, "epochs must be a whole number"),
    ({"options": {"epochs": float("nan")}}, "finite number"),
    ({"options": {"wings": 3}}, "unknown nb201 network option"),
    ({"protocol": "nb2O1"}, "unknown training protocol"),
    ({"dataset": "cifar10"}, "needs --data-root"),
    ({"sample": 10**6}, "exceeds"),
])
def test_a_build_that_fails_validation_leaves_nothing_behind(tmp_path: Path, change: dict, fragment: str) -> None:
    """Hardening (R2 2/7 item 4): it used to be recorded anyway, blocking its name for good."""
    from nasaudit.errors import NasauditError

    spec = BuildSpec(**{"ops": TWO_OPS, "sample": 2, "protocol": "cpu_small", **change})
    with ResultStore(tmp_path / "s.db") as store:
        with pytest.raises(NasauditError, match=fragment):
            build_benchmark("bad", spec, store, fn=fake_train, progress=False)
        assert store.build_names() == []


def test_delete_keeps_runs_another_build_shares(tmp_path: Path) -> None:
    from nasaudit.truth.builder import delete_build

    with ResultStore(tmp_path / "s.db") as store:
        build_benchmark("a", BuildSpec(ops=TWO_OPS, sample=4, seeds=(0,)), store, fn=fake_train, progress=False)
        build_benchmark("b", BuildSpec(ops=TWO_OPS, sample=6, seeds=(0,)), store, fn=fake_train, progress=False)
        assert delete_build("a", store) == 0  # all four of a's runs are b's too
        assert delete_build("b", store) == 6 and store.build_names() == []


def test_export_writes_the_official_format_back(tmp_path: Path) -> None:
    """R2 7/7: `bench export --official` writes the benchmark's own string format, which loads back."""
    from nasaudit.cli.main import main
    from nasaudit.truth.tabular import TabularBenchmark

    with ResultStore(tmp_path / "s.db") as store:
        build_benchmark("b", BuildSpec(ops=TWO_OPS, sample=5, seeds=(0, 1)), store, fn=fake_train, progress=False)
    with pytest.raises(SystemExit) as done:
        main(["bench", "export", "b", "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "b.csv"),
              "--official", str(tmp_path / "official.csv")])
    assert done.value.code == 0
    official = pd.read_csv(tmp_path / "official.csv")
    ours = pd.read_csv(tmp_path / "b.csv")
    assert official["arch"].tolist() == ours["ArchitectureString"].tolist()
    again = TabularBenchmark.from_file(tmp_path / "official.csv", arch_column="arch")
    np.testing.assert_allclose(again.scores("test_acc"), ours["test_acc"])


def test_train_job_identity_is_canonical_and_keeps_ids_when_a_defaulted_field_is_added() -> None:
    from dataclasses import field, make_dataclass

    from nasaudit.jobs.job import absent_means

    job = TrainJob(space="nb201", arch="a", canonical="k", protocol="p", dataset="d", seed=1,
                   options={"epochs": 2.0, "widths": [8, 16]}, runtime={"device": "cpu"})
    same = TrainJob(space="nb201", arch="a", canonical="other", protocol="p", dataset="d", seed=1,
                    options=(("widths", (8, 16)), ("epochs", 2)), runtime={"data_root": "/elsewhere"})
    assert same.job_id == job.job_id  # canonical (derived) and runtime are not identity; 2.0 is 2, tuples lists
    assert job.columns()["options"] == {"epochs": 2.0, "widths": [8, 16]}
    grown = make_dataclass("TrainJob", [("fidelity", str, field(default="full", metadata=absent_means("full")))],
                           bases=(TrainJob,), frozen=True)
    values = {"space": "nb201", "arch": "a", "canonical": "k", "protocol": "p", "dataset": "d", "seed": 1,
              "options": {"epochs": 2, "widths": [8, 16]}}
    assert grown(**values).job_id == job.job_id
    assert grown(**values, fidelity="half").job_id != job.job_id


def test_named_architectures_join_the_sample_or_stand_alone() -> None:
    """``archs`` builds chosen cells of a space too large to enumerate (the DARTS benchmark), after any sample."""
    darts = get_space("darts")
    named = tuple(str(arch) for arch in darts.sample_many(3, 7))
    alone = select_architectures(BuildSpec(space="darts", archs=(*named, named[0])))
    assert [str(arch) for arch in alone] == list(named)  # a repeated name is trained once
    mixed = select_architectures(BuildSpec(space="darts", sample=2, sample_seed=0, archs=named))
    assert [str(arch) for arch in mixed[2:]] == list(named) and len(mixed) == 5
    spec = BuildSpec(space="darts", archs=named, seeds=(0, 1))
    assert BuildSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert "archs" not in BuildSpec(ops=TWO_OPS).to_dict()  # absent means none: saved builds keep their identity
    with pytest.raises(ArchitectureError, match="missing field"):
        check_build(BuildSpec(space="darts", archs=("Genotype(normal=[('sep_conv_9x9', 0)])",)))


def test_per_epoch_tau_reads_the_test_curve_of_every_run(tmp_path) -> None:
    from nasaudit.truth.shipped import per_epoch_tau

    def curved(job: TrainJob) -> JobResult:
        convs = job.arch.count("nor_conv_3x3")
        first = 10.0 + convs * (-1) ** job.seed  # epoch 1: seed 1 ranks backwards; epoch 2: all agree
        return JobResult(metrics={"test_acc": 50.0 + convs}, curves={"test_acc": [first, 50.0 + convs + job.seed / 10],
                                                                   "seconds": [1.0, 3.0]})

    with ResultStore(tmp_path / "s.db") as store:
        build_benchmark("c", BuildSpec(ops=TWO_OPS, sample=6, seeds=(0, 1, 2)), store, fn=curved, progress=False)
        points = per_epoch_tau("c", store)
        assert [point["epochs"] for point in points] == [1, 2]
        assert points[1]["tau"] > points[0]["tau"] and points[1]["tau"] == pytest.approx(1.0)
        assert points[1]["cpu_hours"] == pytest.approx(4 * points[0]["cpu_hours"])
        build_benchmark("flat", BuildSpec(ops=TWO_OPS, sample=3, seeds=(5, 6)), store, fn=fake_train, progress=False)
        with pytest.raises(DataError, match="test_each_epoch"):
            per_epoch_tau("flat", store)


def test_training_benchmark_export_states_the_tau_of_each_group(tmp_path) -> None:
    """The shipped DARTS table states its seed-to-seed tau over the uniform sample and the named cells apart."""
    from nasaudit.truth.shipped import export_training_benchmark, seed_to_seed_tau

    with ResultStore(tmp_path / "s.db") as store:
        build_benchmark("g", BuildSpec(ops=TWO_OPS, sample=8, seeds=(0, 1)), store, fn=fake_train, progress=False)
        out = tmp_path / "g.csv"
        whole = export_training_benchmark("g", store, out, probes=[], settings={})
        first, rest = list(whole[ARCH_COLUMN][:3]), list(whole[ARCH_COLUMN][3:])
        table = export_training_benchmark("g", store, out, probes=[], settings={},
                                          groups={"first": first, "rest": rest})
    tau = json.loads(out.with_name(out.name + ".meta.json").read_text())["seed_to_seed_tau"]
    per_seed = table[["test_acc_seed0", "test_acc_seed1"]].to_numpy()
    assert tau["by_group"]["first"] == {"architectures": 3, "tau": pytest.approx(seed_to_seed_tau(per_seed[:3]))}
    assert tau["by_group"]["rest"]["architectures"] == 5
    assert tau["whole"] == pytest.approx(seed_to_seed_tau(per_seed))
