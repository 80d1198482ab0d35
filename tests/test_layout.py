"""The layout the README's Development section describes, kept true by the code.

Each folder is a room with one job, and imports point one way: a room imports only
from the rooms below it in :data:`ROOMS` and from the top-level modules, which
import no room. Functions fit on a screen, and the package root stays small.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Highest first, as in the README: each may import from those after it.
ROOMS = (
    "cli",
    "webui",
    "ops",
    "jobs",
    "spiders",
    "pipelines",
    "middlewares",
    "extensions",
    "skiptrace",
    "services",
    "store",
    "parsers",
)
MAX_TOP_LEVEL_MODULES = 10
MAX_FUNCTION_LINES = 60


def _sources():
    for base in ("ctforeclosure", "webui"):
        for path in sorted((ROOT / base).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _room(module: str) -> str | None:
    """Return the room a dotted module name lives in ("top" for the package root)."""
    parts = module.split(".")
    if parts[0] == "webui":
        return "webui"
    if parts[0] != "ctforeclosure":
        return None
    if len(parts) > 1 and (ROOT / "ctforeclosure" / parts[1]).is_dir():
        return parts[1] if parts[1] in ROOMS else "top"
    return "top"


def _imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_imports_point_down_the_rooms():
    wrong = []
    for path, tree in _sources():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        here = _room(module)
        for line, imported in _imported_modules(tree):
            there = _room(imported)
            if there in (None, here) or there == "top":
                continue
            if here == "top" or ROOMS.index(there) < ROOMS.index(here):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {here} -> {there}")
    assert not wrong, "imports against the README's layout:\n" + "\n".join(wrong)


def test_the_package_root_holds_at_most_ten_modules():
    modules = sorted(
        p.stem for p in (ROOT / "ctforeclosure").glob("*.py") if p.stem != "__init__"
    )
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_no_function_is_longer_than_a_screen():
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} "
        f"({node.end_lineno - node.lineno + 1} lines)"
        for path, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "\n".join(long)


def test_every_room_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rooms = {p.name for p in (ROOT / "ctforeclosure").iterdir() if p.is_dir()}
    rooms -= {"__pycache__", "data"}
    assert rooms <= set(ROOMS), sorted(rooms - set(ROOMS))
    missing = [room for room in ROOMS if f"{room}/`" not in readme]
    assert not missing, missing
