"""Package layering (contract C7): nothing under fetchers/ or indicators/ imports the shell."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LOWER_PACKAGES = ("fetchers", "indicators")
SHELL = "flashpoint"


def shell_imports(source: str) -> list[str]:
    """The modules of the shell that `source` imports, anywhere (functions included)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.extend(name for name in names if name == SHELL or name.startswith(f"{SHELL}."))
    return found


def test_the_checker_finds_every_spelling_of_a_shell_import() -> None:
    source = (
        "import flashpoint\n"
        "import os, flashpoint.store as store\n"
        "from flashpoint.config import iso3_countries\n"
        "def late():\n"
        "    from flashpoint import __version__\n"
        "import flashpointer\n"  # another package whose name merely starts the same
        "from fetchers.errors import FetchError\n"
    )
    assert shell_imports(source) == [
        "flashpoint",
        "flashpoint.store",
        "flashpoint.config",
        "flashpoint",
    ]


@pytest.mark.parametrize("package", LOWER_PACKAGES)
def test_lower_packages_never_import_the_shell(package: str) -> None:
    modules = sorted((REPO_ROOT / package).rglob("*.py"))
    assert modules, f"no modules found under {package}/"
    offenders = {
        str(path.relative_to(REPO_ROOT)): imported
        for path in modules
        if (imported := shell_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, f"{package}/ must not import flashpoint (contract C7): {offenders}"
