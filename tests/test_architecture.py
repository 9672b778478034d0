"""The dependency rule of docs/architecture.md: the import-linter contracts in .importlinter pass, they name every
package, and no private name crosses a package."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "schemas", "models", "feature_repo", "streams", "training")


def test_the_import_contracts_pass():
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports; "
                               "raise SystemExit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_layers_name_every_package():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    roots = set(config["importlinter"]["root_packages"].split())
    layers = config["importlinter:contract:layers"]["layers"].split()
    assert roots == set(PACKAGES) == {name for name in layers if name != "|"}
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    # interests_cli, the command line, is the application on top of every package, not a layer
    assert packages - {"tests", "interests_cli"} == set(PACKAGES)


def cross_package_private_imports() -> list[str]:
    found = []
    files = [p for package in (*PACKAGES, "interests_cli") for p in (ROOT / package).rglob("*.py")]
    for path in files:
        own = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top = node.module.split(".")[0]
                if top not in PACKAGES or top == own:
                    continue
                names = node.module.split(".")[1:] + [alias.name for alias in node.names]
                found += [f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{name}" for name in names
                          if name.startswith("_")]
    return found


def test_no_private_name_crosses_a_package():
    assert cross_package_private_imports() == []


def test_the_feast_repository_folder_holds_only_the_definitions_and_the_store_config():
    repo = ROOT / "feature_repo" / "repo"
    tracked = subprocess.run(["git", "ls-files", str(repo)], cwd=ROOT, capture_output=True, text=True).stdout.split()
    names = {Path(p).relative_to("feature_repo/repo").as_posix() for p in tracked}
    assert names == {"__init__.py", "definitions.py", "feature_store.yaml", ".feastignore", "data/.gitkeep"}
    assert (repo / ".feastignore").read_text().split() == ["__init__.py"]  # `feast apply` reads the definitions only
