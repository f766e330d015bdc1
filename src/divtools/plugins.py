"""The plugin manager: built-in plugins and third-party ones load through the same hooks.

Built-ins are the modules in :data:`DEFAULT_PLUGINS`; third-party plugins are entry points in
the ``divtools`` group. The environment switch ``DIVTOOLS_LOAD_PLUGINS`` selects external
plugins: unset loads all installed ones, a comma-separated list loads only those names, and an
empty string loads none. Built-ins always load.

A plugin that fails to import, names a hook that does not exist, raises inside a hook or
registers a name another plugin already holds is *not* loaded: the failure is recorded against
its name (``divtools plugins`` shows it), a warning goes to stderr, and everything else works.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import pluggy

from divtools import hookspecs
from divtools.errors import DivtoolsError
from divtools.registry import ComponentInfo, Register, Registry, suggest

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "PluginFailure",
    "PluginSet",
    "Register",
    "Registries",
    "load_plugins",
    "plugin_set",
    "registries",
]

ENTRY_POINT_GROUP = "divtools"
ENV_LOAD = "DIVTOOLS_LOAD_PLUGINS"
KINDS: tuple[str, ...] = tuple(hookspecs.HOOK_KINDS.values())

DEFAULT_PLUGINS: tuple[str, ...] = (
    "divtools.builtins.embedders",
    "divtools.builtins.metrics",
    "divtools.builtins.scorers",
    "divtools.builtins.pair_builders",
    "divtools.builtins.objectives",
    "divtools.builtins.sources",
    "divtools.builtins.backends",
    "divtools.builtins.reporters",
    "divtools.builtins.equivalences",
)


class Registries:
    """One :class:`Registry` per component kind."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Registry[Any]] = {k: Registry(k) for k in KINDS}

    def __getitem__(self, kind: str) -> Registry[Any]:
        try:
            return self._by_kind[kind]
        except KeyError:
            raise DivtoolsError(
                f"unknown component kind '{kind}'{suggest(kind, KINDS)}; kinds: {', '.join(KINDS)}"
            ) from None

    def __iter__(self):
        return iter(self._by_kind.values())

    def freeze(self) -> None:
        for reg in self._by_kind.values():
            reg.freeze()


@dataclass
class PluginFailure:
    """A plugin that was not loaded, and why."""

    name: str
    error: str
    detail: str = ""


@dataclass
class PluginSet:
    """The loaded plugin manager, the filled registries and the plugins that failed."""

    pm: pluggy.PluginManager
    registries: Registries
    versions: dict[str, str | None] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]


def _divtools_version() -> str:
    from divtools import __version__

    return __version__


def _selected_entry_points(env: dict[str, str]) -> list[md.EntryPoint]:
    eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    wanted = env.get(ENV_LOAD)
    if wanted is None:
        return list(eps)
    names = {n.strip() for n in wanted.split(",") if n.strip()}
    return [e for e in eps if e.name in names]


def _check_hooks(pm: pluggy.PluginManager, name: str) -> None:
    """``check_pending`` for one plugin, with "did you mean" for a misspelt hook name."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        known = [*hookspecs.HOOK_KINDS, "divtools_register_commands"]
        # an implementation of a name with no hookspec gets a spec-less hook caller
        unknown = [
            hook for hook in dir(pm.hook)
            if not hook.startswith("_")
            and getattr(pm.hook, hook).spec is None
            and any(impl.plugin_name == name for impl in getattr(pm.hook, hook).get_hookimpls())
        ]
        hint = "; ".join(f"'{hook}' is not a divtools hook{suggest(hook, known)}" for hook in unknown)
        raise DivtoolsError(hint or str(exc)) from exc


def load_plugins(
    *,
    env: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
    builtins: tuple[str, ...] = DEFAULT_PLUGINS,
) -> PluginSet:
    """Load built-ins, then entry-point plugins (sorted by name), fill and freeze the registries.

    ``extra`` maps plugin names to plugin objects (modules, classes) or importable module names,
    loaded as if they were installed; the tests use it for fixture plugins.
    """
    env = dict(os.environ) if env is None else env
    pm = pluggy.PluginManager("divtools")
    pm.add_hookspecs(hookspecs)
    result = PluginSet(pm=pm, registries=Registries())

    candidates: list[tuple[str, Any, str | None]] = []
    for module_name in builtins:
        candidates.append((module_name, lambda m=module_name: importlib.import_module(m), _divtools_version()))
    for ep in _selected_entry_points(env):
        version = ep.dist.version if ep.dist is not None else None
        candidates.append((ep.name, ep.load, version))
    for name, obj in (extra or {}).items():
        load = (lambda o=obj: importlib.import_module(o)) if isinstance(obj, str) else (lambda o=obj: o)
        candidates.append((name, load, None))

    for name, loader, version in candidates:
        try:
            plugin = loader()
            pm.register(plugin, name=name)
        except Exception as exc:  # a broken plugin must not break divtools
            _fail(result, name, f"failed to import: {type(exc).__name__}: {exc}")
            continue
        try:
            _check_hooks(pm, name)
            staged = _collect(pm, name, version)
            for info, override in staged:
                result.registries[info.kind].add(info, override=override)
        except Exception as exc:
            pm.unregister(name=name)
            _drop(result.registries, name)
            _fail(result, name, str(exc) if isinstance(exc, DivtoolsError) else f"{type(exc).__name__}: {exc}")
            continue
        result.versions[name] = version
    result.registries.freeze()
    return result


def _collect(pm: pluggy.PluginManager, name: str, version: str | None) -> list[tuple[ComponentInfo[Any], bool]]:
    """Call one plugin's registration hooks, staging what it registers."""
    staged: list[tuple[ComponentInfo[Any], bool]] = []
    for hook_name, kind in hookspecs.HOOK_KINDS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name != name:
                continue
            register: Register[Any] = Register(kind, name, version)
            impl.function(**{arg: register for arg in impl.argnames})
            staged.extend(register.staged)
    return staged


def _drop(registries: Registries, plugin: str) -> None:
    """Undo a plugin's partial registration (a name clash halfway through its hooks)."""
    for reg in registries:
        for key in [i.name for i in reg if i.plugin == plugin]:
            del reg._items[key]


def _fail(result: PluginSet, name: str, error: str) -> None:
    result.failures.append(PluginFailure(name=name, error=error, detail=traceback.format_exc()))
    if os.environ.get("DIVTOOLS_QUIET_PLUGIN_ERRORS") != "1":
        print(f"divtools: plugin '{name}' not loaded: {error}", file=sys.stderr)


_DEFAULT: PluginSet | None = None


def plugin_set() -> PluginSet:
    """The process-wide plugin set, loaded on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_plugins()
    return _DEFAULT


def registries() -> Registries:
    """The process-wide registries (loading plugins on first use)."""
    return plugin_set().registries
