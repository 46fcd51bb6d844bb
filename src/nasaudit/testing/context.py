"""A real study context for contract tests: the audit runner over a run folder, with no study list.

Evaluators are built by their registered kinds exactly as in an audit (``context.scored(name)``), so a contract
test exercises the code a spec runs, not a stand-in.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import AuditSpec, ExecutorSpec
from nasaudit.errors import ConfigError
from nasaudit.studies._base import SpaceSpec, build_space
from nasaudit.studies.evaluators import EVALUATOR_KINDS


def tiny_context(folder: Path, *, space: dict[str, Any] | None = None,
                 evaluators: dict[str, dict[str, Any]] | None = None, seed: int = 0,
                 base_dir: Path | None = None) -> Runner:
    """A ``StudyContext`` whose run folder is ``folder/run`` (sequential executor, quiet console).

    ``space`` is a spec's ``space:`` mapping (default NB201), ``evaluators`` its ``evaluators:`` mapping; each
    evaluator is validated and checked by its kind (files, columns, datasets) here, and a problem is one
    ``ConfigError``. Paths in them are relative to ``base_dir`` (default ``folder``).
    """
    base = Path(base_dir or folder)
    space_spec = SpaceSpec.model_validate(space or {})
    specs: dict[str, Any] = {}
    for name, raw in (evaluators or {}).items():  # each by its registered kind: a plugin's kind too
        kind = raw.get("kind") if isinstance(raw, dict) else None
        try:
            specs[name] = EVALUATOR_KINDS.get(str(kind)).spec.model_validate(raw)
        except ValidationError as err:
            raise ConfigError(f"evaluator {name!r}: {err.errors()[0]['msg']}") from None
    built = build_space(space_spec)
    problems = [f"{name}.{'.'.join(map(str, loc))}: {message}" for name, spec in specs.items()
                for loc, message in EVALUATOR_KINDS.get(spec.kind).check(spec, base, built)]
    if problems:
        raise ConfigError("; ".join(problems))
    audit = AuditSpec.model_construct(name="contract", seed=seed, output=str(Path(folder) / "run"), store=None,
                                      space=space_spec, executor=ExecutorSpec(), evaluators=specs, analyses=[],
                                      base_dir=base)
    return Runner(audit, Console(file=io.StringIO(), width=120))
