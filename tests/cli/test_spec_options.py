"""Every study command and its spec share every default, and ``--set`` reaches every spec field (issue #23)."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import Field
from typer.testing import CliRunner

from nasaudit.cli import _spec_options
from nasaudit.cli._spec_options import (
    StudyCommand,
    apply_settings,
    cli_default,
    nested_models,
    parse_settings,
    spec_option,
    study_command,
)
from nasaudit.cli.main import app, main
from nasaudit.errors import ConfigError
from nasaudit.studies import study_entry
from nasaudit.studies._trained_sets import PrimSkipGroupSetSpec, SwitchOffSetSpec, VariantSetSpec
from nasaudit.studies._ws_compare import WeightSharingSettings

_errors = importlib.util.spec_from_file_location("cli_errors", Path(__file__).parents[1] / "fuzz" / "cli_errors.py")
assert _errors is not None and _errors.loader is not None
cli_errors = importlib.util.module_from_spec(_errors)
_errors.loader.exec_module(cli_errors)

#: options named after a spec field that deliberately do not take its default, each with the reason its help gives
DIFFERENT = {
    "generator": "the set's generator is required in a spec; the command trains an 'archs' set unless told",
    "name": "the set's name is required in a spec; the command names it after its generator",
    "cell_types": "each generator has its own default (variants: normal; shape: normal and reduce)",
    "macro": "repeatable KEY=VALUE pairs, none by default: the spec's empty mapping",
    "space": "--space names the audit's space, which the command's one study runs in (its own space stays unset)",
    "ops": "--ops masks the audit's space (a field of the space, not of the study)",
}
#: commands that run several study kinds at once, each study with its own defaults
MULTI_STUDY = {"analyze darts-space"}
#: options whose name is not their field's last key part
RENAMED = {"genotypes": "archs", "spec": "grid"}
#: the nested models the options' dotted keys go through
NESTED = {"weight_sharing": WeightSharingSettings, "sets.variants": VariantSetSpec, "sets.switch_off": SwitchOffSetSpec,
          "sets.primskip_groups": PrimSkipGroupSetSpec}


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    if hasattr(group, "commands"):
        return [found for name, command in group.commands.items() for found in _commands(command, (*path, name))]
    return [(" ".join(path), group)]


COMMANDS = dict(_commands(typer.main.get_command(app)))
#: the commands whose callback builds a spec of studies and runs it
STUDY_COMMANDS = sorted(path for path, command in COMMANDS.items()
                        if "run_studies(" in inspect.getsource(inspect.unwrap(command.callback))
                        and path not in MULTI_STUDY)


def _resolved(path: str) -> StudyCommand:
    command = COMMANDS[path]
    assert isinstance(command, StudyCommand), f"`nasaudit {path}` runs studies but is no StudyCommand"
    command.get_params(command.context_class(command))
    return command


def _field_names(model: Any, prefix: str = "") -> set[str]:
    """The option names a spec's fields would have: their own names, ``ws_``-prefixed under weight_sharing, and
    the fields of nested models (the sets of a trained-sets study)."""
    names = set()
    for name, field in model.model_fields.items():
        names.add(prefix + name)
        for nested in nested_models(field.annotation):
            names |= _field_names(nested, "ws_" if name == "weight_sharing" else "")
    return names


def test_the_study_commands_are_found() -> None:
    assert {"compare", "analyze importance", "analyze cell-shape", "supernet rank", "supernet grid", "darts search",
            "dynamics train-set", "dynamics landscape", "dynamics draw"} <= set(STUDY_COMMANDS)


@pytest.mark.parametrize("path", STUDY_COMMANDS)
def test_every_option_of_a_spec_field_has_the_spec_default(path: str) -> None:
    command = _resolved(path)
    assert command.spec_keys is not None
    spec = study_entry(command.spec_kind).spec
    params = {param.name: param for param in command.params}
    assert "set_values" in params and "--set" in params["set_values"].opts
    for name, key in command.spec_keys.items():
        prefix, _, last = key.rpartition(".")
        assert RENAMED.get(name, name).removeprefix("ws_") == last, f"--{name} is linked to {key!r}"
        field = (NESTED[prefix] if prefix else spec).model_fields[last]
        param = params[name]
        expected = cli_default(field.get_default(call_default_factory=True),
                               bool(getattr(param, "multiple", False)) or param.nargs == -1)
        assert param.default == expected, f"{path} --{name}: command {param.default!r}, spec {expected!r}"
    fields = _field_names(spec)
    unlinked = {name for name in params if name in fields and name not in command.spec_keys}
    assert unlinked <= set(DIFFERENT), f"{path}: options named after spec fields but not linked: {unlinked}"


def test_a_described_field_gives_its_option_its_help(monkeypatch: pytest.MonkeyPatch) -> None:
    described = Field(3, description="Widgets per run, as the spec says.")
    monkeypatch.setattr(_spec_options, "spec_field", lambda kind, key: described)
    toy = typer.Typer()

    @toy.command("widgets", cls=study_command("toy"))
    def widgets(count: int = spec_option("widgets", "--count", help="The command's own words.")) -> None:
        print(f"count={count}")

    @toy.command("other")
    def other() -> None:  # a second command keeps ``widgets`` a subcommand
        pass

    shown = CliRunner().invoke(toy, ["widgets", "--help"], terminal_width=200).output
    assert "Widgets per run, as the spec says." in shown and "The command's own words." not in shown
    assert "count=3" in CliRunner().invoke(toy, ["widgets"]).output


def test_top_level_help_reads_no_spec() -> None:
    """The defaults come from the spec models when a study command is used, not when ``nasaudit`` starts."""
    import subprocess
    import sys

    probe = ("import sys\nfrom nasaudit.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('STUDIES=' + str('nasaudit.studies' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "STUDIES=False"


def test_set_reaches_a_nested_field_and_wins_over_an_option(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as done:
        main(["compare", "-t", "embedded", "-m", "test_acc", "-s", "random", "--within-truth", "--seeds", "1",
              "--budget", "5", "--set", "budget=3", "--set", "weight_sharing.rank_images=7", "-o", str(out)])
    assert done.value.code == 0
    study = json.loads((out / "spec.json").read_text())["analyses"][0]
    assert study["budget"] == 3 and study["seeds"] == 1
    assert study["weight_sharing"]["rank_images"] == 7 and study["weight_sharing"]["epochs"] == 10


def test_set_builds_the_mappings_on_its_path() -> None:
    study = apply_settings({"kind": "compare", "weight_sharing": {"epochs": 2}, "sets": [{"n": 1}]},
                           parse_settings(["weight_sharing.methods.spos_evolution.evolution_budget=20",
                                           "strategies=[random, local]", "sets.0.n=3", "reference=null"]))
    assert study == {"kind": "compare", "weight_sharing": {"epochs": 2, "methods": {"spos_evolution": {
        "evolution_budget": 20}}}, "sets": [{"n": 3}], "strategies": ["random", "local"], "reference": None}


@pytest.mark.parametrize(("setting", "message"), [
    ("budget", "KEY=VALUE"), ("a..b=1", "KEY=VALUE"), ("budget=[1", "invalid YAML"), ("budget=&a [*a]", "alias"),
    ("budget.x=1", "budget is 100"), ("sets.0.n=1", "no key or index"),
])
def test_malformed_settings_are_one_config_error(setting: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_settings({"budget": 100, "sets": []}, parse_settings([setting]))


@pytest.mark.parametrize(("setting", "fragment"), [
    ("weight_sharing.epoch=3", "weight_sharing.epoch"), ("budget=many", "budget"), ("seeds", "KEY=VALUE"),
])
def test_a_bad_set_is_one_line_before_compute(setting: str, fragment: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    cli_errors.fails_with_one_line(["compare", "-t", "embedded", "-m", "test_acc", "-s", "random", "--set", setting,
                                    "-o", str(out)], fragment, capsys)
    assert not out.exists()
