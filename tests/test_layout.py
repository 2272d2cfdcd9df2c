"""The layout ../shared/DESIGN.md names: no import cycles between our modules, no Streamlit below the pages, and
the playbooks with the incidents they drive. Imports are read from the source (type-checking imports included:
a cycle that only type checkers see still ties two modules together)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("collectors", "health", "packet", "checklists", "incidents", "store", "simulator", "demo", "ui", "mmdash")
TOP_MODULES = ("settings", "yaml_files", "app", "serve")
DOMAIN = ("collectors", "health", "packet", "checklists", "incidents", "store", "simulator", "demo")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _our_modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return {name: path for name, path in found.items() if path.exists()}


def _imports(path: Path, known: set[str]) -> set[str]:
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _our_modules()
    # A package's __init__ importing its own modules is how packages re-export; that is no cycle.
    return {name: {target for target in _imports(path, set(modules))
                   if target != name and not target.startswith(f"{name}.")}
            for name, path in modules.items()}


def test_no_module_imports_itself_back_through_others(graph):
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail("import cycle: " + " -> ".join(exc.args[1]))


def test_domain_packages_do_not_import_streamlit():
    offenders = [str(path.relative_to(ROOT)) for package in DOMAIN for path in (ROOT / package).rglob("*.py")
                 if any(line.startswith(("import streamlit", "from streamlit"))
                        for line in path.read_text(encoding="utf-8").splitlines())]
    assert offenders == []


def test_playbooks_belong_to_incidents_and_pages_live_in_pages(graph):
    assert (ROOT / "incidents" / "playbooks.py").exists() and list((ROOT / "incidents" / "playbooks").glob("*.yaml"))
    assert not (ROOT / "checklists" / "playbooks.py").exists()
    assert not any(target.startswith("checklists") for target in graph["incidents.playbooks"])
    assert sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    assert not (ROOT / "app_pages").exists()
