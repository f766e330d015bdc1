"""Base classes and field types for spec files.

- :class:`SpecModel`: every spec section; unknown keys are errors with "did you mean".
- :class:`ComponentParams`: a component's params model; ``kind: Literal["name"]`` selects it.
- :func:`Component`: a field whose value is any registered component of one kind, validated as a
  discriminated union built from the registry *after* plugins load, so a third-party component
  validates exactly like a built-in one.
- :data:`SpecPath` / :data:`InputPath`: paths resolved against the spec file's folder
  (``context={"base_dir": ...}``); ``InputPath`` must exist.
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar, NoReturn

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError, core_schema

from divtools.registry import suggest

__all__ = [
    "Component",
    "ComponentParams",
    "InputPath",
    "MetricParams",
    "ModelRef",
    "raise_all",
    "require_placeholders",
    "ScorerParams",
    "SpecModel",
    "SpecPath",
]


class SpecModel(BaseModel):
    """A section of a spec file: strict about unknown keys, built after plugins load."""

    # defer_build: component unions read the registries, which fill when plugins load; building
    # the schema at class creation would freeze an empty union.
    model_config = ConfigDict(
        extra="forbid", defer_build=True, validate_default=True, use_attribute_docstrings=True
    )

    #: familiar names from other libraries (TRL, peft) -> where divtools sets the same thing
    #: (tables in :mod:`divtools.spec.trl_names`); used before "did you mean" by spelling
    familiar_names: ClassVar[dict[str, str]] = {}

    @classmethod
    def unknown_key_hint(cls, key: str, known: list[str]) -> str:
        """The hint after "unknown key 'KEY'": a familiar name's divtools field, else the closest spelling."""
        from divtools.spec.trl_names import pointer

        return pointer(cls.familiar_names, key) or suggest(key, known)

    @model_validator(mode="wrap")
    @classmethod
    def _unknown_keys(cls, data: Any, handler: Any) -> Any:
        # Every unknown key gets its own "did you mean" error, *together with* the errors of the
        # known keys (a before-validator raising on the first unknown key hid all the others).
        if not isinstance(data, dict):
            return handler(data)
        known: set[str] = set()
        for name, f in cls.model_fields.items():
            known.add(name)
            if f.alias:
                known.add(f.alias)
        unknown = [key for key in data if key not in known]
        if not unknown:
            return handler(data)
        allowed = ", ".join(sorted(known))
        errors: list[Any] = [
            PydanticCustomError(
                "unknown_key",
                "unknown key '{key}'{hint}; allowed: {allowed}",
                {"key": key, "hint": cls.unknown_key_hint(str(key), sorted(known)), "allowed": allowed},
            )
            for key in unknown
        ]
        try:
            handler({k: v for k, v in data.items() if k in known})
        except ValidationError as exc:
            errors.extend(exc.errors(include_url=False))
        raise_all(cls.__name__, errors, data)


_ERROR_TYPES = frozenset(typing.get_args(core_schema.ErrorType))


def raise_all(title: str, errors: list[Any], data: Any = None) -> NoReturn:
    """Raise one ``ValidationError`` holding every error in ``errors``, so the user sees all
    problems of a run at once (pydantic merges it into the enclosing model's errors).

    Each item is a ``PydanticCustomError`` (located at the mapping being validated) or an error
    dict from ``ValidationError.errors()`` (kept with its location, type and context)."""
    details: list[Any] = []
    for err in errors:
        if isinstance(err, PydanticCustomError):
            details.append({"type": err, "loc": (), "input": data})
            continue
        kind, ctx = err["type"], err.get("ctx")
        if kind not in _ERROR_TYPES:  # a custom error: keep its rendered message (no context: no formatting)
            kind, ctx = PydanticCustomError(kind, err["msg"]), None
        detail = {"type": kind, "loc": tuple(err["loc"]), "input": err.get("input")}
        if ctx:
            detail["ctx"] = ctx
        details.append(detail)
    raise ValidationError.from_exception_data(title, details)


class ComponentParams(SpecModel):
    """Params of one component. Subclasses declare ``kind: Literal["<name>"]``."""

    kind: str


class Component:
    """Marker for a field holding any registered component of ``kind``.

    ``metrics: list[Annotated[ComponentParams, Component("metric")]]``
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        from divtools.plugins import registries

        registry = registries()[self.kind]
        choices = {info.name: handler.generate_schema(info.params) for info in registry}
        if not choices:
            message = f"no {self.kind} is registered (is a plugin missing?)"

            def _none(value: Any) -> Any:
                raise PydanticCustomError("no_component", message)

            return core_schema.no_info_plain_validator_function(
                _none, json_schema_input_schema=core_schema.dict_schema()
            )
        return core_schema.tagged_union_schema(
            choices,
            discriminator="kind",
            ref=f"divtools.{self.kind}",
            metadata={"divtools_kind": self.kind},
        )

    def __repr__(self) -> str:
        return f"Component({self.kind!r})"


def _resolve(value: Path, info: ValidationInfo) -> Path:
    value = Path(os.path.expanduser(str(value)))
    base = (info.context or {}).get("base_dir") if info.context else None
    if not value.is_absolute() and base is not None:
        value = Path(os.path.normpath(Path(base) / value))  # "examples/../runs" reads as "runs"
    return value


def _must_exist(value: Path, info: ValidationInfo) -> Path:
    # In a pipeline a step may read what an earlier step writes: paths inside another step's
    # output directory are checked when that step has run, not at validation.
    context = info.context or {}
    if context.get("check_paths") is False:  # `divtools validate --no-path-check`
        return value
    pending = context.get("pending_outputs", ())
    norm = Path(os.path.normpath(value))
    if any(norm == out or out in norm.parents for out in (Path(os.path.normpath(p)) for p in pending)):
        return value
    if not value.exists():
        raise PydanticCustomError("path_missing", "path does not exist: {path}", {"path": str(value)})
    return value


def _model_ref(value: str, info: ValidationInfo) -> str:
    """A local path (resolved against the spec's folder), a hub id left as written, or a model
    preset ``preset:<name>`` (its name checked here; see :mod:`divtools.models.presets`)."""
    from divtools.models.presets import is_preset, preset_name

    value = value.strip()
    if not value:
        raise ValueError(
            "give a model: a local directory, a .gguf file, a Hugging Face hub id or preset:<name>"
        )
    if is_preset(value):
        preset_name(value)
        return value
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return _gguf_exists(expanded, info)
    base = (info.context or {}).get("base_dir") if info.context else None
    # a .gguf file is always a local file (download a hub one first)
    looks_like_path = value.startswith(("./", "../", "~")) or value.count("/") > 1 or value.lower().endswith(".gguf")
    if base is not None:
        candidate = Path(base) / expanded
        if looks_like_path or candidate.exists():
            expanded = os.path.normpath(candidate)
    return _gguf_exists(expanded, info)


def _gguf_exists(value: str, info: ValidationInfo) -> str:
    """A .gguf reference names a local file: say so at validation when it is missing."""
    if value.lower().endswith(".gguf") and (info.context or {}).get("check_paths") is not False:
        if not Path(value).is_file():
            raise PydanticCustomError("path_missing", "GGUF file not found: {path}", {"path": value})
    return value


#: a model: a local directory or .gguf file (relative paths resolve against the spec file's
#: folder), a hub id, or ``preset:<name>`` (an offline model shipped on PyPI)
ModelRef = Annotated[str, AfterValidator(_model_ref)]


def require_placeholders(value: str, *names: str, field: str) -> str:
    """``value`` if it contains every ``{name}`` placeholder; else a ValueError naming the
    missing ones (for template fields: prompt templates, judge rubrics, reward inputs)."""
    missing = [f"{{{n}}}" for n in names if f"{{{n}}}" not in value]
    if missing:
        raise ValueError(f"{field} must contain {' and '.join(missing)}")
    return value


#: a path in a spec; relative paths resolve against the spec file's folder
SpecPath = Annotated[Path, AfterValidator(_resolve)]
#: an input path that must exist when the spec is validated
InputPath = Annotated[Path, AfterValidator(_resolve), AfterValidator(_must_exist)]


class MetricParams(ComponentParams):
    """Base of every metric's params: adds the report label."""

    label: str | None = None
    """Name of this metric in reports (default: its kind). Two metrics need distinct labels."""

    @property
    def display(self) -> str:
        return self.label or self.kind


class ScorerParams(ComponentParams):
    """Base of every scorer's params: adds the report label."""

    label: str | None = None
    """Name of this scorer in reports (default: its kind)."""
    max_missing_share: float = Field(1.0, ge=0.0, le=1.0)
    """Largest share of a system's samples this scorer may leave without a score (NaN: e.g. an
    LLM judge's reply that cannot be read) before the run stops with exit 2. Missing scores are
    counted per system in the report and never averaged in."""

    @property
    def display(self) -> str:
        return self.label or self.kind
