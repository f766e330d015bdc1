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

from divtools.input_limits import MAX_ALIAS_EXPANSION, MAX_DEPTH, MAX_INT_DIGITS

__all__ = ["LimitError", "SpecLoader", "load_yaml", "yaml_problem"]

#: a YAML 1.2 float with an exponent (the forms YAML 1.1 reads as strings)
YAML12_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


class LimitError(yaml.MarkedYAMLError):
    """A YAML document past one of :mod:`divtools.input_limits`' limits, or with a duplicate key."""


class SpecLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also resolves YAML 1.2 exponent floats (``5e-4``, ``1E+3``) and
    keeps within :mod:`divtools.input_limits`: nesting depth (checked while composing, before
    Python's stack can overflow), alias expansion (billion laughs), integer digits, duplicate keys."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise LimitError(None, None, f"lists/mappings nested more than {MAX_DEPTH} levels deep; flatten it",
                                 self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # before merge keys (<<) are flattened: a key may override a merged one, not repeat its own
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], Any] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise LimitError("in a mapping", node.start_mark,
                                     f"the key '{key_node.value}' appears twice (also at line "
                                     f"{seen[key].line + 1}); keep one (YAML parsers silently keep the last)",
                                     key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> Any:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise LimitError(None, None, f"an integer of {digits} digits (more than {MAX_INT_DIGITS}, which Python "
                             "refuses to read); use a smaller number", node.start_mark)
        return super().construct_yaml_int(node)


SpecLoader.add_constructor("tag:yaml.org,2002:int", SpecLoader.construct_yaml_int)
# appended after YAML 1.1's own resolvers: ints and dotted floats still resolve as before
SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_EXPONENT_FLOAT, list("-+0123456789."))


def _check_expansion(root: Any) -> None:
    """Refuse a node graph whose aliases expand past :data:`MAX_ALIAS_EXPANSION` extra values or
    :data:`MAX_DEPTH` levels, or that refers to itself; iterative, sizes memoised per node, so a
    billion laughs is measured without being built."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [part for pair in node.value for part in pair]
        else:
            kids = []
        if done:
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            continue
        if key in size:
            continue
        if key in entered:
            raise LimitError(None, None, "an alias refers to the collection that holds it (a recursive structure)",
                             node.start_mark)
        entered.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids)
    extra = size[id(root)] - len(size)
    if extra > MAX_ALIAS_EXPANSION:
        raise LimitError(None, None, f"aliases (*name) expand to {size[id(root)]:,} values, {extra:,} more than the "
                         f"file holds (divtools allows {MAX_ALIAS_EXPANSION:,}); write the values out", root.start_mark)
    if depth[id(root)] > MAX_DEPTH:
        raise LimitError(None, None, f"aliases nest lists/mappings more than {MAX_DEPTH} levels deep; flatten it",
                         root.start_mark)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats, within :mod:`divtools.input_limits`."""
    loader = SpecLoader(text.removeprefix("\ufeff"))  # a byte-order mark, as the YAML spec allows
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: where, and what (a refused tag, a limit, bad syntax)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, LimitError):
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return f"refused{where}: {problem}"
    if isinstance(exc, yaml.constructor.ConstructorError):
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return (f"YAML tag not allowed{where}: {problem}; spec files are read with a safe loader "
                "that builds only plain values, remove the tag")
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"YAML syntax error{where}: {problem}"
