"""``StudyContract``: what every registered study kind keeps (``nasaudit.studies._base``).

A study kind is registered with a pydantic spec (``StudySpec``) whose defaults validate, whose fields refuse
an unknown key (a typo is an error), and whose ``check`` finds no problem in an audit it can run in; its
``run(context, spec)`` on a tiny audit returns a ``StudyResult`` (title, summary, JSON-able settings, tables
of rows or notes saying why there are none) that ``write_result`` writes as CSV files and ``section.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import TypeAdapter, ValidationError

#: the default tiny audit: NB201 on the three ops of the embedded benchmark, its table as ``truth``
NB201_3OPS: dict[str, Any] = {"name": "nb201", "ops": ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]}
TRUTH: dict[str, Any] = {"kind": "table", "path": "embedded", "metric": "test_acc"}


class StudyContract:
    """Subclass and give ``study_kind`` (the registered name) and ``tiny_spec`` (the study's mapping as it
    appears in a spec's ``analyses:`` list, sized to run in seconds) to run the study contract.

    ``tiny_audit`` (the audit's ``space:`` and ``evaluators:``; default NB201 on three ops with the embedded
    table as ``truth``) and ``tiny_files`` (files written beside the spec before it runs, name -> text) may be
    overridden.
    """

    @pytest.fixture
    def study_kind(self) -> str:
        raise NotImplementedError("a StudyContract subclass gives the `study_kind` fixture")

    @pytest.fixture
    def tiny_spec(self, study_kind: str) -> dict[str, Any]:
        raise NotImplementedError("a StudyContract subclass gives the `tiny_spec` fixture: the smallest spec of "
                                  "the study that runs in a few seconds")

    @pytest.fixture
    def tiny_audit(self) -> dict[str, Any]:
        return {"space": NB201_3OPS, "evaluators": {"truth": TRUTH}}

    @pytest.fixture
    def tiny_files(self) -> dict[str, str]:
        return {}

    @pytest.fixture
    def spec_folder(self, tmp_path: Path, tiny_files: dict[str, str]) -> Path:
        """The folder of the tiny spec, holding ``tiny_files``."""
        from nasaudit._atomic import atomic_write

        for name, text in tiny_files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(tmp_path / name, text)
        return tmp_path

    def test_kind_is_registered_and_its_spec_validates(self, study_kind: str, tiny_spec: dict[str, Any]) -> None:
        from nasaudit.studies import study_entry
        from nasaudit.studies._base import StudySpec

        entry = study_entry(study_kind)
        assert entry.kind == study_kind and issubclass(entry.spec, StudySpec)
        assert tiny_spec.get("kind") == study_kind
        spec = entry.spec.model_validate(tiny_spec)
        assert spec.kind == study_kind
        assert entry.spec.model_validate(spec.model_dump(mode="json")) == spec  # JSON round trip (result keys)
        for field in entry.spec.model_fields.values():  # every default is a valid value of its field
            if not field.is_required():
                default = field.get_default(call_default_factory=True)
                parts = (field.annotation, *field.metadata)
                typed: Any = Annotated.__class_getitem__(parts) if field.metadata else field.annotation  # type: ignore[attr-defined]
                TypeAdapter(typed).validate_python(default)
        with pytest.raises(ValidationError):
            entry.spec.model_validate({**tiny_spec, "no_such_setting_anywhere": 1})

    def test_check_finds_no_problem_in_the_tiny_audit(self, study_kind: str, tiny_spec: dict[str, Any],
                                                      tiny_audit: dict[str, Any], spec_folder: Path) -> None:
        from nasaudit.studies import study_entry
        from nasaudit.studies._base import SpaceSpec, build_space

        spec = study_entry(study_kind).spec.model_validate(tiny_spec)
        space = build_space(SpaceSpec.model_validate(tiny_audit.get("space") or {}))
        problems = spec.check(space, spec_folder)
        assert isinstance(problems, list) and problems == []
        assert set(spec.evaluator_refs()) <= set(tiny_audit.get("evaluators") or {})

    def test_runs_on_a_tiny_audit_and_writes_its_section(self, study_kind: str, tiny_spec: dict[str, Any],
                                                         tiny_audit: dict[str, Any], spec_folder: Path) -> None:
        from nasaudit.studies import StudyResult, Table, study_entry, write_result
        from nasaudit.testing.context import tiny_context

        entry = study_entry(study_kind)
        spec = entry.spec.model_validate(tiny_spec)
        context = tiny_context(spec_folder, space=tiny_audit.get("space"), evaluators=tiny_audit.get("evaluators"))
        result = entry.run(context, spec)
        assert isinstance(result, StudyResult)
        assert isinstance(result.title, str) and result.title and isinstance(result.summary, str)
        json.dumps(result.settings, default=str)
        assert result.tables or result.notes, "a study states what it found: tables, or notes saying why none"
        assert all(isinstance(table, Table) for table in result.tables)
        assert len({table.name for table in result.tables}) == len(result.tables)
        folder = spec_folder / "section" / f"00-{study_kind}"
        section = write_result(result, folder, folder.name)
        saved = json.loads((folder / "section.json").read_text())
        assert saved["key"] == folder.name and saved["title"] == result.title
        for table in result.tables:
            assert (folder / table.name).is_file()
        assert len(section.tables) + len(section.downloads) == len(result.tables)
        assert len(section.figures) == len(result.plots)
