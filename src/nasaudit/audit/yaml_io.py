"""The spec reader's YAML functions, from the bounded safe reader ``nasaudit.yamlio`` (a lower layer, so that
``supernet.grid`` can read its grid specs with it too)."""

from __future__ import annotations

from nasaudit.yamlio import (
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    Location,
    PathKey,
    load_yaml_with_locations,
    locate,
    read_yaml,
)

__all__ = ["MAX_YAML_BYTES", "MAX_YAML_DEPTH", "Location", "PathKey", "load_yaml_with_locations", "locate",
           "read_yaml"]
