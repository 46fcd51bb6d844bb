"""``nasaudit dynamics``: train sets of architectures and compare their convergence (architectures paper Sec. 4.1,
redundancy paper Figs. 5, 6, 10b), measure their loss landscapes, gradient variance and sharpness (Sec. 4.2),
draw cells (redundancy Fig. 9). Each command builds a one-study spec run by the audit runner; the flags are
named as the spec keys and take the spec's defaults (``--bases`` and ``--archs`` repeat; ``--seeds`` and ``--lrs``
are comma-separated); ``--set`` reaches the rest (``--set sets.0.orders=[high]``, ``--set hessian_tol=0.0001``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from nasaudit.cli._spec_options import SetOption, spec_argument, spec_option, study_command
from nasaudit.cli._study import (
    ArchColumnOption,
    ExecutorOption,
    MetricOption,
    OpsOption,
    OutOption,
    PluginOption,
    SeedOption,
    WorkersOption,
    run_studies,
    split_names,
    table_evaluators,
)
from nasaudit.errors import ConfigError

app = typer.Typer(help="Training dynamics and ablations: train architecture sets, loss landscapes, cell drawings.",
                  no_args_is_help=True)

DynamicsSpaceOption = typer.Option("darts", "--space", help="Registered search space of the architectures.")
GeneratorOption = typer.Option("archs", "--generator", help="Set generator: variants, shape, cell_swap, "
                                                            "primskip_edit, switch_off, primskip_groups or archs.")
NameOption = typer.Option(None, "--name", help="Name of the set (default: the generator).")
BasesOption = spec_option("sets.variants.bases", "--bases", help="Base cell: a published genotype name or a genotype "
                                                                "string (repeatable).")
ArchsOption = spec_option("sets.switch_off.archs", "--archs", help="Architecture string (repeatable): the 'archs' and "
                                                                   "'switch_off' generators.")
SampleOption = spec_option("sets.variants.sample", "--sample", min=0,
                           help="Random base cells (switch_off: archs drawn from the importance table).")
NOption = spec_option("sets.variants.n", "--n", min=1, help="Random variants per base cell (variants).")
VariantKindOption = spec_option("sets.variants.variant_kind", "--variant-kind",
                                help="Variants: connection or operation.")
CellTypesOption = typer.Option(None, "--cell-types", help="Cell types changed: normal, reduce (repeatable; default: "
                                                          "the generator's own, normal for variants and both for "
                                                          "shape).")
NPerGroupOption = spec_option("sets.primskip_groups.n_per_group", "--n-per-group", min=1,
                              help="Samples per PrimSkip group (primskip_groups).")
MaxDisabledOption = spec_option("sets.switch_off.max_disabled", "--max-disabled", min=0,
                                help="Most operations switched off (switch_off; default: half the active ones).")
ProtocolOption = spec_option("protocol", "--protocol", help="Training protocol (nasaudit.train.PROTOCOLS).")
DatasetOption = spec_option("dataset", "--dataset", help="embedded, cifar10, cifar100, imagenet16-120, svhn.")
DataRootOption = spec_option("data_root", "--data-root", help="Folder of the dataset files.")
SeedsOption = spec_option("seeds", "--seeds", help="Comma-separated training seeds.")
EpochsOption = spec_option("epochs", "--epochs", min=1, help="Override the protocol's epochs.")
LrsOption = spec_option("lrs", "--lrs", help="Comma-separated learning rates, one run each (paper Fig. 4: "
                                             "0.0025,0.025,0.25).")
MacroOption = typer.Option(None, "--macro", help="Network option KEY=VALUE, e.g. channels=8 (repeatable; the spec's "
                                                 "macro mapping, none by default).")
DeviceOption = spec_option("device", "--device", help="cpu or cuda (default: cuda when available).")
ImportanceOption = spec_option("importance", "--importance", help="Operation-importance CSV (switch_off, colouring).")
TableOption = typer.Option(None, "--table", "-t", help="Benchmark table scoring operation importance (or "
                                                       "'embedded').")
TableDatasetOption = typer.Option(None, "--table-dataset", help="Dataset of the table's metric alias.")
TopOption = spec_option("top", "--top", min=0.0, max=1.0, help="Top fraction whose OI the table gives "
                                                              "(switch_off --sample).")
FractionOption = spec_option("fraction", "--fraction", min=0.0, max=1.0,
                             help="Convergence speed: epochs to this fraction of the final test accuracy.")


def scalar(text: str) -> bool | int | float | str:
    """``"8"`` -> 8, ``"0.5"`` -> 0.5, ``"true"`` -> True, anything else stays text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_macro(items: list[str] | None) -> dict[str, Any]:
    """``["channels=8", "layers=3"]`` -> ``{"channels": 8, "layers": 3}``."""
    macro: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--macro takes KEY=VALUE, got {item!r}")
        macro[key.strip()] = scalar(value.strip())
    return macro


def _numbers(text: str | None, kind: type, flag: str) -> list[Any] | None:
    names = split_names(text)
    if names is None:
        return None
    try:
        return [kind(name) for name in names]
    except ValueError:
        raise ConfigError(f"{flag} takes comma-separated numbers, got {text!r}") from None


def set_spec(generator: str, name: str | None, bases: list[str] | None, archs: list[str] | None, sample: int,
             n: int, variant_kind: str, cell_types: list[str] | None, n_per_group: int,
             max_disabled: int | None) -> dict[str, Any]:
    """The one set a command trains, with only the keys its generator takes."""
    spec: dict[str, Any] = {"name": name or generator, "generator": generator}
    if generator in ("variants", "shape", "cell_swap", "primskip_edit"):
        spec.update(bases=bases or [], sample=sample)
    if generator == "variants":
        spec.update(n=n, variant_kind=variant_kind)
    if generator in ("variants", "shape") and cell_types:
        spec["cell_types"] = cell_types
    if generator == "switch_off":
        spec.update(archs=archs or [], sample=sample, max_disabled=max_disabled)
    if generator == "primskip_groups":
        spec["n_per_group"] = n_per_group
    if generator == "archs":
        spec["archs"] = archs or []
    return spec


def training_keys(protocol: str, dataset: str, data_root: Path | None, seeds: str, epochs: int | None,
                  lrs: str | None, macro: list[str] | None, device: str | None, importance: Path | None,
                  table: str | None, top: float, fraction: float) -> dict[str, Any]:
    """The training keys of a trained-sets study."""
    return {"protocol": protocol, "dataset": dataset, "data_root": str(data_root) if data_root else None,
            "seeds": _numbers(seeds, int, "--seeds"), "epochs": epochs, "lrs": _numbers(lrs, float, "--lrs"),
            "macro": parse_macro(macro), "device": device, "importance": str(importance) if importance else None,
            "evaluator": "truth" if table else None, "top": top, "fraction": fraction}


def _evaluators(table: str | None, metric: str, table_dataset: str | None, arch_column: str) -> dict[str, Any]:
    return table_evaluators(table, metric, [table_dataset] if table_dataset else None, arch_column) if table else {}


def _truth_named(evaluators: dict[str, Any]) -> dict[str, Any]:
    return {"truth": next(iter(evaluators.values()))} if evaluators else {}


@app.command("train-set", cls=study_command("arch_sets"))
def train_set_command(
    out: Path = OutOption, space: str = DynamicsSpaceOption, ops: str | None = OpsOption, seed: int = SeedOption,
    generator: str = GeneratorOption, name: str | None = NameOption, bases: list[str] | None = BasesOption,
    archs: list[str] | None = ArchsOption, sample: int = SampleOption, n: int = NOption,
    variant_kind: str = VariantKindOption, cell_types: list[str] | None = CellTypesOption,
    n_per_group: int = NPerGroupOption, max_disabled: int | None = MaxDisabledOption,
    protocol: str = ProtocolOption, dataset: str = DatasetOption, data_root: Path | None = DataRootOption,
    seeds: str = SeedsOption, epochs: int | None = EpochsOption, lrs: str | None = LrsOption,
    macro: list[str] | None = MacroOption, device: str | None = DeviceOption,
    importance: Path | None = ImportanceOption, table: str | None = TableOption, metric: str = MetricOption,
    table_dataset: str | None = TableDatasetOption, arch_column: str = ArchColumnOption, top: float = TopOption,
    fraction: float = FractionOption, executor: str = ExecutorOption, workers: int = WorkersOption,
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Train a set of architectures; accuracy, convergence and Wilcoxon tests per group (architectures paper
    Sec. 4.1, Fig. 4 with --lrs; redundancy paper Figs. 5, 6, 10b, Table 2a)."""
    study = {"kind": "arch_sets",
             "sets": [set_spec(generator, name, bases, archs, sample, n, variant_kind, cell_types, n_per_group,
                               max_disabled)],
             **training_keys(protocol, dataset, data_root, seeds, epochs, lrs, macro, device, importance, table, top,
                             fraction)}
    run_studies("train-set", [study], out=out, seed=seed, space=space, ops=ops,
                evaluators=_truth_named(_evaluators(table, metric, table_dataset, arch_column)),
                executor={"kind": executor, "workers": workers}, settings=set_values)


@app.command("landscape", cls=study_command("dynamics"))
def landscape_command(
    out: Path = OutOption, space: str = DynamicsSpaceOption, ops: str | None = OpsOption, seed: int = SeedOption,
    generator: str = GeneratorOption, name: str | None = NameOption, bases: list[str] | None = BasesOption,
    archs: list[str] | None = ArchsOption, sample: int = SampleOption, n: int = NOption,
    variant_kind: str = VariantKindOption, cell_types: list[str] | None = CellTypesOption,
    n_per_group: int = NPerGroupOption, max_disabled: int | None = MaxDisabledOption,
    protocol: str = ProtocolOption, dataset: str = DatasetOption, data_root: Path | None = DataRootOption,
    seeds: str = SeedsOption, epochs: int | None = EpochsOption, lrs: str | None = LrsOption,
    macro: list[str] | None = MacroOption, device: str | None = DeviceOption,
    importance: Path | None = ImportanceOption, table: str | None = TableOption, metric: str = MetricOption,
    table_dataset: str | None = TableDatasetOption, arch_column: str = ArchColumnOption, top: float = TopOption,
    fraction: float = FractionOption, executor: str = ExecutorOption, workers: int = WorkersOption,
    eval_images: int = spec_option("eval_images", "--eval-images", min=4,
                                   help="Images the measures are computed on."),
    radius: float = spec_option("radius", "--radius", min=0.0, help="The plane spans [-radius, radius]^2."),
    grid: int = spec_option("grid", "--grid", min=3, help="Points per axis of the 2-D landscape (odd)."),
    grid_1d: int = spec_option("grid_1d", "--grid-1d", min=3, help="Points of the 1-D landscape (odd)."),
    variance_grid: int = spec_option("variance_grid", "--variance-grid", min=1,
                                     help="Points per axis of the gradient-variance map (odd)."),
    variance_batch: int = spec_option("variance_batch", "--variance-batch", min=1,
                                      help="Images per mini-batch of the gradient variance (1: per instance)."),
    hessian_iters: int = spec_option("hessian_iters", "--hessian-iters", min=1,
                                     help="Power iterations for the top Hessian eigenvalue."),
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Train a set, then its loss landscapes, gradient variance and sharpness side by side with convergence
    speed and accuracy (architectures paper Sec. 4.2, Figs. 6-8)."""
    study = {"kind": "dynamics",
             "sets": [set_spec(generator, name, bases, archs, sample, n, variant_kind, cell_types, n_per_group,
                               max_disabled)],
             **training_keys(protocol, dataset, data_root, seeds, epochs, lrs, macro, device, importance, table, top,
                             fraction),
             "eval_images": eval_images, "radius": radius, "grid": grid, "grid_1d": grid_1d,
             "variance_grid": variance_grid, "variance_batch": variance_batch, "hessian_iters": hessian_iters}
    run_studies("landscape", [study], out=out, seed=seed, space=space, ops=ops,
                evaluators=_truth_named(_evaluators(table, metric, table_dataset, arch_column)),
                executor={"kind": executor, "workers": workers}, settings=set_values)


DrawnArchsArgument = spec_argument("archs", help="Architecture strings of the space.")
DrawnPublishedOption = spec_option("published", "--published",
                                   help="Published DARTS genotype to draw (repeatable; 'all' for every one).")
DrawnCellTypesOption = spec_option("cell_types", "--cell-types", help="Cell types drawn: normal, reduce (repeatable).")


@app.command("draw", cls=study_command("cell_drawing"))
def draw_command(
    archs: list[str] | None = DrawnArchsArgument,
    out: Path = OutOption, space: str = typer.Option("nb201", "--space", help="Registered search space."),
    ops: str | None = OpsOption, seed: int = SeedOption, published: list[str] | None = DrawnPublishedOption,
    importance: Path | None = ImportanceOption, table: str | None = TableOption, metric: str = MetricOption,
    table_dataset: str | None = TableDatasetOption, arch_column: str = ArchColumnOption,
    cell_types: list[str] | None = DrawnCellTypesOption,
    short_names: bool = spec_option("short_names", "--short-names", help="Short operation names (s3, skip, ...)."),
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Draw cells, coloured by operation importance with --table or --importance (redundancy paper Fig. 9)."""
    study = {"kind": "cell_drawing", "archs": archs or [], "published": published or [],
             "evaluator": "truth" if table else None, "importance": str(importance) if importance else None,
             "cell_types": cell_types or None, "short_names": short_names}
    run_studies("draw", [study], out=out, seed=seed, space=space, ops=ops,
                evaluators=_truth_named(_evaluators(table, metric, table_dataset, arch_column)), settings=set_values)
