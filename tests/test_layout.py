"""The package layout in docs/ARCHITECTURE.md is the one the code has.

The table "Packages and what they may import" is read from the document itself,
so the drawing a newcomer reads and the rule this test enforces cannot drift
apart. Every ``import`` statement of every module is checked (including the
lazy ones inside functions, which run just as surely), against two columns:
the project packages a package may use, and the libraries it may use. Only the
composition root (``dualclass``) may reach every package, and only lazily.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"

#: Distribution names differ from import names for these libraries.
IMPORT_NAMES = {
    "python-ulid": "ulid",
    "pyjwt": "jwt",
    "prometheus-client": "prometheus_client",
    "pydantic-settings": "pydantic_settings",
    "paho-mqtt": "paho",
    "opencv": "cv2",
    "pillow": "PIL",
    "fastapi-offline": "fastapi_offline",
}


@dataclass(frozen=True)
class Rule:
    package: str
    packages: frozenset[str]
    libraries: frozenset[str]
    lazy_only: bool


def _names(cell: str) -> frozenset[str]:
    """`a`, `b` (notes) -> {"a", "b"}; a dash means none."""
    return frozenset(IMPORT_NAMES.get(n, n) for n in re.findall(r"`([A-Za-z0-9_.-]+)/?`", cell))


def rules() -> dict[str, Rule]:
    """The rows of the allowed-imports table, by package."""
    text = ARCHITECTURE.read_text()
    section = text.split("## Packages and what they may import", 1)[1].split("\n## ", 1)[0]
    out: dict[str, Rule] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        package = cells[0].strip("`/ ")
        out[package] = Rule(
            package=package,
            packages=_names(cells[2]),
            libraries=_names(cells[3]),
            lazy_only="lazily" in cells[2],
        )
    return out


RULES = rules()
PROJECT = frozenset(RULES)
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    name: str
    lazy: bool


def imports_of(package: str) -> list[Import]:
    """Every absolute import in the package's modules; relative ones stay inside it."""
    found: list[Import] = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        lazy_lines = {
            n.lineno
            for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            for n in ast.walk(fn)
            if isinstance(n, ast.Import | ast.ImportFrom)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.append(Import(path, node.lineno, name, node.lineno in lazy_lines))
        # importlib.import_module("x.y") with a literal counts as an import too
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append(Import(path, node.lineno, node.args[0].value, True))
    return found


def test_the_table_names_every_package() -> None:
    on_disk = {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "tests"
    }
    assert on_disk == set(RULES), "docs/ARCHITECTURE.md must have one row per package"
    # the table is read for real: a few rows we know
    assert RULES["protocols"].packages == frozenset()
    assert "hub" not in RULES["classroom_node"].packages
    assert "ortools" in RULES["matching"].libraries


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_imports_only_what_the_architecture_allows(package: str) -> None:
    rule = RULES[package]
    problems: list[str] = []
    for imp in imports_of(package):
        top = imp.name.split(".")[0]
        where = f"{imp.path.relative_to(ROOT)}:{imp.line} imports {imp.name}"
        if top == package or top in STDLIB:
            continue
        if top in PROJECT:
            if rule.lazy_only and not imp.lazy:
                problems.append(f"{where} at module level (only lazily, inside functions)")
            elif not rule.lazy_only and top not in rule.packages:
                problems.append(f"{where}: {package} may not use {top}")
        elif top not in rule.libraries:
            problems.append(f"{where}: library {top} is not in {package}'s row")
    assert not problems, "\n".join(problems)


def test_the_scan_sees_lazy_and_module_level_imports() -> None:
    """The checker would catch a node module importing the hub, at any depth."""
    found = imports_of("dualclass")
    assert any(i.name.startswith("hub") and i.lazy for i in found)
    assert all(i.lazy for i in found if i.name.split(".")[0] in PROJECT)
    node = imports_of("classroom_node")
    assert any(i.name.startswith("protocols") and not i.lazy for i in node)


TEXT_SUFFIXES = {".py", ".md", ".toml", ".service", ".conf", ".js", ".html", ".cfg", ".txt"}
SKIP_DIRS = {".venv", ".git", "var", "node_modules", "build", "dist", ".mypy_cache"}


def _text_files() -> list[Path]:
    return [
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and (p.suffix in TEXT_SUFFIXES or p.name == "Makefile")
        and not SKIP_DIRS & set(p.relative_to(ROOT).parts)
        and ".egg-info" not in str(p)
    ]


def test_no_reference_to_documents_outside_the_repository() -> None:
    """Docs and docstrings stand alone: every ``*.md`` they name is in the repository."""
    ours = {p.name for p in ROOT.rglob("*.md") if not SKIP_DIRS & set(p.parts)}
    ours |= {str(p.relative_to(ROOT)) for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    problems = []
    for path in _text_files():
        text = re.sub(r"https?://\S+", "", path.read_text(errors="replace"))  # links are fine
        for name in re.findall(r"[\w./-]*[A-Za-z0-9_-]\.md\b", text):
            clean = name.lstrip("./")
            if clean not in ours and Path(clean).name not in ours:
                problems.append(f"{path.relative_to(ROOT)} names {name}")
    assert not problems, "\n".join(problems)


def test_paths_named_in_the_docs_exist() -> None:
    """Every repository path a document names in backticks (``hub/server.py``) exists."""
    # runtime state (var/) is made by the programs, not part of the repository
    tops = {p.name for p in ROOT.iterdir() if p.is_dir()} - SKIP_DIRS
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    problems = []
    for doc in docs:
        for ref in re.findall(r"`([A-Za-z_][\w./-]*)`", doc.read_text()):
            first = ref.split("/")[0]
            if "/" not in ref or first not in tops or "{" in ref or "*" in ref:
                continue
            if not (ROOT / ref.rstrip("/")).exists():
                problems.append(f"{doc.relative_to(ROOT)} names {ref}")
    assert len(docs) > 3
    assert not problems, "\n".join(problems)
