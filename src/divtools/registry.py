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

__all__ = ["ComponentInfo", "Register", "Registry", "RegistryError", "UnknownComponentError", "suggest"]

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
        """The description's first paragraph as one line (a docstring's first line may stop
        mid-sentence where the source wrapped it)."""
        return " ".join(self.description.strip().split("\n\n")[0].split())


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


# metrics and scorers carry a report label, so their params extend a labelled base
_PARAMS_BASE = {"metric": "MetricParams", "scorer": "ScorerParams"}


class Register(Generic[T]):
    """The callable a registration hook receives; bound to one kind and one plugin.

    ``register(name, params=Model, impl=factory, description=None, override=False)``:

    - ``params``: a :class:`divtools.spec.base.ComponentParams` subclass whose ``kind`` field is
      ``Literal[name]``; it validates the component's spec entry.
    - ``impl``: a callable taking the validated params and returning the component, or a
      ``"module:attr"`` string imported only when the component is used.
    - ``description``: one line for ``divtools list``; defaults to the params docstring.
    - ``override``: replace a component of the same name registered earlier (shown in listings).
    """

    def __init__(self, kind: str, plugin: str, version: str | None) -> None:
        self.kind = kind
        self.plugin = plugin
        self.version = version
        self.staged: list[tuple[ComponentInfo[T], bool]] = []

    def __call__(
        self,
        name: str,
        *,
        params: type,
        impl: Any,
        description: str | None = None,
        override: bool = False,
    ) -> None:
        where = f"plugin '{self.plugin}', {self.kind} '{name}'"
        base = _PARAMS_BASE.get(self.kind, "ComponentParams")
        import divtools.spec.base as spec_base

        if not (isinstance(params, type) and issubclass(params, getattr(spec_base, base))):
            raise RegistryError(f"{where}: params must subclass divtools.{base}")
        kind_field = params.model_fields.get("kind")
        literal = getattr(kind_field, "annotation", None)
        if kind_field is None or getattr(literal, "__args__", None) != (name,):
            raise RegistryError(f"{where}: params model needs the field kind: Literal['{name}']")
        doc = description if description is not None else (params.__doc__ or "")
        info: ComponentInfo[T] = ComponentInfo(
            kind=self.kind,
            name=name,
            params=params,
            impl=impl,
            plugin=self.plugin,
            plugin_version=self.version,
            description=doc.strip(),
        )
        self.staged.append((info, override))
