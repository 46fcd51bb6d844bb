"""The package's import graph has no cycle (issue #23: study modules, weight-sharing methods and the machinery under
them import one way only). ``lint-imports`` holds the layers; this checks every module, lazy and type-only imports
included, as grimp (import-linter's graph) records them."""

from __future__ import annotations

import networkx as nx
import pytest


def test_no_module_imports_itself_through_others() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("nasaudit")
    imports = nx.DiGraph()
    for module in graph.modules:
        imports.add_edges_from((module, imported) for imported in graph.find_modules_directly_imported_by(module))
    cycles = [cycle for cycle in nx.simple_cycles(imports) if len(cycle) > 1]
    assert not cycles, f"import cycles: {cycles[:5]}"
