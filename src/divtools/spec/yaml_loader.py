"""The YAML loader of spec files and ``--set`` values: PyYAML's safe loader with YAML 1.2 floats.

PyYAML implements YAML 1.1, whose float pattern needs a dot and a signed exponent, so ``5e-4``,
``1E+3`` and ``1e3`` load as *strings* there, while YAML 1.2 (core schema), JSON, Python and TRL's
argument parser all read them as numbers. :class:`SpecLoader` adds the YAML 1.2 spellings, so a
value reads the same in a YAML spec, a JSON spec and ``--set``, in every field at once.

YAML 1.2 core schema, float (https://yaml.org/spec/1.2.2/#10214-floating-point)::

    [-+]? ( \\. [0-9]+ | [0-9]+ ( \\. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?

The forms without an exponent were already floats (or ints) under YAML 1.1; the resolver added
here covers the exponent forms. Nothing else changes: it is still the safe loader (no tags).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["SpecLoader", "load_yaml"]

#: a YAML 1.2 float with an exponent (the forms YAML 1.1 reads as strings)
YAML12_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


class SpecLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also resolves YAML 1.2 exponent floats (``5e-4``, ``1E+3``)."""


# appended after YAML 1.1's own resolvers: ints and dotted floats still resolve as before
SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_EXPONENT_FLOAT, list("-+0123456789."))


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats."""
    return yaml.load(text, Loader=SpecLoader)  # noqa: S506 - SpecLoader is a SafeLoader
