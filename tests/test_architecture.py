"""Layering rules of the code base, checked on the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gridmap", "web")

# The layering rule for gridmap/io: the readers and writers of files sit at the bottom
# of the house. Besides each other they may only use these base modules, which import
# nothing of ours above them.
IO_ALLOWED = frozenset(
    {"gridmap.errors", "gridmap.settings", "gridmap.crs", "gridmap.model", "gridmap.parsing", "gridmap.safe"}
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _own(name: str) -> str | None:
    """The longest known module that ``name`` names or lies in, or None if not ours."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(module: str) -> list[tuple[int, str, str | None]]:
    """Every import of a module, at any depth: (line, imported module, imported name)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in MODULES:
                    found.append((node.lineno, submodule, None))
                else:
                    found.append((node.lineno, target, alias.name))
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        edges = set()
        for _line, target, _name in _imports(module):
            own = _own(target)
            if own and own != module:
                edges.add(own)
        graph[module] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_library_has_no_flask():
    bad = sorted(
        {
            f"{module}:{line} imports {target}"
            for module in MODULES
            if module.startswith("gridmap")
            for line, target, _name in _imports(module)
            if target.split(".")[0] in {"flask", "werkzeug"}
        }
    )
    assert not bad, "gridmap/ must not import Flask or werkzeug:\n" + "\n".join(bad)


def test_no_import_cycles():
    # Lazy (function-level) imports count: a circle hidden in a function is still a circle.
    cycle = _cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_no_private_names_across_modules():
    bad = []
    for module in MODULES:
        for line, target, name in _imports(module):
            own = _own(target)
            if own is None or own == module:
                continue
            if name and name.startswith("_") and not name.startswith("__"):
                bad.append(f"{module}:{line} imports {own}.{name}")
        # Attribute use of an imported module's private name: ``store._merge_key``.
        path = MODULES[module]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _own(alias.name) and alias.asname:
                        aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, path, node)
                for alias in node.names:
                    if f"{target}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and aliases[node.value.id] != module
            ):
                bad.append(f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not bad, "private names used across modules:\n" + "\n".join(bad)


def test_io_imports_nothing_above_it():
    bad = [
        f"{module}:{line} imports {own}"
        for module in MODULES
        if module.startswith("gridmap.io")
        for line, target, _name in _imports(module)
        if (own := _own(target)) and not own.startswith("gridmap.io") and own not in IO_ALLOWED
    ]
    assert not bad, (
        "gridmap/io may only import gridmap.io and " + ", ".join(sorted(IO_ALLOWED)) + ":\n" + "\n".join(bad)
    )


def _is_data_layer(module: str) -> bool:
    """The store and each feature's schema/repository modules: the only code that touches SQL."""
    return module == "gridmap.store" or module.rsplit(".", 1)[-1] in {"schema", "repository"}


# File formats that are SQLite databases of their own (not the store): their readers in
# gridmap/io may run SQL on that file with the stdlib sqlite3, read-only.
SQLITE_FILE_FORMATS = frozenset({"gridmap.io.mbtiles"})


def test_only_the_data_layer_imports_sqlalchemy_or_tables():
    table_names = {"metadata", "meta_table", "reference_tables"}
    bad = []
    for module in MODULES:
        if _is_data_layer(module):
            continue
        for line, target, name in _imports(module):
            own = _own(target)
            if target.split(".")[0] == "sqlalchemy":
                bad.append(f"{module}:{line} imports {target}")
            elif own and own.rsplit(".", 1)[-1] == "schema":
                bad.append(f"{module}:{line} imports {own}.{name or ''} (table objects)")
            elif own == "gridmap.store" and name in table_names:
                bad.append(f"{module}:{line} imports gridmap.store.{name}")
    assert not bad, "SQLAlchemy and table objects belong to store/schema/repository modules:\n" + "\n".join(
        bad
    )


def test_no_sql_runs_outside_the_data_layer():
    # Outside the data layer nobody opens the engine or executes statements: they call the
    # store's or a repository's functions, and writes go through Store.writing().
    bad = []
    for module, path in MODULES.items():
        if _is_data_layer(module) or module in SQLITE_FILE_FORMATS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"engine", "execute", "executemany"}:
                bad.append(f"{module}:{node.lineno} uses .{node.attr}")
    assert not bad, "SQL outside the data layer:\n" + "\n".join(bad)


def test_the_data_layer_rules_catch_a_stray_query(tmp_path, monkeypatch):
    # The rules above are only worth having if they fire: a module with a query must be reported.
    import pytest

    stray = tmp_path / "stray.py"
    stray.write_text(
        "from sqlalchemy import select\n\ndef f(store):\n    store.engine.connect()\n", encoding="utf-8"
    )
    monkeypatch.setitem(MODULES, "gridmap.stray_probe", stray)
    with pytest.raises(AssertionError, match=r"gridmap.stray_probe:1 imports sqlalchemy"):
        test_only_the_data_layer_imports_sqlalchemy_or_tables()
    with pytest.raises(AssertionError, match=r"gridmap.stray_probe:4 uses .engine"):
        test_no_sql_runs_outside_the_data_layer()


def test_no_module_over_600_lines():
    # Generated data tables would be exempt; gridmap has none today.
    long = {
        module: n
        for module, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not long, f"modules over 600 lines (split them along their jobs): {long}"


def test_a_feature_reads_another_features_tables_through_its_repository():
    # routing wanting open problems calls gridmap.problems.repository, it does not query the table.
    bad = [
        f"{module}:{line} imports {own}"
        for module in MODULES
        if _is_data_layer(module) and module != "gridmap.store"
        for line, target, _name in _imports(module)
        if (own := _own(target))
        and own.rsplit(".", 1)[-1] == "schema"
        and own.rsplit(".", 1)[0] != module.rsplit(".", 1)[0]
    ]
    assert not bad, "a repository may only use its own feature's schema:\n" + "\n".join(bad)
