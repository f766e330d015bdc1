"""Every hook has a heading in docs/plugins.md that is its exact signature, and a test of its own."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from divtools import hookspecs

ROOT = Path(__file__).parents[2]


def _hooks():
    return {name: fn for name, fn in vars(hookspecs).items() if name.startswith("divtools_") and callable(fn)}


def signature(fn) -> str:
    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{fn.__name__}({params}) -> {sig.return_annotation}"


def test_every_hook_is_documented_with_its_exact_signature():
    text = (ROOT / "docs" / "plugins.md").read_text()
    headings = set(re.findall(r"^### `(.+)`$", text, flags=re.M))
    for name, fn in _hooks().items():
        assert signature(fn) in headings, f"docs/plugins.md needs the heading ### `{signature(fn)}`"
    documented = {h.split("(")[0] for h in headings}
    assert documented == set(_hooks()), "docs/plugins.md documents a hook that does not exist"


def test_every_hook_has_its_own_test():
    source = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    for name in _hooks():
        assert re.search(rf"^def test_hook_{name}\(", source, flags=re.M), f"missing test_hook_{name}"


def test_every_registration_hook_fills_a_kind():
    assert set(hookspecs.HOOK_KINDS) | {"divtools_register_commands"} == set(_hooks())
