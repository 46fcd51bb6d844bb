"""Users' own strategies, weight-sharing methods, evaluator kinds, studies and spaces, loaded without touching
the package (``docs/plugins.md``).

A plugin is a Python module that registers what it defines when it is imported, exactly as the package's own
modules do beside each definition (``STRATEGIES.add``, ``register_study``, ``register_space``,
``EVALUATOR_KINDS.add``, ``register_proxy``, a ``WeightSharingMethod`` subclass). Loading a plugin is importing
its module. There are three ways in:

* installed packages declare entry points in the groups of ``GROUPS`` (``nasaudit.strategies``,
  ``nasaudit.methods``, ``nasaudit.evaluators``, ``nasaudit.studies``, ``nasaudit.spaces``, ``nasaudit.proxies``,
  ``nasaudit.predictors``);
  they load once per process, when a spec is loaded or when a registry is asked for a name it does not hold
  (``load_installed``);
* a spec's ``plugins:`` list and the command line's ``--plugin`` name modules (``pkg.module``) or ``.py``
  files (``load_plugins``);
* the environment variable ``NASAUDIT_PLUGINS`` (``os.pathsep``-separated, the same forms) loads with the
  installed ones; every explicit load appends to it, so worker processes started by the audit (``spawn``)
  import the same plugins when they look a plugin's name up.

A plugin that fails to import, or whose registration breaks a registry's contract (a strategy without ``run``,
a name the package or another plugin already uses), is one ``ConfigError`` line naming the plugin. What each
plugin registered is kept (``registered``) so the audit's result keys hold the content hash of the plugins a
study names (``nasaudit.audit.runner``).

This module sits just above ``nasaudit.errors`` and imports nothing else of the package at import time:
``nasaudit.registry`` calls into it (``loading``, ``note``, ``load_installed``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nasaudit.errors import ConfigError, NasauditError

#: entry-point group -> what the plugins of that group register (the registry's ``what``)
GROUPS = {
    "nasaudit.strategies": "strategy",
    "nasaudit.methods": "weight-sharing method",
    "nasaudit.evaluators": "evaluator kind",
    "nasaudit.studies": "study kind",
    "nasaudit.spaces": "search space",
    "nasaudit.proxies": "proxy",
    "nasaudit.predictors": "predictor",
}
#: the environment variable listing plugins to load with the installed ones (and passed on to workers)
ENV = "NASAUDIT_PLUGINS"
#: the package's own registering modules, imported before any plugin so a clash with a shipped name is the
#: plugin's error (imported by name: this module stays below the registries it loads)
_SHIPPED = ("nasaudit.spaces", "nasaudit.search.registry", "nasaudit.studies.evaluators", "nasaudit.weight_sharing",
            "nasaudit.proxies", "nasaudit.predictors")
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
#: at most this many plugins in one spec or command
MAX_PLUGINS = 64


@dataclass(frozen=True)
class Plugin:
    """A loaded plugin: ``name`` as the user gave it, the module imported, its source file (if any), and
    ``origin``, the key its registrations are recorded under (``registered``): the module name, the entry point,
    or the resolved path of the file that was executed (a copy of a loaded file, byte for byte, is that plugin)."""

    name: str
    module: str
    source: Path | None
    origin: str


_loaded: dict[str, Plugin] = {}  # by name as given (a module name, a file's path as given, an entry point)
_files: dict[Path, tuple[tuple[int, int], str, str, str]] = {}  # path -> (size, mtime), sha256, origin, module
_registered: dict[str, list[tuple[str, str]]] = {}  # origin -> (registry what, entry name)
_stack: list[str] = []  # origins of the plugins being imported now (registrations are theirs)
_installed_done = False


def loading() -> str | None:
    """The plugin whose module is being imported now (its registrations are recorded as its own), or None."""
    return _stack[-1] if _stack else None


def note(what: str, name: str) -> None:
    """Record that the plugin being imported registered ``name`` in the registry of ``what``."""
    if _stack:
        _registered.setdefault(_stack[-1], []).append((what, name))


def loaded_plugins() -> list[Plugin]:
    """Every plugin loaded in this process, in load order."""
    return list(_loaded.values())


def registered() -> dict[str, list[tuple[str, str]]]:
    """Plugin origin (``Plugin.origin``) -> the (registry, name) pairs it registered."""
    return {name: list(entries) for name, entries in _registered.items()}


def load_plugins(refs: object, base_dir: Path | None = None, *, confined: bool = True) -> list[Plugin]:
    """Import each plugin of ``refs`` (module names, or ``.py`` files relative to ``base_dir``) once.

    With ``confined`` (a spec's ``plugins:``) a file must be a plain relative path inside ``base_dir`` (no
    absolute path, no ``..``, no symbolic link): a spec given to you cannot make nasaudit run a file outside its
    folder. The command line passes ``confined=False``: a path you type may be anywhere. Installed plugins load
    first. A file whose content changed since it was loaded in this process is imported again (its entries
    replace its earlier ones)."""
    load_installed()
    if refs is None:
        return []
    if isinstance(refs, str) or not isinstance(refs, (list, tuple)):
        raise ConfigError("plugins: expected a list of module names or .py files")
    if len(refs) > MAX_PLUGINS:
        raise ConfigError(f"plugins: at most {MAX_PLUGINS} plugins, got {len(refs)}")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    out = []
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip():
            raise ConfigError(f"plugins: expected module names or .py files, got {ref!r}")
        out.append(_load_one(ref.strip(), base, confined))
    _export()
    return out


def load_installed() -> None:
    """Import, once per process, the installed entry points of ``GROUPS`` and the plugins of ``NASAUDIT_PLUGINS``.

    Cheap when there are none. An entry point's value names the module that registers (``greedy =
    mypkg.greedy``; ``mypkg.greedy:Greedy`` imports the same module); it must register at least one entry of
    its group's kind."""
    global _installed_done
    if _installed_done or _stack:
        return
    _installed_done = True
    from importlib.metadata import entry_points

    found = [(group, ep) for group in GROUPS for ep in entry_points(group=group)]
    listed = [ref for ref in os.environ.get(ENV, "").split(os.pathsep) if ref.strip()]
    if not found and not listed:
        return
    _import_shipped()
    for group, ep in sorted(found, key=lambda item: (item[0], item[1].name)):
        name = f"{ep.name} ({group} entry point {ep.value})"
        module = ep.value.split(":")[0].strip()  # one module may serve several groups: its registrations are its own
        with _importing(name, module):
            ep.load()
        if not any(what == GROUPS[group] for what, _ in _registered.get(module, [])):
            raise ConfigError(f"plugin {name!r}: registered no {GROUPS[group]}; its module must register one "
                              "when imported (docs/plugins.md)")
        _loaded.setdefault(module, Plugin(name, module, _source_of(module), module))
    for ref in listed:
        _load_one(ref.strip(), Path.cwd(), confined=False)


def _load_one(ref: str, base: Path, confined: bool) -> Plugin:
    if ref.endswith(".py") or "/" in ref or os.sep in ref:
        return _load_file(ref, base, confined)
    if not _MODULE_NAME.match(ref):
        raise ConfigError(f"plugin {ref!r}: neither a module name (pkg.module) nor a .py file")
    if ref in _loaded:
        return _loaded[ref]
    _import_shipped()
    fresh = ref not in sys.modules
    with _importing(ref, ref):
        module = importlib.import_module(ref)
    file = getattr(module, "__file__", None)
    plugin = Plugin(ref, ref, Path(file) if file else None, ref)
    if fresh:  # a module imported before (by another plugin) registered under that one's name
        _check_registered(plugin)
    _loaded[ref] = plugin
    return plugin


def _load_file(ref: str, base: Path, confined: bool) -> Plugin:
    if confined:
        if Path(ref).is_absolute() or ".." in Path(ref).parts:
            raise ConfigError(f"plugin {ref!r}: a spec's plugin file must be a relative path inside the spec's "
                              f"folder {base}")
        path = base
        for part in Path(ref).parts:
            path = path / part
            if path.is_symlink():
                raise ConfigError(f"plugin {ref!r}: {path} is a symbolic link; a spec's plugin files are read "
                                  "only inside its folder")
    else:
        path = Path(ref).expanduser()
        path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"plugin {ref!r}: file not found: {path}")
    if path.suffix != ".py":
        raise ConfigError(f"plugin {ref!r}: a plugin file is a Python source file ending in .py")
    path = path.resolve()
    stamp = _stamp(path)
    if path in _files and _files[path][0] == stamp:  # loaded, unchanged
        _, _, origin, module_name = _files[path]
        return _loaded.setdefault(ref, Plugin(ref, module_name, path, origin))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    twin = next((known for known in _files.values() if known[1] == digest), None)
    if twin is not None:  # a byte-for-byte copy of a loaded plugin: that plugin, already registered
        _files[path] = (stamp, digest, twin[2], twin[3])
        _loaded[ref] = Plugin(ref, twin[3], path, twin[2])
        return _loaded[ref]
    origin = str(path)
    module_name = "nasaudit_plugin_" + re.sub(r"\W", "_", path.stem) + "_" + digest[:8]
    _import_shipped()
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"plugin {ref!r}: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    _registered.pop(origin, None)  # an edited plugin registers again, replacing its own entries
    with _importing(ref, origin):
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
    plugin = Plugin(ref, module_name, path, origin)
    _check_registered(plugin)
    _files[path] = (stamp, digest, origin, module_name)
    _loaded[ref] = plugin
    return plugin


def _check_registered(plugin: Plugin) -> None:
    if not _registered.get(plugin.origin):
        raise ConfigError(f"plugin {plugin.name!r}: registered nothing; a plugin module registers a strategy, "
                          "weight-sharing method, evaluator kind, study or space when imported (docs/plugins.md)")


@contextlib.contextmanager
def _importing(name: str, origin: str) -> Iterator[None]:
    """Import the plugin ``name``: registrations are recorded under ``origin``; any failure is one line naming
    the plugin."""
    _stack.append(origin)
    try:
        yield
    except NasauditError as err:
        raise type(err)(f"plugin {name!r}: {_first_line(str(err))}") from None
    except (Exception, SystemExit) as err:  # a user's module may raise anything while importing
        raise ConfigError(f"plugin {name!r}: {type(err).__name__}: {_first_line(str(err))}{_where(err)}") from None
    finally:
        _stack.pop()


def _where(err: BaseException) -> str:
    """`` (at file.py, line N)`` for the innermost frame outside the import machinery."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "importlib" not in f.filename
              and not f.filename.endswith("nasaudit/plugins.py")]
    return f" (at {Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "(no message)"


def _import_shipped() -> None:
    """The package's own registrations, so that a plugin reusing a shipped name is the plugin's error."""
    if _stack:
        return
    for module in _SHIPPED:
        importlib.import_module(module)
    importlib.import_module("nasaudit.studies").load_studies()


def _source_of(value: str) -> Path | None:
    module = sys.modules.get(value.split(":")[0].strip())
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


def _stamp(path: Path) -> tuple[int, int]:
    """Size and modification time: a file edited since it was loaded is imported again."""
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _export() -> None:
    """List the explicitly loaded plugins in ``NASAUDIT_PLUGINS`` so spawned workers load them too."""
    listed = [ref for ref in os.environ.get(ENV, "").split(os.pathsep) if ref.strip()]
    for plugin in _loaded.values():
        ref = plugin.origin if plugin.module.startswith("nasaudit_plugin_") else plugin.module
        if " entry point " not in plugin.name and ref not in listed:
            listed.append(ref)
    if listed:
        os.environ[ENV] = os.pathsep.join(listed)
