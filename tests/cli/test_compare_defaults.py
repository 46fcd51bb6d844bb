"""`nasaudit compare` and a `compare` spec share every default (issue #23: a command and a spec agree)."""

from __future__ import annotations

import inspect

from nasaudit.cli.compare import compare_command
from nasaudit.studies._ws_compare import WeightSharingSettings
from nasaudit.studies.compare import CompareSpec


def _cli_defaults() -> dict[str, object]:
    return {name: param.default.default for name, param in inspect.signature(compare_command).parameters.items()}


def test_every_option_named_after_a_spec_field_has_the_spec_default() -> None:
    cli = _cli_defaults()
    pairs = [(name, field.get_default(call_default_factory=True)) for name, field in CompareSpec.model_fields.items()
             if name in cli]
    pairs += [(f"ws_{name}", field.get_default(call_default_factory=True))
              for name, field in WeightSharingSettings.model_fields.items() if f"ws_{name}" in cli]
    assert {"budget", "seeds", "ws_epochs", "ws_preset", "ws_dataset"} <= {name for name, _ in pairs}
    for name, default in pairs:
        expected = ",".join(default) if isinstance(default, list) else default
        assert cli[name] == expected, f"--{name.replace('_', '-')}: command {cli[name]!r}, spec {expected!r}"
