"""Registry[T]: component name -> ComponentInfo (params model, lazy implementation, plugin).

Modelled on lm-evaluation-harness's registry: a name clash raises unless the newcomer asks to
override (and the override is recorded and shown); unknown names get "did you mean ...";
implementations may be ``"module:attr"`` strings so listing and validating import nothing heavy;
the registry is frozen once plugins have loaded.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Generic, Iterator, TypeVar

from divtools.errors import DivtoolsError

__all__ = ["ComponentInfo", "Registry", "RegistryError", "UnknownComponentError", "suggest"]

T = TypeVar("T")


class RegistryError(DivtoolsError):
    """A registration that cannot be accepted (name clash, registry frozen, bad params model)."""


class UnknownComponentError(DivtoolsError, KeyError):
    """A name that no plugin registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def suggest(name: str, choices: list[str] | tuple[str, ...] | Any) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class ComponentInfo(Generic[T]):
    """Everything divtools knows about one registered component.

    ``impl`` is either the implementation itself (a class or factory taking the params model
    instance) or a ``"module:attr"`` string imported on first use.
    """

    kind: str
    name: str
    params: type
    impl: Any
    plugin: str
    plugin_version: str | None
    description: str = ""
    overrides: str | None = None  # "plugin@version" of the component this one replaced
    _loaded: Any = field(default=None, repr=False)

    def load(self) -> T:
        """Import (once) and return the implementation."""
        if self._loaded is None:
            if isinstance(self.impl, str):
                module_name, _, attr = self.impl.partition(":")
                if not attr:
                    raise RegistryError(
                        f"{self.kind} '{self.name}' (plugin {self.plugin}): implementation "
                        f"'{self.impl}' must be 'module:attribute'"
                    )
                module = importlib.import_module(module_name)
                try:
                    self._loaded = getattr(module, attr)
                except AttributeError as exc:
                    raise RegistryError(
                        f"{self.kind} '{self.name}' (plugin {self.plugin}): module "
                        f"'{module_name}' has no attribute '{attr}'"
                    ) from exc
            else:
                self._loaded = self.impl
        return self._loaded

    def build(self, params: Any) -> T:
        """Instantiate the component from its validated params model."""
        return self.load()(params)

    @property
    def summary(self) -> str:
        """First line of the description."""
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


class Registry(Generic[T]):
    """Components of one kind (``metric``, ``objective``, ...), keyed by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, ComponentInfo[T]] = {}
        self._frozen = False

    def add(self, info: ComponentInfo[T], *, override: bool = False) -> None:
        if self._frozen:
            raise RegistryError(
                f"the {self.kind} registry is frozen: register {self.kind}s from a "
                f"divtools_register_{self.kind}s hook, not after plugins have loaded"
            )
        existing = self._items.get(info.name)
        if existing is not None:
            if not override:
                raise RegistryError(
                    f"{self.kind} '{info.name}' is registered by both plugin "
                    f"'{existing.plugin}' and plugin '{info.plugin}'; rename one, or pass "
                    f"override=True in '{info.plugin}' to replace it on purpose"
                )
            info.overrides = f"{existing.plugin}@{existing.plugin_version or '?'}"
        self._items[info.name] = info

    def get(self, name: str) -> ComponentInfo[T]:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownComponentError(
                f"unknown {self.kind} '{name}'{suggest(name, self._items)}; "
                f"known: {', '.join(sorted(self._items)) or 'none'}"
            ) from None

    def freeze(self) -> None:
        self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[ComponentInfo[T]]:
        return iter(self._items[n] for n in sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)
