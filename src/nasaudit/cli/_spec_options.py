"""Command-line options backed by a study's pydantic spec, so a command and a spec share every default (issue #23).

``spec_option(key, *flags)`` declares an option whose default (and help, where the field has a description) is
the field ``key`` (dotted: ``weight_sharing.epochs``; a tagged union's member by its tag: ``sets.variants.n``)
of the spec of the study its command runs, registered with ``cls=study_command(kind)``. The command reads the
spec model the first time it parses or shows its help, so ``nasaudit --help`` imports no spec. ``--set KEY=VALUE``
reaches every field of the study, the rare ones included (``parse_settings`` and ``apply_settings``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

import typer
from typer.core import TyperCommand

from nasaudit.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.fields import FieldInfo
    from typer._click import Context, Parameter


@dataclass(frozen=True)
class SpecDefault:
    """The placeholder default of an option backed by the field ``key`` of its command's study spec."""

    key: str


def spec_option(key: str, *flags: str, **options: Any) -> Any:
    """A typer option (``flags`` and ``options`` as ``typer.Option`` takes them, ``help`` used where the field
    has no description) whose default is the spec field's."""
    return typer.Option(SpecDefault(key), *flags, **options)


def spec_argument(key: str, **options: Any) -> Any:
    """A typer argument whose default is the spec field's, as ``spec_option``."""
    return typer.Argument(SpecDefault(key), **options)


def spec_field(kind: str, key: str) -> FieldInfo:
    """The field at dotted ``key`` of study ``kind``'s spec model: a nested model's field through its name, a
    tagged union's member through its tag (``sets.variants.n``); LookupError when there is none."""
    from nasaudit.studies import study_entry

    model: type[BaseModel] | None = study_entry(kind).spec
    parts = key.split(".")
    while model is not None and parts and parts[0] in model.model_fields:
        field = model.model_fields[parts.pop(0)]
        if not parts:
            return field
        members = nested_models(field.annotation)
        if len(members) > 1 and (tag_field := _discriminator(field.annotation)) is not None:
            tag = parts.pop(0)
            members = [member for member in members if member.model_fields[tag_field].default == tag]
        model = members[0] if len(members) == 1 else None
    raise LookupError(f"the {kind!r} study's spec has no field {key!r}")


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field's annotation (through Optional, list, Annotated and Union)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in nested_models(arg)]


def _discriminator(annotation: Any) -> str | None:
    """The field that tags the members of a union inside ``annotation`` (``sets``: ``generator``), or None."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(tag := getattr(meta, "discriminator", None), str):
            return tag
    return next((tag for arg in get_args(annotation) if (tag := _discriminator(arg)) is not None), None)


def cli_default(value: Any, many: bool) -> Any:
    """A spec default as its option takes it: a list as a repeatable option's list or as comma-separated text,
    an empty list as no value."""
    if isinstance(value, (list, tuple)):
        if not value:
            return None
        return list(value) if many else ",".join(str(item) for item in value)
    return value


class StudyCommand(TyperCommand):
    """A command that runs the study ``spec_kind``: its ``spec_option`` parameters take their default and help
    from the spec model when the command first parses or shows help; ``spec_keys`` then maps each to its key."""

    spec_kind: str
    spec_keys: dict[str, str] | None = None

    def get_params(self, ctx: Context) -> list[Parameter]:
        if self.spec_keys is None:
            keys = {}
            for param in self.params:
                if isinstance(param.default, SpecDefault) and param.name is not None:
                    keys[param.name] = param.default.key
                    field = spec_field(self.spec_kind, param.default.key)
                    many = bool(getattr(param, "multiple", False)) or param.nargs == -1
                    param.default = cli_default(field.get_default(call_default_factory=True), many)
                    if field.description and hasattr(param, "help"):
                        param.help = field.description
            self.spec_keys = keys
        return super().get_params(ctx)


def study_command(kind: str) -> type[StudyCommand]:
    """The command class (typer's ``cls=``) of a command that runs the study ``kind``."""
    return type(f"{kind.title().replace('_', '')}Command", (StudyCommand,), {"spec_kind": kind})


SetOption = typer.Option(
    None, "--set", metavar="KEY=VALUE",
    help="Set any field of the study's spec, the ones without an option too: KEY is its dotted path as in a spec "
         "file (e.g. budget or weight_sharing.methods.spos_evolution.evolution_budget of compare; a list item by its "
         "index: sets.0.n), VALUE is read as YAML (50, true, null, a flow list or mapping). Repeatable; applied "
         "after the other options, so --set wins over them.")


def parse_settings(items: list[str] | None) -> list[tuple[list[str], Any]]:
    """``["weight_sharing.epochs=3"]`` -> ``[(["weight_sharing", "epochs"], 3)]``: each value read as bounded,
    safe YAML; a malformed item is one ConfigError line."""
    from nasaudit.yamlio import loads_yaml

    settings = []
    for item in items or []:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(part.strip() for part in parts):
            raise ConfigError(f"--set takes KEY=VALUE with KEY a dotted path into the study's spec, got {item!r}")
        settings.append(([part.strip() for part in parts], loads_yaml(text, f"--set {key.strip()}")))
    return settings


def apply_settings(study: dict[str, Any], settings: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """``study`` with each setting's value put at its path (a missing or null mapping on the way becomes an empty
    one); the spec's validation then judges keys and values. A path through a value that is neither a mapping
    nor a list is one ConfigError line."""
    for parts, value in settings:
        node: Any = study
        for depth in range(len(parts) - 1):
            slot = _slot(node, parts, depth)
            if isinstance(node, dict) and node.get(slot) is None:
                node[slot] = {}
            node = node[slot]
        node[_slot(node, parts, len(parts) - 1)] = copy.deepcopy(value)
    return study


def _slot(node: Any, parts: list[str], depth: int) -> str | int:
    """``parts[depth]`` as a key of the mapping ``node`` or an index of the list ``node`` (found at the path
    ``parts[:depth]``)."""
    part = parts[depth]
    if isinstance(node, dict):
        return part
    if isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
        return int(part)
    what = f"a list of {len(node)}" if isinstance(node, list) else repr(node)
    raise ConfigError(f"--set {'.'.join(parts)}: {'.'.join(parts[:depth])} is {what}, so {part!r} is no key or "
                      "index in it")
