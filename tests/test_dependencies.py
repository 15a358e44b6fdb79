"""Dependency hygiene: every package src/govnlp imports is declared in pyproject.toml, module-level imports
of the core are core dependencies, and a missing optional package names the extra that installs it."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "govnlp"
#: import names whose distribution may not be installed here (the scale extra is installed only in CI)
NOT_INSTALLED = {"ray": "ray", "pymilvus": "pymilvus"}
#: units that are optional features, installed by an extra (their module-level imports may be extras)
OPTIONAL_UNITS = ("serve", "scale", "cli/serve.py")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(reqs: list[str]) -> set[str]:
        return {_norm(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in reqs}

    extras: set[str] = set()
    for reqs in project["optional-dependencies"].values():
        extras |= names(reqs)
    return names(project["dependencies"]), extras


def _imports() -> dict[str, list[tuple[str, bool]]]:
    """Third-party import name -> [(file, imported at module level)]."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body} | {
            id(sub) for n in tree.body if isinstance(n, (ast.If, ast.Try)) for sub in ast.walk(n)
        }
        guarded = {
            id(sub)
            for n in ast.walk(tree)
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
            for sub in ast.walk(n)
        }
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                name = mod.split(".")[0]
                if name in sys.stdlib_module_names or name in ("govnlp", "__future__"):
                    continue
                found.setdefault(name, []).append((str(path.relative_to(SRC)), id(node) in top))
    return found


def _distribution(import_name: str) -> str:
    dists = packages_distributions().get(import_name)
    if dists:
        return _norm(dists[0])
    if import_name in NOT_INSTALLED:
        return NOT_INSTALLED[import_name]
    pytest.fail(f"{import_name!r} is imported by src/govnlp but not installed here: declare and install it")


def test_every_imported_package_is_declared() -> None:
    core, extras = _declared()
    missing = {
        name: [f for f, _ in where]
        for name, where in _imports().items()
        if _distribution(name) not in core | extras
    }
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_module_level_imports_of_the_core_are_core_dependencies() -> None:
    core, _extras = _declared()
    wrong = {
        name: files
        for name, where in _imports().items()
        if (files := [f for f, top in where if top and not f.startswith(OPTIONAL_UNITS)])
        and _distribution(name) not in core
    }
    assert not wrong, f"imported at module level by core modules but only in an extra: {wrong}"


def test_matplotlib_is_an_extra_named_when_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from govnlp.classify.evaluate import evaluate_predictions
    from govnlp.errors import GovnlpError

    core, extras = _declared()
    assert "matplotlib" not in core and "matplotlib" in extras
    report = evaluate_predictions(["交通", "教育", "交通"], ["交通", "教育", "教育"])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(GovnlpError, match=r"govnlp\[plot\]"):
        report.plot_confusion(tmp_path / "cm.png")
