"""Users' plugins (``nasaudit.plugins``, docs/plugins.md): the worked examples of ``examples/plugins`` run through
``compare`` from a spec and from the command line on tiny settings; a plugin's content is part of the result key;
a broken plugin is one line naming it; installed entry points and ``NASAUDIT_PLUGINS`` load on a lookup."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import load_spec, validate_spec
from nasaudit.cli.main import main
from nasaudit.errors import ConfigError
from nasaudit.plugins import ENV
from nasaudit.report.build import write_report
from nasaudit.yamlio import read_yaml

EXAMPLES = Path(__file__).parents[2] / "examples" / "plugins"
#: a tiny comparison: the embedded table's 729 cells of three ops, 5 queries, 2 seeds
TINY = {"space": {"name": "nb201", "ops": ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]},
        "evaluators": {"truth": {"kind": "table", "path": "embedded", "metric": "test_acc"}}}
CLI_TINY = ["-t", "embedded", "-m", "test_acc", "--ops", "skip_connect,nor_conv_1x1,nor_conv_3x3", "--budget", "5",
            "--seeds", "2"]


@pytest.fixture(autouse=True)
def _own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit loads list their plugins in NASAUDIT_PLUGINS (for worker processes): restored after each test."""
    monkeypatch.delenv(ENV, raising=False)


def _spec(folder: Path, plugins: list[str], analyses: list[dict], evaluators: dict | None = None) -> Path:
    data = {"name": "plugins", "output": "out", "plugins": plugins, "space": TINY["space"],
            "evaluators": {**TINY["evaluators"], **(evaluators or {})}, "analyses": analyses}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _copy(folder: Path, name: str) -> Path:
    return Path(shutil.copy(EXAMPLES / name, folder / name))


def _run(spec_path: Path) -> tuple[pd.DataFrame, str]:
    """Run a spec; the first study's summary and what the runner printed."""
    text = io.StringIO()
    runner = Runner(load_spec(spec_path), Console(file=text, width=200))
    try:
        sections = runner.run()
        write_report("plugins", runner.out, sections)
    finally:
        runner.store.close()
    return pd.read_csv(runner.out / "00-compare" / "summary.csv"), text.getvalue()


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    return int(done.value.code or 0), capsys.readouterr().err


# ------------------------------------------------------------------ the worked examples
@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_the_example_specs_are_valid(name: str) -> None:
    _, problems = validate_spec(read_yaml(EXAMPLES / name), EXAMPLES)
    assert problems == []


def test_a_user_strategy_runs_in_compare_from_a_spec(tmp_path: Path) -> None:
    _copy(tmp_path, "greedy_mutation.py")
    spec = _spec(tmp_path, ["greedy_mutation.py"], [{"kind": "compare", "evaluator": "truth", "budget": 5,
                                                     "seeds": 2, "strategies": ["random", "greedy_mutation"]}])
    summary, _ = _run(spec)
    assert summary["strategy"].tolist() == ["random", "greedy_mutation"]
    row = summary.set_index("strategy").loc["greedy_mutation"]
    assert row["seeds"] == 2 and row["budget"] == 5 and 0 < row["best"] <= 100
    trajectories = pd.read_csv(tmp_path / "out" / "00-compare" / "trajectories.csv")
    walked = trajectories[trajectories["strategy"] == "greedy_mutation"]
    assert len(walked) == 10 and walked.groupby("seed")["arch"].nunique().tolist() == [5, 5]
    settings = json.loads((tmp_path / "out" / "00-compare" / "section.json").read_text())["settings"]
    assert settings["plugins"].startswith("greedy_mutation.py (sha256 ")  # the report names the users' code


def test_a_user_strategy_runs_in_compare_from_the_command_line(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli(["compare", *CLI_TINY, "-s", "random,greedy_mutation", "--plugin",
                      str(EXAMPLES / "greedy_mutation.py"), "-o", str(tmp_path / "out")], capsys)
    assert code == 0, err
    summary = pd.read_csv(tmp_path / "out" / "00-compare" / "summary.csv")
    assert summary["strategy"].tolist() == ["random", "greedy_mutation"]


def test_a_user_evaluator_is_the_search_signal_from_a_spec(tmp_path: Path) -> None:
    from nasaudit.nn.networks import build_network, count_parameters

    _copy(tmp_path, "param_count.py")
    spec = _spec(tmp_path, ["param_count.py"],
                 [{"kind": "compare", "evaluator": "params", "truth": "truth", "budget": 5, "seeds": 2,
                   "strategies": ["random", "local"]}], {"params": {"kind": "param_count", "macro": {"channels": 4}}})
    summary, _ = _run(spec)
    assert summary["strategy"].tolist() == ["random", "local"]
    trajectories = pd.read_csv(tmp_path / "out" / "00-compare" / "trajectories.csv")
    first = trajectories.iloc[0]  # the search signal is the real parameter count of the built network
    network = build_network(first["arch"], "nb201", num_classes=10, channels=4)
    assert first["score"] == pytest.approx(count_parameters(network) / 1e6)


def test_a_user_evaluator_is_the_search_signal_from_the_command_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli(["compare", *CLI_TINY, "-s", "random,local", "--search-evaluator", "param_count",
                      "--plugin", str(EXAMPLES / "param_count.py"), "-o", str(tmp_path / "out")], capsys)
    assert code == 0, err
    summary = pd.read_csv(tmp_path / "out" / "00-compare" / "summary.csv")
    assert summary["strategy"].tolist() == ["random", "local"]
    scores = pd.read_csv(tmp_path / "out" / "00-compare" / "trajectories.csv")["score"]
    assert scores.max() < 2  # millions of parameters, not the table's accuracies


# ------------------------------------------------------------------ the plugin's content is part of the key
def test_editing_a_plugin_reruns_the_studies_that_use_it_and_only_those(tmp_path: Path) -> None:
    plugin = tmp_path / "greedy_edit.py"  # its own strategy name: the test edits it
    plugin.write_text((EXAMPLES / "greedy_mutation.py").read_text().replace("greedy_mutation", "greedy_edit"))
    spec = _spec(tmp_path, ["greedy_edit.py"], [
        {"kind": "compare", "evaluator": "truth", "budget": 5, "seeds": 2, "strategies": ["random", "greedy_edit"]},
        {"kind": "compare", "evaluator": "truth", "budget": 5, "seeds": 2, "strategies": ["random"]}])
    _, first = _run(spec)
    assert "skipped" not in first
    _, again = _run(spec)
    assert "00-compare: already done, skipped" in again and "01-compare: already done, skipped" in again
    plugin.write_text(plugin.read_text().replace("n_init: int = 5)", "n_init: int = 3)"))
    summary, edited = _run(spec)
    assert "00-compare: running" in edited and "00-compare: already done" not in edited
    assert "01-compare: already done, skipped" in edited
    assert summary["strategy"].tolist() == ["random", "greedy_edit"]
    _, unchanged = _run(spec)
    assert "00-compare: already done, skipped" in unchanged


def test_a_study_without_plugins_keeps_its_key(tmp_path: Path) -> None:
    _copy(tmp_path, "greedy_mutation.py")
    spec = load_spec(_spec(tmp_path, ["greedy_mutation.py"], [
        {"kind": "compare", "evaluator": "truth", "strategies": ["greedy_mutation"]},
        {"kind": "compare", "evaluator": "truth", "strategies": ["random"]}]))
    runner = Runner(spec, Console(file=io.StringIO()))
    try:
        with_plugin, without = (runner.study_key(study) for study in spec.analyses)
    finally:
        runner.store.close()
    assert list(with_plugin["plugins"]) == ["greedy_mutation.py"]
    assert len(with_plugin["plugins"]["greedy_mutation.py"]) == 64
    assert "plugins" not in without


# ------------------------------------------------------------------ broken plugins: one line naming them
BROKEN = {
    "raises.py": ("raise RuntimeError('no GPU here')\n", "plugin 'raises.py': RuntimeError: no GPU here (at raises.py, line 1)"),
    "syntax.py": ("def broken(:\n", "plugin 'syntax.py': SyntaxError"),
    "no_run.py": ("from nasaudit.search.registry import STRATEGIES\n"
                  "class Walk:\n    name = 'walk'\n"
                  "STRATEGIES.add('walk', Walk)\n",
                  "plugin 'no_run.py': strategy 'walk' breaks the contract: Walk has no run(space, evaluator, budget, "
                  "seed) method"),
    "clash.py": ("from nasaudit.search.random_search import RandomSearch\n"
                 "from nasaudit.search.registry import STRATEGIES\n"
                 "STRATEGIES.add('random', RandomSearch)\n",
                 "plugin 'clash.py': strategy 'random' is already registered by nasaudit"),
    "nothing.py": ("VALUE = 1\n", "plugin 'nothing.py': registered nothing"),
    "bad_study.py": ("from typing import Literal\n"
                     "from nasaudit.studies import StudySpec, register_study\n"
                     "class S(StudySpec):\n    kind: Literal['other'] = 'other'\n"
                     "register_study('mine', S, 'x')(lambda context, spec: None)\n",
                     "plugin 'bad_study.py': study kind 'mine' breaks the contract: its spec S needs kind: "
                     "Literal['mine']"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_plugin_is_one_line_naming_it(name: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    source, expected = BROKEN[name]
    (tmp_path / name).write_text(source)
    spec = _spec(tmp_path, [name], [{"kind": "cell_shape"}])
    code, err = _cli(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err.startswith(f"error: {expected}") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("ref", "expected"), [
    ("../outside.py", "a spec's plugin file must be a relative path inside the spec's folder"),
    ("/etc/outside.py", "a spec's plugin file must be a relative path inside the spec's folder"),
    ("missing.py", "file not found"),
    ("no_such_module_xyz", "ModuleNotFoundError: No module named 'no_such_module_xyz'"),
    ("not a module", "neither a module name"),
])
def test_a_spec_names_plugins_inside_its_folder_or_importable_modules(ref: str, expected: str,
                                                                      tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    (tmp_path / "outside.py").write_text("raise SystemExit('must not run')\n")
    with pytest.raises(ConfigError, match=f"^plugin {ref!r}: .*{expected}"):
        load_spec(_spec(folder, [ref], [{"kind": "cell_shape"}]))


def test_a_plugin_file_reached_through_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("raise SystemExit('must not run')\n")
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "linked.py").symlink_to(tmp_path / "real.py")
    with pytest.raises(ConfigError, match="symbolic link"):
        load_spec(_spec(folder, ["linked.py"], [{"kind": "cell_shape"}]))


def test_the_command_line_takes_a_plugin_anywhere_and_names_it_when_broken(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "elsewhere" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("import no_such_dependency_xyz\n")
    code, err = _cli(["compare", *CLI_TINY, "--plugin", str(bad), "-o", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err == (f"error: plugin {str(bad)!r}: ModuleNotFoundError: No module named 'no_such_dependency_xyz' "
                   "(at bad.py, line 1)\n")


# ------------------------------------------------------------------ plugin study kinds are part of the schema
def test_a_plugin_study_kind_is_part_of_the_spec_schema(tmp_path: Path) -> None:
    (tmp_path / "count_study.py").write_text(textwrap.dedent("""
        from typing import Literal

        from pydantic import Field

        from nasaudit.studies import StudyResult, StudySpec, register_study


        class CountSpec(StudySpec):
            kind: Literal["arch_count"] = "arch_count"
            limit: int = Field(10, ge=1, le=100)


        @register_study("arch_count", CountSpec, "how many architectures the space holds")
        def run(context, spec):
            return StudyResult(title="count", summary=str(context.space.size))
    """))
    spec = load_spec(_spec(tmp_path, ["count_study.py"], [{"kind": "arch_count", "limit": 3}]))
    assert spec.analyses[0].kind == "arch_count" and spec.analyses[0].limit == 3
    with pytest.raises(ConfigError, match=r"less than or equal to 100"):
        load_spec(_spec(tmp_path, ["count_study.py"], [{"kind": "arch_count", "limit": 1000}]))


# ------------------------------------------------------------------ installed entry points and NASAUDIT_PLUGINS
PROBE = ("from nasaudit.search.registry import get_strategy, list_strategies\n"
         "print(get_strategy('{name}').name, '{name}' in list_strategies())\n")


def _probe(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A fresh process asks the strategy registry for ``name`` (plugins load on that lookup)."""
    return subprocess.run([sys.executable, "-c", PROBE.format(name=name)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def _install(folder: Path, entry_points: str) -> None:
    """A distribution on ``folder`` (for PYTHONPATH) declaring ``entry_points``; its modules: the examples."""
    shutil.copy(EXAMPLES / "greedy_mutation.py", folder / "greedy_pkg.py")
    shutil.copy(EXAMPLES / "param_count.py", folder / "param_pkg.py")
    (folder / "both_pkg.py").write_text("import greedy_pkg  # noqa: F401\nimport param_pkg  # noqa: F401\n")
    info = folder / "users_nas-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: users-nas\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_an_installed_entry_point_loads_when_its_name_is_looked_up(tmp_path: Path) -> None:
    _install(tmp_path, "[nasaudit.strategies]\ngreedy_mutation = both_pkg\n"
                       "[nasaudit.evaluators]\nparam_count = both_pkg\n")
    done = _probe("greedy_mutation", {"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["greedy_mutation", "True"]


def test_an_entry_point_that_registers_nothing_of_its_group_is_one_line(tmp_path: Path) -> None:
    _install(tmp_path, "[nasaudit.evaluators]\ngreedy = greedy_pkg\n")
    done = _probe("greedy_mutation", {"PYTHONPATH": str(tmp_path)})
    assert done.returncode != 0
    assert ("plugin 'greedy (nasaudit.evaluators entry point greedy_pkg)': registered no evaluator kind"
            in done.stderr)


def test_plugins_listed_in_the_environment_load_in_a_fresh_process(tmp_path: Path) -> None:
    plugin = shutil.copy(EXAMPLES / "greedy_mutation.py", tmp_path / "walker.py")
    done = _probe("greedy_mutation", {ENV: str(plugin)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["greedy_mutation", "True"]
    bad = _probe("greedy_mutation", {ENV: str(tmp_path / "gone.py")})
    assert bad.returncode != 0 and "plugin" in bad.stderr and "file not found" in bad.stderr


STUDY_COMMANDS = [["analyze", "importance"], ["analyze", "subgraphs"], ["analyze", "surrogate"], ["analyze", "primskip"],
                  ["analyze", "op-usage"], ["analyze", "cell-shape"], ["analyze", "primskip-edit"],
                  ["dynamics", "train-set"], ["dynamics", "landscape"], ["dynamics", "draw"], ["supernet", "rank"],
                  ["supernet", "grid"], ["darts", "search"], ["compare"], ["run"]]


@pytest.mark.parametrize("command", STUDY_COMMANDS, ids=" ".join)
def test_every_study_command_loads_plugins_first(command: list[str], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("raise ValueError('from the plugin')\n")
    code, err = _cli([*command, "--plugin", str(bad), "--help"], capsys)
    assert code == 0  # --help is read first and loads nothing
    code, err = _cli([*command, "--plugin", str(bad)], capsys)
    assert code == 2
    assert err == f"error: plugin {str(bad)!r}: ValueError: from the plugin (at bad.py, line 1)\n"


def test_a_spec_without_plugins_loads_the_installed_ones(tmp_path: Path) -> None:
    _install(tmp_path, "[nasaudit.strategies]\ngreedy_mutation = greedy_pkg\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"space": TINY["space"], "evaluators": TINY["evaluators"], "analyses": [
        {"kind": "compare", "evaluator": "truth", "strategies": ["random", "greedy_mutation"]}]}))
    probe = f"from nasaudit.audit.spec import load_spec\nprint(load_spec({str(spec)!r}).analyses[0].strategies)\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['random', 'greedy_mutation']"
