"""Hostile input through the command line and the spec loader (issue #22, items 12 and 13).

Every case gives exactly one ``error:`` line on stderr and exit status 2, never a traceback or a multi-line box:
sizes beyond the bounds of ``nasaudit.limits`` (refused before any compute, the bound named), click's usage errors,
non-ASCII digits in architecture strings, odd checkpoints, tampered run folders and stores, 100k-deep JSON in
benchmark records, a binary importance table, a Ray address that is not Ray, and a disk that fills up while a
table is written (the old file stays, no empty or temporary file is left).
"""

from __future__ import annotations

import errno
import json
import pickle
import re
import socket
import sqlite3
import threading
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types
import pandas as pd
import pytest
import torch
import yaml
from cli_errors import fails_with_one_line
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from nasaudit.audit.spec import AuditSpec, ExecutorSpec, SpaceSpec, load_spec
from nasaudit.cli.main import main
from nasaudit.errors import ConfigError, DataError
from nasaudit.limits import MAX_CHANNELS, MAX_EPOCHS, MAX_RADIUS
from nasaudit.studies import STUDIES
from nasaudit.studies.evaluators import EVALUATOR_KINDS

NB201 = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
DARTS = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
         "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
         "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
         "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
         "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def succeeds(argv: list[str]) -> None:
    """Run the CLI; it must exit 0."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0


# ------------------------------------------------------------------------------ item 12: bounds on every size
Path_ = tuple[Any, ...]  # ("field", name) / ("item",) steps from a model down to a number


def _bounds(metadata: list[Any]) -> float | None:
    upper = None
    for item in metadata:
        if isinstance(item, FieldInfo):
            found = _bounds(list(item.metadata))
            upper = found if found is not None else upper
        elif isinstance(item, annotated_types.Le):
            upper = item.le
        elif isinstance(item, annotated_types.Lt):
            upper = item.lt
    return upper


def _numbers(annotation: Any, metadata: list[Any], path: Path_, out: list[tuple[Path_, type, float | None]],
             seen: set[type]) -> None:
    """Every int/float leaf under ``annotation`` with its upper bound (None: unbounded)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        _numbers(args[0], [*metadata, *args[1:]], path, out, seen)
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            _numbers(arg, metadata, path, out, seen)
    elif origin in (list, tuple):
        for arg in args:
            if arg is not Ellipsis:
                _numbers(arg, [], (*path, ("item",)), out, seen)
    elif origin is dict or origin is typing.Literal:
        return  # free-form options are bounded where they are applied (protocol fields, network options)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _model_numbers(annotation, path, out, seen)
    elif annotation in (int, float):
        out.append((path, annotation, _bounds(metadata)))


def _model_numbers(model: type[BaseModel], path: Path_, out: list[tuple[Path_, type, float | None]],
                   seen: set[type]) -> None:
    if model in seen:
        return
    seen = seen | {model}
    for name, info in model.model_fields.items():
        _numbers(info.annotation, list(info.metadata), (*path, ("model", model), ("field", name)), out, seen)


def _literals(model: type[BaseModel]) -> dict[str, Any]:
    """A model's one-value ``Literal`` fields (its ``kind`` / ``generator`` tag), so a union picks it."""
    return {name: typing.get_args(info.annotation)[0] for name, info in model.model_fields.items()
            if typing.get_origin(info.annotation) is typing.Literal and len(typing.get_args(info.annotation)) == 1}


def _nest(path: Path_, value: Any) -> Any:
    """The spec data that puts ``value`` at ``path`` (tags of the models on the way included)."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if step[0] == "model":
        data = _nest(rest, value)
        return {**_literals(step[1]), **data} if isinstance(data, dict) else data
    if step[0] == "item":
        return [_nest(rest, value)]
    return {step[1]: _nest(rest, value)}


def _spec_fields() -> list[tuple[str, dict[str, Any], float | None]]:
    """(id, spec data with one field just beyond its bound, the bound) for every number of every spec."""
    cases: list[tuple[str, dict[str, Any], float | None]] = []

    def add(prefix: str, model: type[BaseModel], wrap: Any) -> None:
        found: list[tuple[Path_, type, float | None]] = []
        _model_numbers(model, (), found, set())
        for path, kind, bound in found:
            name = ".".join(step[1] if step[0] == "field" else "[]" for step in path if step[0] != "model")
            huge = (int(bound) + 1 if kind is int else float(bound) * 10 + 1) if bound is not None else 10**12
            cases.append((f"{prefix}.{name}", wrap(_nest(path, huge)), bound))

    for kind in STUDIES.names():
        add(kind, STUDIES.get(kind).spec, lambda data: {"analyses": [data]})
    for kind in EVALUATOR_KINDS.names():
        add(f"evaluator.{kind}", EVALUATOR_KINDS.get(kind).spec,
            lambda data: {"evaluators": {"e": data}, "analyses": [{"kind": "cell_shape"}]})
    add("space", SpaceSpec, lambda data: {"space": data, "analyses": [{"kind": "cell_shape"}]})
    add("executor", ExecutorSpec, lambda data: {"executor": data, "analyses": [{"kind": "cell_shape"}]})
    for path, _, bound in _top_numbers():
        huge = int(bound) + 1 if bound is not None else 10**12
        cases.append((f"audit.{path[-1][1]}", {**_nest(path, huge), "analyses": [{"kind": "cell_shape"}]}, bound))
    return cases


def _top_numbers() -> list[tuple[Path_, type, float | None]]:
    found: list[tuple[Path_, type, float | None]] = []
    for name, info in AuditSpec.model_fields.items():
        if name not in ("space", "executor", "evaluators", "analyses"):
            _numbers(info.annotation, list(info.metadata), (("field", name),), found, set())
    return found


SPEC_FIELDS = _spec_fields()


def test_every_number_of_every_spec_has_an_upper_bound() -> None:
    assert len(SPEC_FIELDS) > 60  # the walk reaches the study, evaluator, space and executor specs
    unbounded = [case for case, _, bound in SPEC_FIELDS if bound is None]
    assert not unbounded, f"fields without an upper bound: {unbounded}"


@pytest.mark.parametrize(("data", "bound"), [(data, bound) for _, data, bound in SPEC_FIELDS],
                         ids=[case for case, _, _ in SPEC_FIELDS])
def test_a_value_beyond_the_bound_is_refused_by_the_spec_loader_and_the_cli(
        data: dict[str, Any], bound: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data))
    stated = re.compile(rf"less than (or equal to )?{int(bound) if float(bound).is_integer() else bound}\b")
    with pytest.raises(ConfigError) as refused:
        load_spec(spec)
    assert stated.search(str(refused.value)), str(refused.value)
    line = fails_with_one_line(["run", str(spec), "--out", str(tmp_path / "out")], "less than", capsys)
    assert stated.search(line), line
    assert not (tmp_path / "out").exists()


HUGE_OPTIONS: dict[str, tuple[list[str], str]] = {
    "train epochs": (["train", "--space", "nb201", "--arch", NB201, "--epochs", str(10**12)], str(MAX_EPOCHS)),
    "train macro channels": (["train", "--space", "nb201", "--arch", NB201, "--epochs", "1", "--macro",
                              "channels=100000000"], f"{MAX_CHANNELS:,}"),
    "train seed": (["train", "--space", "nb201", "--arch", NB201, "--seed", str(2**40)], "--seed"),
    "supernet channels": (["supernet", "train", "-o", "{tmp}/s.pt", "--channels", "100000000"], str(MAX_CHANNELS)),
    "supernet epochs": (["supernet", "train", "-o", "{tmp}/s.pt", "--epochs", str(10**12)], str(MAX_EPOCHS)),
    "supernet batch": (["supernet", "train", "-o", "{tmp}/s.pt", "--batch-size", str(10**9)], "65536"),
    "landscape radius": (["dynamics", "landscape", "-o", "{tmp}/o", "--archs", NB201, "--radius", "1e308"],
                         f"{MAX_RADIUS:g}"),
    "compare budget": (["compare", "--table", "embedded", "--metric", "test_acc", "-o", "{tmp}/o", "--budget",
                        str(10**12)], "10000000"),
    "compare ws epochs": (["compare", "--table", "embedded", "--metric", "test_acc", "-o", "{tmp}/o", "--ws-epochs",
                           str(10**12)], str(MAX_EPOCHS)),
    "space samples": (["space", "show", "nb201", "--samples", str(10**12)], "--samples"),
    "bench sample": (["bench", "build", "b", "--store", "{tmp}/s.db", "--sample", str(10**12)], "--sample"),
    "bench seeds": (["bench", "build", "b", "--store", "{tmp}/s.db", "--seeds", str(10**9)], "--seeds"),
    "bench workers": (["bench", "build", "b", "--store", "{tmp}/s.db", "--workers", str(10**6)], "--workers"),
    "bench option channels": (["bench", "build", "b", "--store", "{tmp}/s.db", "--executor", "sequential", "-O",
                               "channels=100000000"], f"{MAX_CHANNELS:,}"),
    "bench option epochs": (["bench", "build", "b", "--store", "{tmp}/s.db", "--executor", "sequential", "-O",
                             "epochs=1e12"], f"{MAX_EPOCHS:,}"),
    "darts snapshot epochs": (["darts", "search", "-o", "{tmp}/o", "--snapshot-epochs", str(10**12)],
                              str(MAX_EPOCHS)),
}


@pytest.mark.parametrize(("value", "fragment"), [("nan", "whole number"), ("-5", "at least 1"),
                                                 ("2.5", "whole number"), ("[8]", "whole number")])
def test_network_options_are_whole_numbers_in_range(value: str, fragment: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    fails_with_one_line(["train", "--space", "nb201", "--arch", NB201, "--epochs", "1", "--macro", f"channels={value}",
                         "--out", str(tmp_path / "r.json"), "--quiet"], fragment, capsys)
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("case", list(HUGE_OPTIONS))
def test_huge_option_is_refused_before_compute(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    argv, bound = HUGE_OPTIONS[case]
    fails_with_one_line([arg.format(tmp=tmp_path) for arg in argv], bound, capsys)
    assert not list(tmp_path.rglob("*.pt")) and not (tmp_path / "o").exists()


# ------------------------------------------------------------------ item 13: usage errors are one line too
USAGE: dict[str, tuple[list[str], str]] = {
    "range": (["bench", "build", "b", "--workers", "0"], "--workers"),
    "negative": (["space", "show", "nb201", "--samples", "-1"], "--samples"),
    "not a number": (["train", "--space", "nb201", "--arch", NB201, "--epochs", "a"], "--epochs"),
    "not a list of numbers": (["darts", "search", "-o", "{tmp}/o", "--snapshot-epochs", "a"], "--snapshot-epochs"),
    "unicode digits in a list": (["darts", "search", "-o", "{tmp}/o", "--snapshot-epochs", "\u0663"],
                                 "--snapshot-epochs"),
    "missing argument": (["space", "validate", "nb201"], "missing argument"),
    "missing option": (["darts", "search"], "--out"),
    "unknown option": (["space", "list", "--bogus"], "--bogus"),
    "unknown command": (["trian"], "no such command"),
}


@pytest.mark.parametrize("case", list(USAGE))
def test_usage_errors_are_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv, fragment = USAGE[case]
    fails_with_one_line([arg.format(tmp=tmp_path) for arg in argv], fragment, capsys)
    assert not (tmp_path / "o").exists()


def test_help_still_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    succeeds(["space", "--help"])
    assert "validate" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["space"])
    assert done.value.code == 2 and "validate" in capsys.readouterr().out


# ----------------------------------------------------------------------------- non-ASCII digits in archs
@pytest.mark.parametrize(("space", "arch"), [
    ("nb201", NB201.replace("~0|+", "~\uff10|+", 1)),  # full-width zero
    ("nb201", NB201.replace("~2|", "~\u0662|")),  # Arabic-Indic two
    ("darts", DARTS.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', \u0660)", 1)),
    ("nb101", '{"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]}'.replace("1]", "\u0661]")),
], ids=["nb201-fullwidth", "nb201-arabic", "darts", "nb101"])
def test_non_ascii_digits_are_refused(space: str, arch: str, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with_one_line(["space", "validate", space, arch], "non-ASCII", capsys)


def test_ascii_architectures_still_validate(capsys: pytest.CaptureFixture[str]) -> None:
    succeeds(["space", "validate", "nb201", NB201])
    assert "valid" in capsys.readouterr().out


# ------------------------------------------------------------------------------------- odd checkpoints
class Foreign:
    """A class a checkpoint must not be able to instantiate."""


def _checkpoints(folder: Path) -> dict[str, Path]:
    files = {}
    files["truncated zip"] = folder / "truncated.pt"
    files["truncated zip"].write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    files["foreign pickle"] = folder / "foreign.pt"
    files["foreign pickle"].write_bytes(pickle.dumps(Foreign()))
    files["a list"] = folder / "list.pt"
    torch.save([1, 2, 3], files["a list"])
    files["wrong keys"] = folder / "keys.pt"
    torch.save({"model": {}, "unexpected": 1}, files["wrong keys"])
    files["wrong types"] = folder / "types.pt"
    torch.save({"model": "weights", "config": 5, "seed": "x", "dataset": [], "val_fraction": "a", "history": 3,
                "wall_time_s": None}, files["wrong types"])
    files["empty"] = folder / "empty.pt"
    files["empty"].write_bytes(b"")
    return files


@pytest.mark.parametrize("case", ["truncated zip", "foreign pickle", "a list", "wrong keys", "wrong types", "empty"])
def test_odd_supernet_files_are_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _checkpoints(tmp_path)[case]
    fails_with_one_line(["supernet", "rank", str(path), "--table", "embedded", "--metric", "test_acc",
                         "--out", str(tmp_path / "o")], path.name, capsys)


def test_supernet_of_the_wrong_size_is_one_line(tmp_path: Path) -> None:
    from nasaudit.data.loading import load_dataset
    from nasaudit.weight_sharing.supernet.training import SupernetConfig, load_run

    config = SupernetConfig(space="nb201", channels=4, depth=1)
    model = config.build(load_dataset("embedded", None, val_fraction=0.1, seed=0)).state_dict()
    name = next(key for key, value in model.items() if value.ndim == 4)
    model[name] = torch.zeros(3, 3, 3, 3)  # a tensor of another shape
    path = tmp_path / "resized.pt"
    torch.save({"model": model, "config": dict(config.to_options()), "seed": 0, "dataset": "embedded",
                "val_fraction": 0.1, "history": [], "wall_time_s": 0.0}, path)
    with pytest.raises(DataError, match=r"resized\.pt does not fit") as refused:
        load_run(path)
    assert "\n" not in str(refused.value)



@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A one-epoch ``nasaudit train`` run with a checkpoint folder (seconds on the embedded digits)."""
    folder = tmp_path_factory.mktemp("train")
    succeeds(["train", "--space", "nb201", "--arch", NB201, "--epochs", "1", "--checkpoint-dir", str(folder / "ck"),
              "--out", str(folder / "r.json"), "--quiet", "--macro", "channels=4", "--macro", "cells_per_stage=1"])
    yield folder / "ck" / "checkpoint.pt"


@pytest.mark.parametrize("case", ["garbage", "a list", "resized weights", "wrong history"])
def test_tampered_training_checkpoint_is_one_line(case: str, trained_checkpoint: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ck"
    folder.mkdir()
    target = folder / "checkpoint.pt"
    state = torch.load(trained_checkpoint, weights_only=True)
    if case == "garbage":
        target.write_bytes(b"\x80\x04garbage")
    elif case == "a list":
        torch.save([state], target)
    elif case == "resized weights":
        name = next(key for key, value in state["model"].items() if value.ndim == 4)
        state["model"][name] = torch.zeros(1, 1, 1, 1)
        torch.save(state, target)
    else:
        state["history"] = [{"not": "a record"}]
        torch.save(state, target)
    fails_with_one_line(["train", "--space", "nb201", "--arch", NB201, "--epochs", "2", "--checkpoint-dir",
                         str(folder), "--out", str(tmp_path / "r.json"), "--quiet", "--macro", "channels=4",
                         "--macro", "cells_per_stage=1"], "checkpoint.pt", capsys)
    assert not (tmp_path / "r.json").exists()


# ------------------------------------------------------------------------- tampered run folders and stores
@pytest.fixture
def run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    succeeds(["analyze", "cell-shape", "--out", str(tmp_path / "run")])
    capsys.readouterr()
    return tmp_path / "run"


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"key": 1}', b"\xff\xfe\x00", b"[" * 100_000,
                                     b'{"key": "k", "title": "t", "summary": "s", "settings": {}, "tables": 5}'],
                         ids=["invalid", "a list", "missing keys", "binary", "deep", "wrong types"])
def test_tampered_section_json_is_one_line(content: bytes, run_folder: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    (run_folder / "00-cell_shape" / "section.json").write_bytes(content)
    fails_with_one_line(["analyze", "cell-shape", "--out", str(run_folder)], "section.json", capsys)


@pytest.mark.parametrize(("column", "value"), [
    ("metrics", "{not json"), ("metrics", '"a string"'), ("metrics", '{"section": 5}'),
    ("metrics", '{"section": {"key": 1}}'), ("params", "[[[["), ("metrics", "[" * 100_000 + "]" * 100_000),
    ("started_at", "yesterday")], ids=["invalid", "a string", "a number", "missing keys", "params", "deep", "time"])
def test_tampered_store_rows_are_one_line(column: str, value: str, run_folder: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(run_folder / "results.sqlite") as db:
        db.execute(f"UPDATE experiment_results SET {column} = ?", (value,))
    line = fails_with_one_line(["report", str(run_folder)], "results.sqlite", capsys)
    assert any(phrase in line for phrase in ("not a section record", "cannot be read", "holds no finished",
                                             "edited or damaged"))


# --------------------------------------------------------------------------- deep JSON in benchmark records
def test_deep_json_in_an_nb301_result_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "nb301" / "rs"
    folder.mkdir(parents=True)
    (folder / "results_0.json").write_text("[" * 100_000 + "]" * 100_000)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"space": {"name": "darts"}, "evaluators": {
        "t": {"kind": "nb301_results", "path": str(tmp_path / "nb301")}}, "analyses": [
        {"kind": "importance", "evaluator": "t"}]}))
    fails_with_one_line(["run", str(spec), "--out", str(tmp_path / "o")], "results_0.json", capsys)


def test_deep_json_in_an_nb101_record_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasaudit.truth.tfrecord import write_records

    source = tmp_path / "nasbench.tfrecord"
    write_records(source, [b"[" * 100_000 + b"]" * 100_000])
    line = fails_with_one_line(["bench", "convert-nb101", str(source), str(tmp_path / "t.csv"), "--no-progress"],
                               "nasbench.tfrecord", capsys)
    assert "deeper than" in line
    assert not (tmp_path / "t.csv").exists()


def test_flat_json_still_loads() -> None:
    from nasaudit.yamlio import loads_json

    assert loads_json('{"a": "[[[[{{", "b": [[1]]}', "x") == {"a": "[[[[{{", "b": [[1]]}
    with pytest.raises(DataError, match="deeper than 3"):
        loads_json("[[[[1]]]]", "x", max_depth=3)


# --------------------------------------------------------------------------------- a binary importance file
def test_binary_importance_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "oi.csv"
    table.write_bytes(bytes(range(256)) * 20)
    fails_with_one_line(["dynamics", "draw", NB201, "--importance", str(table), "--out", str(tmp_path / "o")],
                        "oi.csv", capsys)


# ------------------------------------------------------------------------------- a Ray address that is not Ray
@pytest.fixture
def http_server() -> Iterator[int]:
    """A local TCP server that answers every connection like a web server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(1024)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def test_ray_address_that_is_not_ray_is_one_line(http_server: int, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray")
    fails_with_one_line(["bench", "build", "b", "--store", str(tmp_path / "s.db"), "--sample", "1", "--seeds", "1",
                         "-O", "epochs=1", "--executor", "ray", "--ray-address", f"127.0.0.1:{http_server}",
                         "--no-progress"], "does not answer like a Ray cluster", capsys)


def test_grpc_probe_accepts_a_settings_frame() -> None:
    """A server whose first HTTP/2 frame is SETTINGS (what every gRPC server, Ray's GCS included, sends after the
    client preface) passes the probe."""
    from nasaudit.jobs.executors import check_reachable

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(64)
            conn.sendall(bytes.fromhex("000006040000000000") + bytes.fromhex("000300000064"))

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    check_reachable(f"127.0.0.1:{server.getsockname()[1]}", timeout_s=5)
    thread.join(5)
    server.close()


# ------------------------------------------------------------------------------------ a disk that fills up
def _disk_full_for_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """``DataFrame.to_csv`` fails as on a full disk: a path it was given is truncated first (as opening it for
    writing does), then the write fails with ENOSPC."""
    def full(self: pd.DataFrame, path_or_buf: Any = None, *args: Any, **kwargs: Any) -> None:
        if isinstance(path_or_buf, (str, Path)):
            Path(path_or_buf).write_bytes(b"")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding a finished one-architecture, one-seed, one-epoch build named ``tiny``."""
    folder = tmp_path_factory.mktemp("build")
    succeeds(["bench", "build", "tiny", "--store", str(folder / "s.db"), "--sample", "1", "--seeds", "1", "-O",
              "epochs=1", "--executor", "sequential", "--no-progress"])
    return folder / "s.db"


@pytest.mark.parametrize(("metrics", "fragment"), [('"x"', "not a JSON object"), ("null", "not a JSON object"),
                                                   ('{"test_acc": "abc"}', "not a number"),
                                                   ('{"test_acc": [1, 2]}', "not a number"), ("{oops", "cannot be read")])
def test_tampered_training_runs_are_one_line(metrics: str, fragment: str, tiny_build: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.db"
    store.write_bytes(tiny_build.read_bytes())
    with sqlite3.connect(store) as db:
        db.execute("UPDATE training_runs SET metrics = ?", (metrics,))
    fails_with_one_line(["bench", "export", "tiny", "--store", str(store), "--out", str(tmp_path / "t.csv")],
                        fragment, capsys)
    assert not (tmp_path / "t.csv").exists()


def test_disk_full_during_export_keeps_the_old_table(tiny_build: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "table.csv"
    succeeds(["bench", "export", "tiny", "--store", str(tiny_build), "--out", str(table)])
    capsys.readouterr()
    old, old_meta = table.read_bytes(), (tmp_path / "table.csv.meta.json").read_bytes()
    assert old
    _disk_full_for_tables(monkeypatch)
    fails_with_one_line(["bench", "export", "tiny", "--store", str(tiny_build), "--out", str(table)],
                        "No space left on device", capsys)
    assert table.read_bytes() == old and (tmp_path / "table.csv.meta.json").read_bytes() == old_meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv", "table.csv.meta.json"]


def test_disk_full_during_enumerate_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import csv

    out = tmp_path / "archs.csv"
    out.write_text("old\n")
    real = csv.writer

    class Full:
        def __init__(self, handle: Any) -> None:
            self.writer, self.rows = real(handle), 0

        def writerow(self, row: list[str]) -> None:
            self.rows += 1
            if self.rows > 100:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.writer.writerow(row)

    monkeypatch.setattr(csv, "writer", Full)
    fails_with_one_line(["space", "enumerate", "nb201", "--out", str(out)], "No space left on device", capsys)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["archs.csv"]


def test_disk_full_while_writing_a_section_leaves_no_empty_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _disk_full_for_tables(monkeypatch)
    fails_with_one_line(["analyze", "cell-shape", "--out", str(tmp_path / "run")], "No space left on device", capsys)
    assert not [p for p in (tmp_path / "run").rglob("*") if p.is_file() and p.stat().st_size == 0]
    assert not list((tmp_path / "run").rglob("*.tmp"))


def test_every_writer_of_the_package_goes_through_atomic_writes() -> None:
    """No module writes a file directly (a full disk would leave it empty or half-written)."""
    import nasaudit

    root = Path(nasaudit.__file__).parent
    handle = r"(?!(self\._)?handle\b|index=False\))"  # writing into a handle of atomic_open, or to text
    direct = re.compile(rf"\.write_text\(|\.write_bytes\(|\.to_csv\({handle}|\.to_parquet\({handle}|"
                        rf"torch\.save\(|(?<!atomic_)open\(.*\"[wa]|savefig\({handle}|np\.save|json\.dump\(")
    offenders = []
    for path in sorted(root.rglob("*.py")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            inside_atomic = any("atomic_open(" in before for before in lines[max(0, number - 3):number])
            in_memory = "io.BytesIO()" in line
            if direct.search(line) and not inside_atomic and not in_memory and path.name != "_atomic.py":
                offenders.append(f"{path.relative_to(root)}:{number + 1}")
    assert not offenders, offenders


def test_json_of_the_report_and_spec_round_trip(run_folder: Path) -> None:
    assert json.loads((run_folder / "spec.json").read_text())["analyses"][0]["kind"] == "cell_shape"
    assert (run_folder / "report.html").read_text().startswith("<!")
