"""The layer contract in pyproject (``[tool.importlinter]``) holds: no module imports a layer above its own.

``lint-imports`` reads the contract and the package's imports (including imports inside functions) and fails on
an upward import or an indirect chain to one; the second test shows it does on a copy of the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(PROJECT / "pyproject.toml")], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def test_no_module_imports_a_layer_above_its_own() -> None:
    result = _lint(PROJECT / "plugins", PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "plugins" / "esign", tmp_path / "esign",
                    ignore=shutil.ignore_patterns("__pycache__", "locale", "templates", "static", "*.po", "*.mo"))
    store = tmp_path / "esign" / "store" / "__init__.py"
    store.write_text(store.read_text() + "\nfrom esign.pipeline import services  # the store reaching up\n")
    result = _lint(tmp_path, tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "esign.store -> esign.pipeline.services" in result.stdout
