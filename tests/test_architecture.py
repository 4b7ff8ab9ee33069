"""The architecture as a checked contract: the import contracts in pyproject.toml hold, no
module reaches for another's private names, and no module of the core passes 350 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from dsar.config import ROOT

PACKAGE = ROOT / "dsar"
CORE = ("services", "connectors", "documents")
MAX_LINES = 350
# A blueprint package's own view modules register routes on one blueprint and may import
# each other; everywhere else the imports go one way.
BLUEPRINTS = ("dsar.staff", "dsar.portal", "dsar.auditor", "dsar.api")


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def test_every_import_contract_in_pyproject_is_kept() -> None:
    """The same check as `make lint` and CI: `lint-imports` names any import that breaks one."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert len(contracts["contracts"]) >= 3
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_import_circle_outside_a_blueprints_own_view_modules() -> None:
    graph = grimp.build_graph("dsar")
    circles = []
    for name in sorted(graph.modules):
        if name.startswith(BLUEPRINTS):
            continue
        for imported in graph.find_modules_directly_imported_by(name):
            if imported.startswith(BLUEPRINTS) or imported == name:
                continue
            back = graph.find_shortest_chain(importer=imported, imported=name)
            if back and not any(m.startswith(BLUEPRINTS) for m in back):
                circles.append(" -> ".join([name, *back]))
    assert circles == []


@pytest.mark.parametrize(("name", "path"), modules(), ids=lambda v: str(v))
def test_no_module_imports_a_private_name_from_another(name: str, path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dsar")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == [], name


def test_the_core_modules_stay_under_350_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for folder in CORE
        for path in (PACKAGE / folder).glob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
