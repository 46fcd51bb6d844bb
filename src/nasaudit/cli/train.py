"""``nasaudit train``: train one architecture under a named protocol, print the curve, write a record."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from nasaudit.limits import MAX_EPOCHS, MAX_SEED

_out = Console()


def _macro(options: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of macro-network settings, values read as YAML scalars."""
    import yaml

    from nasaudit.errors import ConfigError

    macro: dict[str, Any] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--macro expects KEY=VALUE (e.g. channels=16), got {option!r}")
        macro[key.strip()] = yaml.safe_load(value)
    return macro


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def train_command(
    space: str = typer.Option(..., help="Registered space name, e.g. nb201, darts, nb101."),
    arch: str = typer.Option(..., help="Architecture string in the space's community format."),
    protocol: str = typer.Option("cpu_small", help="Training protocol, e.g. nb201, darts_eval, cpu_small."),
    data: str = typer.Option("embedded", help="Dataset: embedded, cifar10, cifar100, imagenet16-120, svhn, ..."),
    data_root: Path | None = typer.Option(None, help="Folder holding the dataset files (not for 'embedded')."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Seed of the weights, the validation split and the batches."),
    epochs: int | None = typer.Option(None, min=1, max=MAX_EPOCHS, help="Override the protocol's number of epochs."),
    val_fraction: float = typer.Option(0.1, min=0.0, max=0.99, help="Share of training images held out."),
    macro: list[str] = typer.Option([], help="Network option KEY=VALUE, repeatable (e.g. channels=16)."),
    device: str | None = typer.Option(None, help="cpu, cuda or cuda:N (default: cuda when available)."),
    checkpoint_dir: Path | None = typer.Option(None, help="Checkpoint every epoch here; resume from it."),
    out: Path = typer.Option(Path("train_result.json"), "--out", "-o", help="JSON result record to write."),
    quiet: bool = typer.Option(False, help="No progress bar."),
) -> None:
    """Train an architecture from scratch and report its learning curve and test accuracy (an RNN space's cell:
    a language model on a text corpus, jargon or ptb, and its perplexities)."""
    from nasaudit.spaces import get_space
    from nasaudit.train.arch import is_lm_space

    if is_lm_space(get_space(space)):
        _train_lm(space, arch, protocol=protocol, data=data, data_root=data_root, seed=seed, epochs=epochs,
                  macro=_macro(macro), device=device, checkpoint_dir=checkpoint_dir, out=out, quiet=quiet)
        return
    from rich.table import Table

    from nasaudit._atomic import atomic_write
    from nasaudit.train import get_protocol, train_arch
    proto = get_protocol(protocol)
    if epochs is not None:
        proto = proto.with_overrides(epochs=epochs)
    result = train_arch(space, arch, protocol=proto, dataset=data, seed=seed, data_root=data_root,
                        checkpoint_dir=checkpoint_dir, device=device, val_fraction=val_fraction,
                        progress=not quiet, **_macro(macro))
    table = Table("epoch", "lr", "train loss", "train acc %", "val loss", "val acc %", "s")
    for r in result.history:
        table.add_row(str(r.epoch), f"{r.lr:.4g}", f"{r.train_loss:.4f}", _pct(r.train_acc),
                      "-" if math.isnan(r.val_loss) else f"{r.val_loss:.4f}", _pct(r.val_acc), f"{r.seconds:.1f}")
    _out.print(table)
    _out.print(f"test accuracy {_pct(result.test_acc)}% | params {result.params:,} | mult-adds {result.flops:,} | "
               f"{result.wall_time_s:.1f} s on {result.device}", highlight=False)
    atomic_write(out, json.dumps(result.to_dict(), indent=2, allow_nan=True))
    _out.print(f"wrote {out}", highlight=False)


def _ppl(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else str(value)


def _train_lm(space: str, arch: str, *, protocol: str, data: str, data_root: Path | None, seed: int,
              epochs: int | None, macro: dict[str, Any], device: str | None, checkpoint_dir: Path | None, out: Path,
              quiet: bool) -> None:
    """An RNN space's cell trained as a language model (``train_lm_arch``): per-epoch loss and perplexity, the
    best validation and the test perplexity; the record is the ``LMResult`` with the space, cell and model."""
    from dataclasses import asdict

    from rich.table import Table

    from nasaudit._atomic import atomic_write
    from nasaudit.spaces import get_space
    from nasaudit.train.arch import lm_model_kwargs, train_lm_arch
    from nasaudit.train.lm import LMProtocol, get_lm_protocol, perplexity

    proto = get_lm_protocol(protocol)
    if epochs is not None:
        overridden = proto.with_overrides(epochs=epochs)
        assert isinstance(overridden, LMProtocol)  # with_overrides keeps the class
        proto = overridden
    the_space = get_space(space)
    cell = the_space.format(the_space.parse(arch))
    model = {k: v for k, v in macro.items() if k != "text_prefix"}
    settings = lm_model_kwargs(proto, **model)
    result = train_lm_arch(the_space, cell, protocol=proto, dataset=data, seed=seed, data_root=data_root,
                           checkpoint_dir=checkpoint_dir, device=device, progress=not quiet, **macro)
    table = Table("epoch", "lr", "train loss", "train ppl", "val loss", "val ppl", "s")
    for r in result.history:
        table.add_row(str(r.epoch), f"{r.lr:.4g}", f"{r.train_loss:.4f}", _ppl(perplexity(r.train_loss)),
                      f"{r.val_loss:.4f}", _ppl(perplexity(r.val_loss)), f"{r.seconds:.1f}")
    _out.print(table)
    switched = "never" if result.asgd_epoch is None else f"epoch {result.asgd_epoch}"
    _out.print(f"best val perplexity {_ppl(result.best_val_ppl)} | test perplexity {_ppl(result.test_ppl)} | "
               f"params {result.params:,} | ASGD {switched} | {result.wall_time_s:.1f} s on {result.device}",
               highlight=False)
    record = {"space": the_space.name, "arch": cell, "model": settings, "text_prefix": macro.get("text_prefix"),
              **asdict(result)}
    atomic_write(out, json.dumps(record, indent=2, allow_nan=True))
    _out.print(f"wrote {out}", highlight=False)
