"""``nasaudit darts search`` reaches every field of the differentiable study's spec (issue 22, item 5)."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from nasaudit.cli import darts as darts_cli
from nasaudit.cli.main import main
from nasaudit.studies.differentiable import DifferentiableSpec

#: spec fields the command sets another way: the study kind is the command's; ``truth`` is the evaluator --table builds
NOT_AN_OPTION = {"kind": None, "truth": "--table"}

#: a value other than the default for every option
ARGV = ["--algorithm", "sdarts_rs", "--preset", "paper", "--dataset", "cifar10", "--data-root", "data",
        "--val-fraction", "0.25", "--epochs", "3", "--channels", "8", "--depth", "4", "--batch-size", "32",
        "--search-seeds", "2", "--selections", "pt,pt_mag", "--tune-epochs", "2", "--tune-sweep", "0,1",
        "--snapshot-epochs", "1,2", "--table", "embedded", "--shuffle-repeats", "3", "--reference", "2.61% error",
        "--device", "cpu"]


def _options() -> set[str]:
    from nasaudit.cli.main import app

    group = typer.main.get_command(app)
    search = group.commands["darts"].commands["search"]  # type: ignore[attr-defined]
    return {opt for param in search.params for opt in param.opts}


def test_every_spec_field_has_an_option() -> None:
    options = _options()
    for name in DifferentiableSpec.model_fields:
        option = NOT_AN_OPTION.get(name, "--" + name.replace("_", "-"))
        assert option is None or option in options, f"spec field {name!r} has no option {option} in `nasaudit darts search`"


def test_every_spec_field_reaches_the_study(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}

    def run_studies(name: str, studies: list[dict[str, Any]], **kwargs: Any) -> None:
        captured["study"], captured["kwargs"] = studies[0], kwargs

    monkeypatch.setattr(darts_cli, "run_studies", run_studies)
    try:  # success: a normal return, or exit code 0
        main(["darts", "search", "--out", str(tmp_path / "o"), *ARGV])
    except SystemExit as done:
        assert done.code in (0, None)
    spec = DifferentiableSpec.model_validate(captured["study"])
    for name, field in DifferentiableSpec.model_fields.items():
        if name not in ("kind", "space"):  # every other field took the command line's value (--space: the audit's)
            assert getattr(spec, name) != field.get_default(call_default_factory=True), name
    assert spec.tune_sweep == [0, 1] and spec.channels == 8 and spec.depth == 4 and spec.batch_size == 32
    assert spec.shuffle_repeats == 3 and spec.selections == ["pt", "pt_mag"]
    assert captured["kwargs"]["evaluators"]["truth"]["path"] == "embedded"


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--channels", "0", "channels"), ("--batch-size", "-1", "batch_size"), ("--tune-sweep", "a", "--tune-sweep"),
    ("--shuffle-repeats", "-2", "shuffle_repeats"), ("--val-fraction", "1.5", "val_fraction"),
    ("--selections", "pt,magic", "selections")])
def test_bad_values_are_refused_with_one_line(tmp_path, capsys: pytest.CaptureFixture[str], option: str, value: str,
                                              message: str) -> None:
    with pytest.raises(SystemExit) as done:
        main(["darts", "search", "--out", str(tmp_path / "o"), option, value])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.startswith("error:") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "o").exists()
