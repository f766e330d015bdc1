"""The package's import graph is a tree: no module-level import circle, typing-only ones included.

Imports inside functions are left out on purpose: they are how a module defers a heavy or
optional dependency, and they run after every module involved has finished loading.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
PACKAGE = SRC / "divtools"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(name: str) -> bool:
    return (SRC / Path(*name.split(".")) / "__init__.py").exists()


def is_module(name: str) -> bool:
    return is_package(name) or (SRC / Path(*name.split("."))).with_suffix(".py").exists()


def module_level_imports(tree: ast.Module) -> list[ast.stmt]:
    """Import statements not nested in a function or class (``if``/``try`` blocks included)."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return found


def imports_of(path: Path) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # "from pkg import sub" imports the submodule; "from mod import obj" the module
            targets = [f"{base}.{a.name}" if is_module(f"{base}.{a.name}") else base for a in node.names]
        out.update(t for t in targets if t.split(".")[0] == "divtools" and is_module(t) and t != name)
    return out


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_typing_only_circle(tmp_path):
    a = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import divtools.b\n")
    assert len(module_level_imports(a)) == 2
    lazy = ast.parse("def f():\n    import divtools.b\n")
    assert module_level_imports(lazy) == []
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_the_package():
    edges = graph()
    assert "divtools.plugins" in edges and "divtools.hookspecs" in edges["divtools.plugins"]
    assert "divtools.api" in edges["divtools"]


def test_the_package_import_graph_has_no_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_split_modules_keep_their_old_import_path():
    """data/sources.py became a package; what callers and plugins imported from it still imports."""
    import divtools.data.sources as sources

    for name in ("CsvSource", "HfDatasetSource", "JsonlSource", "ParquetSource", "RowGrouper", "WritingPromptsSource",
                 "parse_score", "prompt_id_for", "read_csv_rows", "read_jsonl_rows", "read_parquet_rows",
                 "writingprompts_prompt", "_load_hf"):
        assert callable(getattr(sources, name)), name
    from divtools.plugins import registries

    for info in registries()["source"]:
        if info.plugin == "divtools.builtins.sources":
            assert info.load() is not None, info.name
